/** Unrolled differentiation through MetaSGD / MetaAdam steps, against closed forms and finite differences. */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';

const f64 = { dtype: 'float64' as const };

class Vec extends mg.nn.Module {
  declare w: mg.Tensor;
  constructor(w0: mg.Tensor) {
    super();
    this.w = new mg.nn.Parameter(w0);
  }
  override forward(): mg.Tensor {
    return this.w;
  }
}

const t = mg.tensor([1, -2, 0.5], f64);
const innerLoss = (m: Vec) => m.w.sub(t).square().sum().mul(0.5);

/** Final parameters after `steps` unrolled steps, and d(½‖w_T‖²)/dw0. */
function unrolled(make: (m: Vec) => mg.MetaOptimizer, w0: mg.Tensor, steps: number): [mg.Tensor, mg.Tensor] {
  const m = new Vec(w0.clone());
  const p0 = m.w; // the initial Parameter (a leaf)
  const opt = make(m);
  for (let i = 0; i < steps; i++) opt.step(innerLoss(m));
  const [g] = mg.autograd.grad(m.w.square().sum().mul(0.5), p0);
  return [m.w, g as mg.Tensor];
}

describe('MetaSGD / MetaAdam (unrolled differentiation)', () => {
  const w0 = mg.tensor([0.3, 0.7, -1.1], f64);

  it('MetaSGD: two steps give w2 = (1−α)²w0 + (1−(1−α)²)t and dL/dw0 = (1−α)²·w2', () => {
    const a = 0.1;
    const [w2, g] = unrolled((m) => new mg.MetaSGD(m, { lr: a }), w0, 2);
    const c = (1 - a) ** 2;
    const expectW = Array.from(w0.data).map((v, i) => c * v + (1 - c) * t.data[i]);
    assertClose(w2, expectW, 1e-12);
    assertClose(g, expectW.map((v) => c * v), 1e-12);
    assert.ok(w2.gradFn, 'the new parameter is graph-connected');
  });

  it('MetaSGD with momentum and MetaAdam match finite differences of the unrolled map', () => {
    const makers: [string, (m: Vec) => mg.MetaOptimizer][] = [
      ['MetaSGD momentum', (m) => new mg.MetaSGD(m, { lr: 0.1, momentum: 0.9 })],
      ['MetaSGD nesterov', (m) => new mg.MetaSGD(m, { lr: 0.1, momentum: 0.9, nesterov: true })],
      ['MetaAdam', (m) => new mg.MetaAdam(m, { lr: 0.05 })],
    ];
    for (const [name, make] of makers) {
      const [, g] = unrolled(make, w0, 3);
      const fd = Array.from(w0.data).map((_, j) => {
        const eval_ = (d: number) => {
          const w = w0.clone();
          w.data[j] += d;
          const m = new Vec(w);
          const opt = make(m);
          for (let i = 0; i < 3; i++) opt.step(innerLoss(m));
          return m.w.square().sum().mul(0.5).item();
        };
        return (eval_(1e-6) - eval_(-1e-6)) / 2e-6;
      });
      assertClose(g, fd, 1e-7, 1e-6, name);
    }
  });

  it('rejects a non-module', () => {
    assert.throws(() => new mg.MetaSGD({} as mg.nn.Module, { lr: 0.1 }), /MetaSGD: argument 'module' must be an nn.Module/);
  });
});
