/**
 * var, std, vectorNorm / norm, cumsum, bmm, argmax / argmin against PyTorch (values, gradients and
 * second derivatives from test/fixtures/torch_ops.json, written by scripts/fixtures/torch_ops.py),
 * and against finite differences in float64.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradcheck, gradgradcheck } from './helpers/check';

interface Case { x: number[][]; shape: number[]; y: number[]; w: number[]; g: number[]; v: number[]; gg: (number | null)[] }
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_ops.json'), 'utf8')) as {
  cases: Record<string, Case>;
  bmm: { a: number[][][]; b: number[][][]; y: number[]; w: number[]; ga: number[]; gb: number[] };
  argmax: { all: number; dim0: number[]; dim1: number[] };
  argmin: { all: number; dim0: number[]; dim1: number[] };
};
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

const OPS: Record<string, (x: T) => T> = {
  var_dim1: (x) => mg.var(x, 1),
  var_all_c0: (x) => mg.var(x, undefined, { correction: 0 }),
  std_dim0_keep: (x) => mg.std(x, 0, { keepdim: true }),
  std_all_c2: (x) => x.std(undefined, { correction: 2 }),
  norm2_all: (x) => mg.vectorNorm(x),
  norm2_dim1_keep: (x) => mg.vectorNorm(x, 2, { dim: 1, keepdim: true }),
  norm1_all: (x) => mg.vectorNorm(x, 1),
  norm3_dim0: (x) => mg.vectorNorm(x, 3, { dim: 0 }),
  norminf_dim1: (x) => mg.vectorNorm(x, Infinity, { dim: 1 }),
  norminf_all: (x) => mg.vectorNorm(x, Infinity),
  norm2_zero_row: (x) => mg.vectorNorm(x, 2, { dim: 1 }),
  fro: (x) => x.norm(),
  cumsum_dim0: (x) => mg.cumsum(x, 0).square(),
  cumsum_dim1: (x) => x.cumsum(1).square(),
};

describe('reductions against PyTorch: value, gradient and grad of grad', () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => {
      const c = REF.cases[name];
      const x = mg.tensor(c.x, { ...f64, requiresGrad: true });
      const y = op(x);
      assert.deepEqual(y.shape, c.shape);
      assertClose(y, c.y, 1e-12, 1e-10);
      const [g] = mg.autograd.grad(y.mul(mg.tensor(c.w, f64).reshape(c.shape)).sum(), x, { createGraph: true }) as T[];
      assertClose(g, c.g, 1e-12, 1e-10, 'gradient');
      // A piecewise-linear op's gradient has no graph: its second derivative is 0.
      const gg = g.requiresGrad ? (mg.autograd.grad(g.mul(mg.tensor(c.v, f64).reshape(x.shape)).sum(), x, { allowUnused: true, materializeGrads: true }) as T[])[0] : mg.zerosLike(x);
      // PyTorch's second derivative of the 2-norm at 0 is NaN (null in the JSON); metagrad's is 0 there.
      const defined = c.gg.map((v, i) => [v, i] as const).filter(([v]) => v !== null);
      assertClose(defined.map(([, i]) => gg.data[i]), defined.map(([v]) => v as number), 1e-11, 1e-9, 'grad of grad');
      c.gg.forEach((v, i) => {
        if (v === null) assert.equal(gg.data[i], 0);
      });
    });
  }

  it('finite differences agree (first and second order) where the ops are smooth', () => {
    const x = mg.tensor(REF.cases.var_dim1.x, f64);
    for (const name of ['var_dim1', 'std_all_c2', 'norm2_dim1_keep', 'norm3_dim0', 'cumsum_dim1']) {
      gradcheck(OPS[name], [x], 1e-6, 1e-5);
      gradgradcheck(OPS[name], [x], 1e-5, 1e-4);
    }
  });

  it('the 2-norm has gradient 0 at 0 (not NaN), as PyTorch', () => {
    const x = mg.zeros([3], { ...f64, requiresGrad: true });
    const [g] = mg.autograd.grad(mg.vectorNorm(x), x) as T[];
    assertClose(g, [0, 0, 0]);
  });

  it('work under vmap (per member equals a loop)', () => {
    const xs = mg.randn([4, 3, 5], f64);
    for (const op of [OPS.var_dim1, OPS.norm2_dim1_keep, OPS.cumsum_dim0]) {
      assertClose(mg.func.vmap(op)(xs), mg.stack([0, 1, 2, 3].map((i) => op(xs.select(0, i)))), 1e-12);
    }
  });
});

describe('bmm and argmax / argmin against PyTorch', () => {
  it('bmm: product and both gradients; shape errors are named', () => {
    const a = mg.tensor(REF.bmm.a, { ...f64, requiresGrad: true });
    const b = mg.tensor(REF.bmm.b, { ...f64, requiresGrad: true });
    const y = mg.bmm(a, b);
    assertClose(y, REF.bmm.y, 1e-12);
    const [ga, gb] = mg.autograd.grad(y.mul(mg.tensor(REF.bmm.w, f64).reshape(y.shape)).sum(), [a, b]) as T[];
    assertClose(ga, REF.bmm.ga, 1e-12);
    assertClose(gb, REF.bmm.gb, 1e-12);
    assert.equal(y.gradFn?.name, 'BmmBackward0');
    assert.throws(() => mg.bmm(a, mg.ones([2, 3, 2], f64)), /bmm: expected \[b, n, m\] and \[b, m, p\], got shapes \[2, 3, 4\] and \[2, 3, 2\]/);
  });

  it('argmax / argmin over everything and along each dim', () => {
    const x = mg.tensor(REF.cases.var_dim1.x, f64);
    for (const [fn, ref] of [[mg.argmax, REF.argmax], [mg.argmin, REF.argmin]] as const) {
      assert.equal(fn(x).item(), ref.all);
      assert.deepEqual(fn(x, 0).tolist(), ref.dim0);
      assert.deepEqual(fn(x, 1).tolist(), ref.dim1);
      assert.deepEqual(fn(x, 1, true).shape, [3, 1]);
    }
    assert.equal(mg.argmax(x.requiresGrad_(true)).requiresGrad, false);
  });
});
