/**
 * TorchOpt's implicit-differentiation tutorial, functional and object-oriented, against the closed
 * form: the inner problem is quadratic, so the meta-gradient is H⁻¹ X̃ᵀ1/n with H = 2/n·X̃ᵀX̃ + I.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { metaGradient, tutorialSetup } from '../examples/imaml-functional';
import { metaGradientOO } from '../examples/imaml-module';
import { assertClose } from './helpers/check';
import { denseSolve } from './helpers/dense';

/** Closed-form meta-gradient in float64, by Gaussian elimination written here. */
function closedForm(seed = 0): number[] {
  const { x } = tutorialSetup(seed);
  const X = (x.tolist() as number[][]).map((r) => [...r, 1]); // X̃ = [X, 1]
  const n = X.length;
  const d = X[0].length;
  const H = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (2 / n) * X.reduce((s, r) => s + r[i] * r[j], 0) + (i === j ? 1 : 0)));
  const g = Array.from({ length: d }, (_, i) => X.reduce((s, r) => s + r[i], 0) / n);
  return denseSolve(H, g); // [dW (4 entries), db]
}

describe('TorchOpt tutorial: iMAML meta-gradient by implicit differentiation', () => {
  const expected = closedForm();

  it('functional customRoot with solveNormalCg({ maxiter: 5, atol: 0 }) equals the closed form', () => {
    const [gW, gb] = metaGradient(mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 }));
    assert.deepEqual(gW.shape, [1, 4]);
    assertClose([...gW.data, ...gb.data], expected, 1e-5, 1e-4);
  });

  it('functional customRoot with the Neumann series solveInv({ ns: true, maxiter: 100, alpha: 0.1 }) equals the closed form', () => {
    const [gW, gb] = metaGradient(mg.linearSolve.solveInv({ ns: true, maxiter: 100, alpha: 0.1 }));
    assertClose([...gW.data, ...gb.data], expected, 1e-4, 1e-3);
  });

  it('ImplicitMetaGradientModule (OOP) gives the same meta-gradient as the functional version', () => {
    const oo = metaGradientOO();
    const fn = metaGradient(mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 }));
    assertClose([...oo[0].data, ...oo[1].data], [...fn[0].data, ...fn[1].data], 1e-6, 1e-5);
    assertClose([...oo[0].data, ...oo[1].data], expected, 1e-5, 1e-4);
  });
});
