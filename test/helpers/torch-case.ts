/**
 * A case recorded by scripts/fixtures/torch_common.py `derivatives`: inputs, output, the gradients
 * of ⟨w, y⟩ and the second derivative of Σ⟨v_i, g_i⟩, compared with metagrad's.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../../ts/index';
import { assertClose } from './check';

/** One recorded case. */
export interface TorchCase { inputs: number[][]; shapes: number[][]; y: number[]; yShape: number[]; w: number[]; grads: number[][]; vs: number[][]; ggs: number[][] }

/** Checks `op` against the case: value, gradients and second derivatives (float64). */
export function checkTorchCase(op: (...xs: mg.Tensor[]) => mg.Tensor, c: TorchCase, tol = { value: 1e-12, second: 1e-11 }): void {
  const f64 = { dtype: 'float64' as const };
  const xs = c.inputs.map((v, i) => mg.tensor(v, { ...f64, requiresGrad: true }).reshape(c.shapes[i]));
  const y = op(...xs);
  assert.deepEqual(y.shape, c.yShape);
  assertClose(y, c.y, tol.value, 1e-10, 'value');
  const grads = mg.autograd.grad(y.mul(mg.tensor(c.w, f64).reshape(c.yShape)).sum(), xs, { createGraph: true }) as mg.Tensor[];
  grads.forEach((g, i) => assertClose(g, c.grads[i], tol.value, 1e-10, `gradient ${i}`));
  let s = grads[0].mul(mg.tensor(c.vs[0], f64).reshape(c.shapes[0])).sum();
  for (let i = 1; i < grads.length; i++) s = s.add(grads[i].mul(mg.tensor(c.vs[i], f64).reshape(c.shapes[i])).sum());
  // A piecewise-linear op's gradient has no graph: its second derivative is 0.
  const ggs = s.requiresGrad ? (mg.autograd.grad(s, xs, { allowUnused: true, materializeGrads: true }) as mg.Tensor[]) : xs.map((x) => mg.zerosLike(x));
  ggs.forEach((g, i) => assertClose(g, c.ggs[i], tol.second, 1e-9, `grad of grad ${i}`));
}
