/**
 * gather, scatterAdd and topk against PyTorch (values, gradients, second derivatives;
 * test/fixtures/torch_gather.json from scripts/fixtures/torch_gather.py) and finite differences.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradgradcheck } from './helpers/check';

/** A smooth scalar of the op: its value, gradient and ∂⟨c, g⟩ with c_k = k + 1.5. */
interface Case { values: number[]; y: number; g: number[][]; gg: number[][] }
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_gather.json'), 'utf8')) as {
  x: number[][]; src: number[][]; i1: number[][]; i0: number[][]; is: number[][];
  gather1: Case; gather0: Case; scatterAdd: Case; topk: Case & { indices: number[]; values0: number[]; indices0: number[] };
};
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

function checkSecond(fn: (...xs: T[]) => T, inputs: number[][][], ref: Case): void {
  const xs = inputs.map((v) => mg.tensor(v, { ...f64, requiresGrad: true }));
  const y = fn(...xs);
  assertClose(y, ref.y, 1e-12, 1e-10);
  const g = mg.autograd.grad(y, xs, { createGraph: true }) as T[];
  g.forEach((gi, i) => assertClose(gi, ref.g[i], 1e-12, 1e-10, `gradient ${i}`));
  let s: T = g[0].mul(1.5).sum();
  for (let k = 1; k < g.length; k++) s = s.add(g[k].mul(k + 1.5).sum());
  const gg = s.requiresGrad ? (mg.autograd.grad(s, xs, { allowUnused: true, materializeGrads: true }) as T[]) : xs.map((x) => mg.zerosLike(x));
  gg.forEach((gi, i) => assertClose(gi, ref.gg[i], 1e-12, 1e-10, `grad of grad ${i}`));
}

describe('gather, scatterAdd, topk against PyTorch', () => {
  const x = () => mg.tensor(REF.x, f64);

  it('gather along dims 1 and 0: values, gradient, grad of grad', () => {
    assertClose(mg.gather(x(), 1, REF.i1), REF.gather1.values, 0);
    assertClose(mg.gather(x(), 0, mg.tensor(REF.i0)), REF.gather0.values, 0);
    checkSecond((a) => mg.gather(a, 1, REF.i1).pow(3).sum(), [REF.x], REF.gather1);
    checkSecond((a) => mg.gather(a, 0, REF.i0).sin().sum(), [REF.x], REF.gather0);
  });

  it('scatterAdd: values and derivatives in both the input and the source', () => {
    assertClose(mg.scatterAdd(mg.zeros([3, 5], f64), 1, REF.is, mg.tensor(REF.src, f64)), REF.scatterAdd.values, 1e-15);
    checkSecond((a, s) => mg.scatterAdd(a, 1, REF.is, s).square().sum(), [REF.x, REF.src], REF.scatterAdd);
  });

  it('topk: values and indices (largest and smallest, dims 1 and 0), and the values’ derivatives', () => {
    const r = mg.topk(x(), 3, 1);
    assertClose(r.values, REF.topk.values, 0);
    assert.deepEqual(Array.from(r.indices.data), REF.topk.indices);
    const s = mg.topk(x(), 2, 0, { largest: false });
    assertClose(s.values, REF.topk.values0, 0);
    assert.deepEqual(Array.from(s.indices.data), REF.topk.indices0);
    checkSecond((a) => mg.topk(a, 3, 1).values.square().sum(), [REF.x], REF.topk);
  });

  it('finite differences to second order; a src larger than the index uses its leading block', () => {
    gradgradcheck((a: T) => mg.gather(a, 1, REF.i1).tanh(), [x()], 1e-6, 1e-4);
    gradgradcheck((a: T, s: T) => mg.scatterAdd(a, 1, REF.is, s).tanh(), [x(), mg.tensor(REF.src, f64)], 1e-6, 1e-4);
    const big = mg.randn([4, 6], f64);
    const block = big.narrow(0, 0, 3).narrow(1, 0, 3);
    assertClose(mg.scatterAdd(x(), 1, REF.is, big), mg.scatterAdd(x(), 1, REF.is, block), 0);
    gradgradcheck((s: T) => mg.scatterAdd(x(), 1, REF.is, s).tanh(), [big], 1e-6, 1e-4);
  });

  it('bad indices are named', () => {
    assert.throws(() => mg.gather(x(), 1, [[0, 5]]), /gather: index 5 at flat position 1 is out of range for a dimension of size 5/);
    assert.throws(() => mg.gather(x(), 1, [0, 1]), /gather: index of shape \[2\] must have the input's rank \(2\)/);
    assert.throws(() => mg.topk(x(), 6, 1), /topk: argument 'k' must be an integer in \[0, 5\]/);
  });
});

describe('gather, scatterAdd and topk under vmap', () => {
  const gen = new mg.Generator().manualSeed(21);
  const rn = (...shape: number[]): T => mg.randn(shape, { ...f64, generator: gen });
  // Per-member indices: members pick different columns.
  const idx = mg.tensor([[[0, 4], [2, 2], [1, 3]], [[3, 3], [0, 1], [4, 0]], [[2, 1], [1, 1], [0, 4]]], f64);
  const stack = (xs: T[]): T => mg.stack(xs, 0);

  it('gather with per-member inputs and indices equals a loop over the members, gradients included (vmap(grad))', () => {
    const x = rn(3, 3, 5);
    const f = (xi: T, ii: T): T => mg.gather(xi, 1, ii).tanh().mul(mg.gather(xi, 1, ii)).sum();
    const got = mg.func.vmap(f)(x, idx);
    const want = stack([0, 1, 2].map((m) => f(mg.select(x, 0, m), mg.select(idx, 0, m))));
    assertClose(got, want, 1e-14, 1e-14);
    const g = mg.func.vmap(mg.func.grad(f))(x, idx);
    const gw = stack([0, 1, 2].map((m) => mg.func.grad(f)(mg.select(x, 0, m), mg.select(idx, 0, m))));
    assertClose(g, gw, 1e-14, 1e-14);
    // An unbatched input with batched indices, and the reverse.
    const x0 = rn(3, 5);
    assertClose(mg.func.vmap((ii: T) => mg.gather(x0, 1, ii), { inDims: 0 })(idx), stack([0, 1, 2].map((m) => mg.gather(x0, 1, mg.select(idx, 0, m)))), 0, 0);
    const i0 = [[1, 0], [4, 4], [2, 3]];
    assertClose(mg.func.vmap((xi: T) => mg.gather(xi, 1, i0))(x), stack([0, 1, 2].map((m) => mg.gather(mg.select(x, 0, m), 1, i0))), 0, 0);
  });

  it('scatterAdd with per-member indices and sources equals a loop, and so do its gradients in input and source', () => {
    const [x, src] = [rn(3, 3, 5), rn(3, 3, 2)];
    const f = (xi: T, ii: T, si: T): T => mg.scatterAdd(xi, 1, ii, si).square().sum();
    assertClose(mg.func.vmap(f)(x, idx, src), stack([0, 1, 2].map((m) => f(mg.select(x, 0, m), mg.select(idx, 0, m), mg.select(src, 0, m)))), 1e-14, 1e-14);
    const g = mg.func.vmap(mg.func.grad(f, { argnums: [0, 2] }))(x, idx, src) as T[];
    const loop = [0, 1, 2].map((m) => mg.func.grad(f, { argnums: [0, 2] })(mg.select(x, 0, m), mg.select(idx, 0, m), mg.select(src, 0, m)) as T[]);
    assertClose(g[0], stack(loop.map((l) => l[0])), 1e-14, 1e-14);
    assertClose(g[1], stack(loop.map((l) => l[1])), 1e-14, 1e-14);
  });

  it('topk per member equals a loop (values and indices)', () => {
    const x = rn(4, 3, 6);
    const r = mg.func.vmap((xi: T) => { const t = mg.topk(xi, 2, 1); return [t.values, t.indices]; })(x) as T[];
    const loop = [0, 1, 2, 3].map((m) => mg.topk(mg.select(x, 0, m), 2, 1));
    assertClose(r[0], stack(loop.map((l) => l.values)), 0, 0);
    assertClose(r[1], stack(loop.map((l) => l.indices)), 0, 0);
  });
});
