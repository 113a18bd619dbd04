/**
 * func.vmap: every op's batching rule against the unbatched op applied member by member in a
 * loop, values and gradients (first and second order) of the vmapped function against the
 * loop's; nested vmap, in/out dims, randomness, composition with the transforms, and refusals.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';
import { metaGradient as metaBatchGradient } from '../examples/imaml-batch';

type F = (...xs: mg.Tensor[]) => mg.Tensor | mg.Tensor[];
type Dim = number | null;

const B = 3;

/** Member i of x along dim d (x itself when d is null). */
const member = (x: mg.Tensor, d: Dim, i: number): mg.Tensor => (d === null ? x : mg.select(x, d, i));

/** The loop the vmap must equal: f on each member, results stacked along 0. */
function loop(f: F, args: mg.Tensor[], dims: Dim[]): mg.Tensor[] {
  const size = args.find((_, j) => dims[j] !== null)!.shape[dims.find((d) => d !== null) as number];
  const rows: mg.Tensor[][] = [];
  for (let i = 0; i < size; i++) {
    const r = f(...args.map((x, j) => member(x, dims[j], i)));
    rows.push(Array.isArray(r) ? r : [r]);
  }
  return rows[0].map((_, k) => mg.stack(rows.map((r) => r[k]), 0));
}

const asList = (r: mg.Tensor | mg.Tensor[]): mg.Tensor[] => (Array.isArray(r) ? r : [r]);

/** A scalar made of every output with fixed weights, so its gradient checks every entry. */
function weigh(outs: mg.Tensor[]): mg.Tensor {
  let s = mg.tensor(0, { dtype: 'float64' });
  outs.forEach((o, k) => {
    mg.manualSeed(100 + k);
    const w = mg.randn(o.shape, { dtype: 'float64' });
    s = s.add(mg.to(o, 'float64').mul(w).sum());
  });
  return s;
}

/**
 * vmap(f) equals the loop in value, in gradient with respect to every differentiable input,
 * and (with `order2`) in the gradient of a weighted gradient (second derivatives).
 */
function check(name: string, f: F, args: mg.Tensor[], dims: Dim[], opts: { grad?: boolean; order2?: boolean; atol?: number } = {}): void {
  const atol = opts.atol ?? 1e-10;
  const v = asList(mg.func.vmap(f, { inDims: dims })(...args));
  const l = loop(f, args, dims);
  assert.equal(v.length, l.length, `${name}: outputs`);
  v.forEach((o, k) => {
    assert.deepEqual(o.shape, l[k].shape, `${name}: output ${k} shape`);
    assertClose(o, l[k], atol, 1e-9, `${name}: output ${k}`);
  });
  if (opts.grad === false) return;
  const xs = args.map((a) => a.detach().clone().requiresGrad_(true));
  const sv = weigh(asList(mg.func.vmap(f, { inDims: dims })(...xs)));
  const sl = weigh(loop(f, xs, dims));
  // A constant op (comparisons, sign) is constant batched too.
  assert.equal(sv.requiresGrad, sl.requiresGrad, `${name}: recorded`);
  if (!sl.requiresGrad) return;
  const gv = mg.autograd.grad(sv, xs, { createGraph: true, allowUnused: true, materializeGrads: true });
  const gl = mg.autograd.grad(sl, xs, { createGraph: true, allowUnused: true, materializeGrads: true });
  gv.forEach((g, j) => assertClose(g, gl[j], atol, 1e-9, `${name}: gradient ${j}`));
  if (!opts.order2) return;
  const hvs = weigh(gv.filter((g) => g.requiresGrad));
  const hls = weigh(gl.filter((g) => g.requiresGrad));
  assert.equal(hvs.requiresGrad, hls.requiresGrad, `${name}: gradient recorded`);
  if (!hls.requiresGrad) return;
  const hv = mg.autograd.grad(hvs, xs, { allowUnused: true, materializeGrads: true });
  const hl = mg.autograd.grad(hls, xs, { allowUnused: true, materializeGrads: true });
  hv.forEach((h, j) => assertClose(h, hl[j], atol, 1e-9, `${name}: second derivative ${j}`));
}

function data(shape: number[], seed: number, lo?: number): mg.Tensor {
  mg.manualSeed(seed);
  const x = mg.randn(shape, { dtype: 'float64' });
  return lo === undefined ? x : x.abs().add(lo);
}

describe('func.vmap: each op against a loop over the members (values, gradients, second derivatives)', () => {
  const X = data([B, 4, 2], 1);
  const P = data([B, 4, 2], 2, 0.5); // positive
  const unary: [string, F, mg.Tensor][] = [
    ['neg', (a) => mg.neg(a), X], ['exp', (a) => mg.exp(a), X], ['log', (a) => mg.log(a), P], ['log1p', (a) => mg.log1p(a), P],
    ['expm1', (a) => mg.expm1(a), X], ['sqrt', (a) => mg.sqrt(a), P], ['abs', (a) => mg.abs(a), X], ['sign', (a) => mg.sign(a), X],
    ['square', (a) => mg.square(a), X], ['reciprocal', (a) => mg.reciprocal(a), P], ['sin', (a) => mg.sin(a), X], ['cos', (a) => mg.cos(a), X],
    ['tanh', (a) => mg.tanh(a), X], ['sigmoid', (a) => mg.sigmoid(a), X], ['relu', (a) => mg.relu(a), X], ['softplus', (a) => mg.softplus(a), X],
    ['clamp', (a) => mg.clamp(a, -0.3, 0.4), X],
  ];
  for (const [name, f, x] of unary) {
    it(`${name}`, () => {
      check(name, f, [x], [0], { order2: true });
      check(`${name} (inDims 1)`, f, [mg.clone(mg.transpose(x, 0, 1))], [1], { order2: true });
    });
  }

  const Y = data([B, 4, 2], 3);
  const row = data([2], 4);
  const col = data([B, 4, 1], 5);
  const binary: [string, (a: mg.Tensor, b: mg.Tensor) => mg.Tensor][] = [
    ['add', (a, b) => mg.add(a, b)], ['add alpha', (a, b) => mg.add(a, b, 0.7)], ['sub', (a, b) => mg.sub(a, b)], ['mul', (a, b) => mg.mul(a, b)],
    ['div', (a, b) => mg.div(a, mg.add(mg.abs(b), 0.5))], ['pow', (a, b) => mg.pow(mg.add(mg.abs(a), 0.5), b)],
    ['maximum', (a, b) => mg.maximum(a, b)], ['minimum', (a, b) => mg.minimum(a, b)],
    ['gt', (a, b) => mg.gt(a, b)], ['lt', (a, b) => mg.lt(a, b)], ['ge', (a, b) => mg.ge(a, b)], ['le', (a, b) => mg.le(a, b)], ['eq', (a, b) => mg.mul(mg.eq(mg.sign(a), mg.sign(b)), a)],
    ['where', (a, b) => mg.where(mg.gt(a, 0), a, b)],
  ];
  for (const [name, f] of binary) {
    it(`${name}: both batched, one shared, broadcast against a lower rank, and a number`, () => {
      check(name, f, [X, Y], [0, 0], { order2: true });
      check(`${name} (second shared)`, f, [X, Y.select(0, 1)], [0, null], { order2: true });
      check(`${name} (first shared)`, f, [X.select(0, 2), Y], [null, 0], { order2: true });
      check(`${name} (row)`, f, [X, row], [0, null], { order2: true });
      check(`${name} (row batched, other shared of higher rank)`, f, [X.select(0, 0), data([B, 2], 6)], [null, 0], { order2: true });
      check(`${name} (column)`, f, [X, col], [0, 0], { order2: true });
      check(`${name} (batched along dim 1 and 2)`, f, [mg.clone(mg.permute(X, [1, 0, 2])), mg.clone(mg.permute(Y, [1, 2, 0]))], [1, 2], { order2: true });
    });
  }
  it('number operands', () => {
    check('x + 2', (a) => mg.add(a, 2), [X], [0], { order2: true });
    check('2 - x', (a) => mg.sub(2, a), [X], [0], { order2: true });
    check('3 / x', (a) => mg.div(3, a), [P], [0], { order2: true });
    check('x ** 3', (a) => mg.pow(a, 3), [X], [0], { order2: true });
    check('2 ** x', (a) => mg.pow(2, a), [X], [0], { order2: true });
    check('where with numbers', (a) => mg.where(mg.gt(a, 0), a, 0), [X], [0], { order2: true });
    check('batched condition', (c, a) => mg.where(mg.gt(c, 0), a, mg.neg(a)), [Y, X.select(0, 0)], [0, null], { order2: true });
  });

  const reductions: [string, F][] = [
    ['sum', (a) => mg.sum(a)], ['sum dim', (a) => mg.sum(a, 1)], ['sum dims keepdim', (a) => mg.sum(a, [0, 1], true)], ['sum dim -1', (a) => mg.sum(a, -1)],
    ['mean', (a) => mg.mean(a)], ['mean dim keepdim', (a) => mg.mean(a, 0, true)],
    ['max', (a) => mg.max(a)], ['min', (a) => mg.min(a)],
    ['max dim', (a) => { const r = mg.max(a, 1); return [r.values, r.indices]; }],
    ['min dim keepdim', (a) => { const r = mg.min(a, 0, true); return [r.values, r.indices]; }],
    ['logsumexp', (a) => mg.logsumexp(a, 1)], ['logsumexp keepdim', (a) => mg.logsumexp(a, [0, 1], true)],
  ];
  for (const [name, f] of reductions) it(name, () => check(name, f, [X], [0], { order2: true }));
  it('max over everything shares the gradient among ties per member, as the op does', () => {
    const t = mg.tensor([[[1, 3], [3, 0]], [[2, 2], [2, 2]], [[5, 1], [0, 5]]], { dtype: 'float64' });
    check('max ties', (a) => mg.max(a), [t], [0], {});
  });

  const shapeOps: [string, F][] = [
    ['reshape', (a) => mg.reshape(a, [2, 4])], ['reshape -1', (a) => mg.reshape(a, [-1])], ['view', (a) => mg.view(a, 8, 1)],
    ['flatten', (a) => mg.flatten(a)], ['permute', (a) => mg.permute(a, [1, 0])], ['transpose', (a) => mg.transpose(a, 0, 1)], ['t', (a) => mg.t(a)],
    ['unsqueeze', (a) => mg.unsqueeze(a, 1)], ['unsqueeze -1', (a) => mg.unsqueeze(a, -1)], ['squeeze', (a) => mg.squeeze(mg.unsqueeze(a, 0))],
    ['squeeze dim', (a) => mg.squeeze(mg.unsqueeze(a, 2), 2)], ['expand', (a) => mg.expand(mg.unsqueeze(a, 0), [3, 4, 2])],
    ['narrow', (a) => mg.narrow(a, 0, 1, 2)], ['slice', (a) => mg.slice(a, 0, 4, 2)], ['select', (a) => mg.select(a, 1, 1)], ['index', (a) => mg.index(a, 2)],
    ['indexSelect', (a) => mg.indexSelect(a, 0, [3, 0, 0])], ['stack', (a) => mg.stack([a, mg.mul(a, 2)], 1)], ['cat', (a) => mg.cat([a, mg.exp(a)], 0)],
    ['softmax', (a) => mg.softmax(a, 0)], ['logSoftmax', (a) => mg.logSoftmax(a, -1)], ['to float32 and back', (a) => mg.to(mg.to(a, 'float32'), 'float64')],
    ['clone', (a) => mg.clone(a)], ['detach', (a) => mg.mul(mg.detach(a), a)], ['zerosLike + onesLike', (a) => mg.add(mg.zerosLike(a), mg.mul(mg.onesLike(a), a))],
  ];
  for (const [name, f] of shapeOps) it(name, () => check(name, f, [X], [0], { order2: true, atol: name.includes('float32') ? 1e-6 : 1e-10 }));
  it('indexSelect with per-member indices (the members gather their own rows), shared or batched input', () => {
    const d64 = { dtype: 'float64' } as const;
    const idx = mg.tensor([[0, 3], [2, 2], [1, 0]], d64);
    check('indexSelect batched indices', (a, i) => mg.indexSelect(a, 0, i), [X, idx], [0, 0], { order2: true });
    check('indexSelect batched indices, shared input', (a, i) => mg.indexSelect(a, 1, i), [X.select(0, 0), mg.tensor([[1], [0], [1]], d64)], [null, 0], { order2: true });
  });
  it('cat and stack with a shared operand', () => {
    check('cat shared', (a, b) => mg.cat([a, b], 1), [X, data([4, 3], 7)], [0, null], { order2: true });
    check('stack shared', (a, b) => mg.stack([b, a], 0), [X, data([4, 2], 8)], [0, null], { order2: true });
  });

  const M = data([B, 4, 3], 9);
  const N = data([B, 3, 5], 10);
  const v3 = data([B, 3], 11);
  const v4 = data([B, 4], 12);
  const products: [string, F, mg.Tensor[], Dim[]][] = [
    ['matrix @ matrix', (a, b) => mg.matmul(a, b), [M, N], [0, 0]],
    ['batched @ shared', (a, b) => mg.matmul(a, b), [M, N.select(0, 0)], [0, null]],
    ['shared @ batched', (a, b) => mg.matmul(a, b), [M.select(0, 1), N], [null, 0]],
    ['vector @ matrix', (a, b) => mg.matmul(a, b), [v4, M], [0, 0]],
    ['matrix @ vector', (a, b) => mg.matmul(a, b), [M, v3], [0, 0]],
    ['vector @ vector', (a, b) => mg.matmul(a, b), [v3, v3.mul(2)], [0, 0]],
    ['shared vector @ batched matrix', (a, b) => mg.matmul(a, b), [v4.select(0, 0), M], [null, 0]],
    ['batched 3-d @ shared 2-d', (a, b) => mg.matmul(a, b), [data([B, 2, 4, 3], 13), N.select(0, 0)], [0, null]],
  ];
  for (const [name, f, args, dims] of products) it(`matmul: ${name}`, () => check(name, f, args, dims, { order2: true }));

  it('nn layers and losses', () => {
    const W = data([3, 2], 15);
    const b = data([3], 16);
    check('linear', (a) => mg.nn.functional.linear(a, W, b), [X], [0], { order2: true });
    check('mseLoss', (a, t) => mg.nn.functional.mseLoss(a, t), [X, Y], [0, 0], { order2: true });
    check('mseLoss shared target', (a, t) => mg.nn.functional.mseLoss(a, t), [X, Y.select(0, 0)], [0, null], { order2: true });
  });
});

describe('func.vmap: dims, nesting and trees', () => {
  const X = data([B, 4], 20);
  it('inDims and outDims place the batch dimension', () => {
    const x = data([4, B], 21);
    const out = mg.func.vmap((a: mg.Tensor) => mg.mul(a, 2), { inDims: 1, outDims: 1 })(x);
    assert.deepEqual(out.shape, [4, B]);
    assertClose(out, mg.mul(x, 2));
    const o2 = mg.func.vmap((a: mg.Tensor) => mg.unsqueeze(a, 0), { outDims: -1 })(X);
    assert.deepEqual(o2.shape, [1, 4, B]);
    assertClose(o2, mg.unsqueeze(mg.t(X), 0));
  });
  it('an output that does not depend on the batched inputs is repeated per member', () => {
    const c = data([2], 22);
    const out = mg.func.vmap((_a: mg.Tensor) => c)(X);
    assert.deepEqual(out.shape, [B, 2]);
    for (let i = 0; i < B; i++) assertClose(out.select(0, i), c);
  });
  it('trees of inputs and outputs, with per-leaf dims', () => {
    const a = data([B, 2], 23);
    const b = data([2, B], 24);
    const c = data([2], 25);
    const f = (p: { a: mg.Tensor; b: mg.Tensor }, q: mg.Tensor[]): { s: mg.Tensor; t: mg.Tensor[] } => ({ s: mg.add(p.a, p.b), t: [mg.mul(q[0], p.a)] });
    const out = mg.func.vmap(f, { inDims: [{ a: 0, b: 1 }, [null]], outDims: { s: 0, t: [1] } })({ a, b }, [c]);
    assert.deepEqual(out.s.shape, [B, 2]);
    assert.deepEqual(out.t[0].shape, [2, B]);
    for (let i = 0; i < B; i++) {
      assertClose(out.s.select(0, i), mg.add(a.select(0, i), b.select(1, i)));
      assertClose(out.t[0].select(1, i), mg.mul(c, a.select(0, i)));
    }
  });
  it('nested vmap maps over two dimensions (an outer product of members)', () => {
    const x = data([3, 4], 26);
    const y = data([5, 4], 27);
    const dot = (a: mg.Tensor, b: mg.Tensor): mg.Tensor => mg.sum(mg.mul(a, b));
    const out = mg.func.vmap((a: mg.Tensor) => mg.func.vmap((b: mg.Tensor) => dot(a, b))(y))(x);
    assert.deepEqual(out.shape, [3, 5]);
    assertClose(out, mg.matmul(x, mg.t(y)), 1e-12);
    // Both levels batch the same argument: vmap over rows of a [3, 5, 4] tensor, then over its rows.
    const z = data([3, 5, 4], 28);
    const inner = mg.func.vmap(mg.func.vmap((a: mg.Tensor) => mg.sum(mg.square(a))))(z);
    assertClose(inner, mg.sum(mg.square(z), 2), 1e-12);
    // And the gradient of the nested map, against its closed form.
    const zr = z.detach().clone().requiresGrad_(true);
    const [g] = mg.autograd.grad(mg.sum(mg.func.vmap(mg.func.vmap((a: mg.Tensor) => mg.sum(mg.square(a))))(zr)), [zr]);
    assertClose(g, mg.mul(z, 2), 1e-12);
  });
  it('in-place writes on batched tensors, and a shared tensor written from a batched one is refused', () => {
    const x = data([B, 4], 29);
    const out = mg.func.vmap((a: mg.Tensor) => {
      const c = mg.clone(a);
      mg.noGrad(() => {
        c.mul_(2).add_(a, 0.5).sub_(1).div_(4);
        c.add_(mg.sum(a));
      });
      return c;
    })(x);
    const want = mg.add(mg.div(mg.sub(mg.add(mg.mul(x, 2), mg.mul(x, 0.5)), 1), 4), mg.sum(x, 1, true));
    assertClose(out, want, 1e-12);
    const shared = mg.zeros([4], { dtype: 'float64' });
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => shared.add_(a)))(x), /add_: an in-place write into a tensor that vmap does not batch/);
    const filled = mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => mg.clone(a).fill_(3)))(x);
    assertClose(filled, mg.full([B, 4], 3, { dtype: 'float64' }));
    const copied = mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => mg.zerosLike(a).copy_(mg.exp(a))))(x);
    assertClose(copied, mg.exp(x));
  });
});

describe('func.vmap: randomness', () => {
  const x = mg.zeros([4, 3]);
  it("'error' (the default) refuses random draws, naming the op", () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.add(a, mg.randn([3])))(x), /randn: a random draw inside vmap needs vmap's option randomness/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => mg.clone(a).normal_()))(x), /normal_: a random draw inside vmap/);
  });
  it("'different' gives each member its own draw; 'same' one draw for all", () => {
    const d = mg.func.vmap((a: mg.Tensor) => mg.add(a, mg.randn([3])), { randomness: 'different' })(x);
    assert.notDeepEqual(d.select(0, 0).tolist(), d.select(0, 1).tolist());
    mg.manualSeed(5);
    const s = mg.func.vmap((a: mg.Tensor) => mg.add(a, mg.rand([3])), { randomness: 'same' })(x);
    mg.manualSeed(5);
    const once = mg.rand([3]);
    for (let i = 0; i < 4; i++) assertClose(s.select(0, i), once);
    const u = mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => mg.clone(a).uniform_()), { randomness: 'different' })(x);
    assert.notDeepEqual(u.select(0, 0).tolist(), u.select(0, 3).tolist());
    const us = mg.func.vmap((a: mg.Tensor) => mg.noGrad(() => mg.clone(a).uniform_()), { randomness: 'same' })(x);
    for (let i = 1; i < 4; i++) assertClose(us.select(0, i), us.select(0, 0));
  });
});

describe('func.vmap: composition with the transforms', () => {
  mg.manualSeed(30);
  const W1 = mg.randn([5, 3], { dtype: 'float64' });
  const w2 = mg.randn([5], { dtype: 'float64' });
  const xs = mg.randn([6, 3], { dtype: 'float64' });
  const ys = mg.randn([6], { dtype: 'float64' });
  const loss = (W: mg.Tensor, w: mg.Tensor, x: mg.Tensor, y: mg.Tensor): mg.Tensor => mg.square(mg.sub(mg.sum(mg.mul(mg.tanh(mg.matmul(W, x)), w)), y));

  it('vmap(grad): per-example gradients of shared parameters equal a loop', () => {
    const per = mg.func.vmap(mg.func.grad(loss, { argnums: [0, 1] }), { inDims: [null, null, 0, 0] })(W1, w2, xs, ys) as mg.Tensor[];
    assert.deepEqual(per[0].shape, [6, 5, 3]);
    for (let i = 0; i < 6; i++) {
      const [gW, gw] = mg.func.grad(loss, { argnums: [0, 1] })(W1, w2, xs.select(0, i), ys.select(0, i)) as mg.Tensor[];
      assertClose(per[0].select(0, i), gW, 1e-12);
      assertClose(per[1].select(0, i), gw, 1e-12);
    }
  });
  it('grad of a function that uses vmap equals the gradient of the loop', () => {
    const batchLoss = (W: mg.Tensor): mg.Tensor => mg.mean(mg.func.vmap((x: mg.Tensor, y: mg.Tensor) => loss(W, w2, x, y))(xs, ys));
    const g = mg.func.grad(batchLoss)(W1);
    let want = mg.zerosLike(W1);
    for (let i = 0; i < 6; i++) want = mg.add(want, mg.func.grad(loss)(W1, w2, xs.select(0, i), ys.select(0, i)));
    assertClose(g, mg.div(want, 6), 1e-12);
    // Second order: the Hessian-vector product through the vmapped loss, against a loop of hvps.
    const v = mg.randn([5, 3], { dtype: 'float64' });
    const [, hv] = mg.func.hvp(batchLoss, [W1], [v]);
    let hvLoop = mg.zerosLike(W1);
    for (let i = 0; i < 6; i++) hvLoop = mg.add(hvLoop, mg.func.hvp((W: mg.Tensor) => loss(W, w2, xs.select(0, i), ys.select(0, i)), [W1], [v])[1][0]);
    assertClose(hv[0], mg.div(hvLoop, 6), 1e-12);
  });
  it('vmap(jvp), vmap(hvp) and vmap(vjp) equal loops', () => {
    const f = (x: mg.Tensor): mg.Tensor => mg.tanh(mg.matmul(W1, x));
    const ts = mg.randn([6, 3], { dtype: 'float64' });
    const jv = mg.func.vmap((x: mg.Tensor, t: mg.Tensor) => mg.func.jvp(f, [x], [t])[1])(xs, ts);
    const hv = mg.func.vmap((x: mg.Tensor, t: mg.Tensor) => mg.func.hvp((z: mg.Tensor) => loss(W1, w2, z, ys.select(0, 0)), [x], [t])[1][0])(xs, ts);
    const ct = mg.randn([6, 5], { dtype: 'float64' });
    const vj = mg.func.vmap((x: mg.Tensor, c: mg.Tensor) => mg.func.vjp(f, x)[1](c)[0] as mg.Tensor)(xs, ct);
    for (let i = 0; i < 6; i++) {
      assertClose(jv.select(0, i), mg.func.jvp(f, [xs.select(0, i)], [ts.select(0, i)])[1], 1e-12);
      assertClose(hv.select(0, i), mg.func.hvp((z: mg.Tensor) => loss(W1, w2, z, ys.select(0, 0)), [xs.select(0, i)], [ts.select(0, i)])[1][0], 1e-12);
      assertClose(vj.select(0, i), mg.func.vjp(f, xs.select(0, i))[1](ct.select(0, i))[0] as mg.Tensor, 1e-12);
    }
  });
  it('vmap(grad) against finite differences of the member loss', () => {
    const g = mg.func.vmap(mg.func.grad((x: mg.Tensor, y: mg.Tensor) => loss(W1, w2, x, y)))(xs, ys);
    const eps = 1e-6;
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 3; j++) {
        const e = mg.zeros([3], { dtype: 'float64' });
        e.data[j] = eps;
        const fd = (loss(W1, w2, mg.add(xs.select(0, i), e), ys.select(0, i)).item() - loss(W1, w2, mg.sub(xs.select(0, i), e), ys.select(0, i)).item()) / (2 * eps);
        assert.ok(Math.abs(g.select(0, i).data[j] - fd) < 1e-7, `member ${i}, entry ${j}: ${g.select(0, i).data[j]} vs ${fd}`);
      }
    }
  });
});

describe('func.vmap: refusals name the problem', () => {
  const x = mg.zeros([4, 3]);
  it('mismatched batch sizes name both arguments', () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor, b: mg.Tensor) => mg.add(a, b))(x, mg.zeros([5, 3])), /func.vmap: args\[1\] has size 5 along its mapped dimension 0 \(shape \[5, 3\]\), but args\[0\] has size 4/);
  });
  it('no batched argument, a 0-d batched argument, inDims of the wrong length, a bad randomness', () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { inDims: null })(x), /no argument is batched/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a)(mg.tensor(1)), /args\[0\] is 0-d/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { inDims: [0, 0] })(x), /inDims has 2 entries but the function was called with 1/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { randomness: 'sometimes' as 'same' }), /randomness/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { inDims: 2 })(x), /dimension/);
  });
  it('reading values inside vmap, a number output, outDims null for a batched output, backward()', () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.tensor(a.item()))(x), /vmap: item\(\) of a batched tensor \(shape \[3\]\): its value differs per member/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.tensor(a.data[0]))(x), /vmap: the values of a batched tensor \(shape \[3\]\) cannot be read inside vmap: /);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => (a.tolist() as number[]).length as unknown as mg.Tensor)(x), /cannot be read inside vmap/);
    assert.throws(() => mg.func.vmap((_a: mg.Tensor) => 3 as unknown as mg.Tensor)(x), /func.vmap: argument 'output' must be a Tensor/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { outDims: null })(x), /output 0 varies across the members but its outDims entry is null/);
    const w = mg.zeros([3]).requiresGrad_(true);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => {
      mg.sum(mg.mul(a, w)).backward();
      return a;
    })(x), /backward: cannot accumulate .grad inside vmap/);
  });
  it('autograd.grad inside vmap with respect to a shared tensor is refused (it would sum the members)', () => {
    const w = mg.ones([3]).requiresGrad_(true);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.autograd.grad(mg.sum(mg.mul(a, w)), [w])[0])(x), /inputs\[0\] \(shape \[3\]\) is not batched by the vmap that batched the outputs/);
  });
  it('out-of-range per-member indices are refused by name; the level stack is clean after an error', () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor, i: mg.Tensor) => mg.indexSelect(a, 0, i))(x, mg.full([4, 2], 7)), /indexSelect: argument 'index'/);
    // A later vmap starts at level 1 again.
    const out = mg.func.vmap((a: mg.Tensor) => mg.add(a, 1))(x);
    assertClose(out, mg.ones([4, 3]));
  });
});

describe('func.vmap through implicit differentiation', () => {
  // Per task t: x*(θ) = argmin ½‖A_t x − y_t‖² + (λ/2)‖x − θ‖², closed form (A_tᵀA_t + λI)⁻¹(A_tᵀy_t + λθ).
  mg.manualSeed(40);
  const T = 4;
  const n = 6;
  const d = 3;
  const f64 = { dtype: 'float64' } as const;
  const As = mg.randn([T, n, d], f64);
  const ys = mg.randn([T, n], f64);
  const lam = 0.5;
  const F = (x: mg.Tensor, theta: mg.Tensor, A: mg.Tensor, y: mg.Tensor): mg.Tensor =>
    mg.add(mg.matmul(mg.t(A), mg.sub(mg.matmul(A, x), y)), mg.mul(mg.sub(x, theta), lam));
  const gd = (x0: mg.Tensor, th: mg.Tensor, A: mg.Tensor, y: mg.Tensor): mg.Tensor => {
    let x = x0;
    for (let i = 0; i < 400; i++) x = mg.sub(x, mg.mul(F(x, th, A, y), 0.05));
    return x;
  };
  const outer = (x: mg.Tensor): mg.Tensor => mg.sum(mg.square(x));
  const x0 = (): mg.Tensor => mg.zeros([d], f64);
  /** d outer / dθ in closed form: 2λ (AᵀA + λI)⁻¹ x*. */
  const closed = (th: mg.Tensor, t: number): mg.Tensor => {
    const A = As.select(0, t);
    const H = mg.add(mg.matmul(mg.t(A), A), mg.mul(mg.eye(d, f64), lam));
    const xs = mg.linalg.solve(H, mg.add(mg.matmul(mg.t(A), ys.select(0, t)), mg.mul(th, lam)));
    return mg.mul(mg.linalg.solve(H, xs), 2 * lam);
  };

  for (const [name, make, checkRoot] of [
    ['solveNormalCg', () => mg.linearSolve.solveNormalCg({ maxiter: 50 }), 'raise'],
    ['solveCg', () => mg.linearSolve.solveCg({ maxiter: 50 }), 'raise'],
    // Without the forward's root check, F is first evaluated in the backward (grad mode off there).
    ['solveNormalCg, checkRoot: false', () => mg.linearSolve.solveNormalCg({ maxiter: 50 }), false],
  ] as const) {
    it(`${name}: grad of the vmapped meta-objective with respect to a shared θ equals the loop and the closed form`, () => {
      const solver = mg.diff.implicit.customRoot(F, { argnums: 1, solve: make(), checkRoot })(gd);
      const theta = mg.randn([d], f64).requiresGrad_(true);
      const batch = mg.func.vmap((A: mg.Tensor, y: mg.Tensor) => outer(solver(x0(), theta, A, y)))(As, ys);
      assert.deepEqual(batch.shape, [T]);
      const [g] = mg.autograd.grad(mg.sum(batch), [theta]);
      const info = mg.diff.implicit.lastSolveInfo();
      assert.equal(info?.members?.length, T, 'one solve info per member');
      assert.ok(info?.members?.every((m) => m.converged));
      let loop = mg.zeros([d], f64);
      let exact = mg.zeros([d], f64);
      for (let t = 0; t < T; t++) {
        loop = mg.add(loop, mg.autograd.grad(outer(solver(x0(), theta, As.select(0, t), ys.select(0, t))), [theta])[0]);
        exact = mg.add(exact, closed(theta.detach(), t));
      }
      assertClose(g, loop, 1e-10);
      assertClose(g, exact, 1e-6);
    });
    it(`${name}: vmap(grad) gives each task's meta-gradient for per-task θ`, () => {
      const solver = mg.diff.implicit.customRoot(F, { argnums: 1, solve: make(), checkRoot })(gd);
      const thetas = mg.randn([T, d], f64);
      const per = mg.func.vmap(mg.func.grad((th: mg.Tensor, A: mg.Tensor, y: mg.Tensor) => outer(solver(x0(), th, A, y))))(thetas, As, ys);
      for (let t = 0; t < T; t++) assertClose(per.select(0, t), closed(thetas.select(0, t), t), 1e-6, 1e-5, `task ${t}`);
    });
  }

  it('members stop on their own: a member that converges early stops changing and reports its own count', () => {
    // Scaled systems: member t's Hessian is s_t (AᵀA + λI), so CG needs a different number of
    // iterations at a fixed absolute tolerance only if the spectrum differs: use diagonal systems.
    const diag = mg.tensor([[1, 1, 1], [1, 2, 3], [1, 10, 100], [4, 4, 4]], f64);
    const G = (x: mg.Tensor, th: mg.Tensor, D: mg.Tensor): mg.Tensor => mg.sub(mg.mul(D, x), th);
    const solve = mg.diff.implicit.customRoot(G, { argnums: 1, solve: mg.linearSolve.solveCg({ maxiter: 10, rtol: 1e-12 }) })((_x: mg.Tensor, th: mg.Tensor, D: mg.Tensor) => mg.div(th, D));
    const theta = mg.tensor([1, 2, 3], f64).requiresGrad_(true);
    const out = mg.func.vmap((D: mg.Tensor) => mg.sum(solve(mg.zeros([3], f64), theta, D)))(diag);
    const [g] = mg.autograd.grad(mg.sum(out), [theta]);
    const info = mg.diff.implicit.lastSolveInfo();
    // CG on a diagonal system needs as many iterations as distinct eigenvalues.
    assert.deepEqual(info?.members?.map((m) => m.iterations), [1, 3, 3, 1]);
    assert.equal(info?.iterations, 3);
    const want = mg.sum(mg.reciprocal(diag), 0);
    assertClose(g, want, 1e-10);
  });

  it('a member whose solution is not a root raises, naming the member', () => {
    const solver = mg.diff.implicit.customRoot(F, { argnums: 1, solve: mg.linearSolve.solveCg() })(gd);
    const theta = mg.zeros([d], f64).requiresGrad_(true);
    // Member 2's system is scaled so that the fixed gradient-descent step overshoots: its result is no root.
    const bad = mg.mul(As, mg.reshape(mg.tensor([1, 1, 30, 1], f64), [T, 1, 1]));
    assert.throws(() => mg.func.vmap((A: mg.Tensor, y: mg.Tensor) => outer(solver(x0(), theta, A, y)))(bad, ys), /member 2 of the vmap batch/);
  });
});

describe('func.vmap: the Krylov solvers solve one system per member', () => {
  // Member t: (D_t + N_tᵀN_t) x = b_t, non-symmetric for bicgstab (plus a skew part).
  mg.manualSeed(50);
  const f64 = { dtype: 'float64' } as const;
  const T = 3;
  const Ns = mg.randn([T, 4, 4], f64);
  const S = mg.randn([T, 4, 4], f64);
  const bs = mg.randn([T, 4], f64);
  const spd = (N: mg.Tensor): mg.Tensor => mg.add(mg.matmul(mg.t(N), N), mg.eye(4, f64));
  const skew = (N: mg.Tensor, s: mg.Tensor): mg.Tensor => mg.add(spd(N), mg.mul(mg.sub(s, mg.t(s)), 0.3));
  for (const [name, solve, mat] of [
    ['cg', (A: mg.Tensor, b: mg.Tensor) => mg.linalg.cg((x: mg.Tensor) => mg.matmul(A, x), b, { rtol: 1e-12, maxiter: 100 }), spd],
    ['bicgstab', (A: mg.Tensor, b: mg.Tensor) => mg.linalg.bicgstab((x: mg.Tensor) => mg.matmul(A, x), b, { rtol: 1e-12, maxiter: 100 }), skew],
  ] as const) {
    it(`${name}: values and gradients equal the loop's, each member has its own info`, () => {
      const run = (N: mg.Tensor, s: mg.Tensor, b: mg.Tensor): mg.Tensor => solve(mat(N, s), b);
      const Nr = Ns.detach().clone().requiresGrad_(true);
      const out = mg.func.vmap(run)(Nr, S, bs);
      const info = mg.linalg.lastSolveInfo();
      assert.equal(info?.members?.length, T);
      assert.ok(info?.converged);
      for (let t = 0; t < T; t++) {
        const A = mat(Ns.select(0, t), S.select(0, t));
        assertClose(mg.matmul(A, out.select(0, t)), bs.select(0, t), 1e-9);
        assert.ok((info?.members?.[t].iterations ?? 0) >= 1);
      }
      const [g] = mg.autograd.grad(mg.sum(mg.square(out)), [Nr]);
      const Nl = Ns.detach().clone().requiresGrad_(true);
      let l = mg.tensor(0, f64);
      for (let t = 0; t < T; t++) l = mg.add(l, mg.sum(mg.square(run(mg.select(Nl, 0, t), S.select(0, t), bs.select(0, t)))));
      const [gl] = mg.autograd.grad(l, [Nl]);
      assertClose(g, gl, 1e-8);
    });
  }
});

describe('func.vmap: every linear solver of customRoot solves one system per member', () => {
  const f64 = { dtype: 'float64' } as const;
  mg.manualSeed(80);
  // Member t: F(x, θ) = (D_t + N_tᵀN_t/4) x − θ, non-diagonal and different per member.
  const Ns = mg.randn([3, 2, 2], f64);
  const D = mg.add(mg.rand([3, 2], f64), 1);
  const H = (d: mg.Tensor, n: mg.Tensor): mg.Tensor => mg.add(mg.mul(mg.eye(2, f64), d), mg.div(mg.matmul(mg.t(n), n), 4));
  const F = (x: mg.Tensor, th: mg.Tensor, d: mg.Tensor, n: mg.Tensor): mg.Tensor => mg.sub(mg.matmul(H(d, n), x), th);
  const inner = (_x: mg.Tensor, th: mg.Tensor, d: mg.Tensor, n: mg.Tensor): mg.Tensor => mg.linalg.solve(H(d, n), th);
  for (const [name, solve] of [
    ['solveGmres', mg.linearSolve.solveGmres({ rtol: 1e-12 })],
    ['solveBicgstab', mg.linearSolve.solveBicgstab({ rtol: 1e-12 })],
    ['solveInv (Neumann)', mg.linearSolve.solveInv({ ns: true, maxiter: 400, alpha: 0.3, rtol: 1e-13 })],
    ['solveInv (Neumann, automatic step)', mg.linearSolve.solveInv({ ns: true, maxiter: 400, rtol: 1e-13 })],
    ['solveInv (direct)', mg.linearSolve.solveInv()],
    ['solveDense', mg.linearSolve.solveDense()],
  ] as const) {
    it(`${name}: the gradient with respect to a shared θ equals the loop's`, () => {
      const s = mg.diff.implicit.customRoot(F, { argnums: 1, solve })(inner);
      const theta = mg.tensor([1, -2], { ...f64, requiresGrad: true });
      const w = mg.tensor([0.5, 3], f64);
      const out = mg.func.vmap((d: mg.Tensor, n: mg.Tensor) => mg.sum(mg.mul(s(mg.zeros([2], f64), theta, d, n), w)))(D, Ns);
      const [g] = mg.autograd.grad(mg.sum(out), [theta]);
      let want = mg.zeros([2], f64);
      // Closed form: Σ_t H_t⁻ᵀ w.
      for (let t = 0; t < 3; t++) want = mg.add(want, mg.linalg.solve(mg.t(H(D.select(0, t), Ns.select(0, t))), w));
      assertClose(g, want, 1e-9);
    });
  }
  it('linalg.solve under vmap: one factorisation per member, differentiable, a singular member named', () => {
    const A = mg.add(mg.randn([3, 2, 2], f64), mg.mul(mg.eye(2, f64), 3)).requiresGrad_(true);
    const b = mg.randn([3, 2], f64);
    const x = mg.func.vmap((a: mg.Tensor, v: mg.Tensor) => mg.linalg.solve(a, v))(A, b);
    const [g] = mg.autograd.grad(mg.sum(x), [A]);
    for (let t = 0; t < 3; t++) {
      const At = A.select(0, t);
      assertClose(mg.matmul(At, x.select(0, t)), b.select(0, t), 1e-12);
      const u = mg.linalg.solve(mg.t(At.detach()), mg.ones([2], f64));
      assertClose(g.select(0, t), mg.neg(mg.matmul(mg.unsqueeze(u, 1), mg.unsqueeze(x.select(0, t).detach(), 0))), 1e-10);
    }
    const S = mg.stack([mg.eye(2, f64), mg.zeros([2, 2], f64)]);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.linalg.solve(a, mg.ones([2], f64)))(S), /linalg.solve: member 1 of the vmap batch: the 2×2 matrix/);
  });
});

describe('func.stackModuleState and functionalCall under vmap (ensembles, a model per task)', () => {
  const make = (): mg.nn.Module => new mg.nn.Sequential(new mg.nn.Linear(3, 4), new mg.nn.Tanh(), new mg.nn.Linear(4, 1));
  it('stacks each parameter along a new leading dim; the vmapped call and its gradients equal each model', () => {
    mg.manualSeed(60);
    const models = [0, 1, 2].map(make);
    const [params, buffers] = mg.func.stackModuleState(models);
    assert.deepEqual(Object.keys(params), ['0.weight', '0.bias', '2.weight', '2.bias']);
    assert.deepEqual(params['0.weight'].shape, [3, 4, 3]);
    assert.ok(params['0.weight'].isLeaf && params['0.weight'].requiresGrad);
    assert.deepEqual(buffers, {});
    const x = mg.randn([5, 3]);
    const y = mg.randn([5, 1]);
    const loss = (p: Record<string, mg.Tensor>): mg.Tensor => mg.nn.functional.mseLoss(mg.func.functionalCall(models[0], p, [x]) as mg.Tensor, y);
    const per = mg.func.vmap(loss)(params);
    assert.deepEqual(per.shape, [3]);
    const [gw] = mg.autograd.grad(mg.sum(per), [params['2.weight']]);
    models.forEach((m, i) => {
      const li = mg.nn.functional.mseLoss(m.forward(x) as mg.Tensor, y);
      assertClose(per.select(0, i), li, 1e-6);
      const w = m.namedParameters().find(([n]) => n === '2.weight')![1];
      assertClose(gw.select(0, i), mg.autograd.grad(li, [w])[0], 1e-6);
    });
    // The module's own parameters are back in place.
    assert.equal(models[0].namedParameters()[0][1].shape.length, 2);
  });
  it('a module called directly on batched inputs (its own parameters shared), and its parameters\' gradient', () => {
    mg.manualSeed(61);
    const net = make();
    const xs = mg.randn([4, 5, 3]);
    const out = mg.func.vmap((x: mg.Tensor) => net.forward(x) as mg.Tensor)(xs);
    for (let t = 0; t < 4; t++) assertClose(out.select(0, t), net.forward(xs.select(0, t)) as mg.Tensor, 1e-6);
    // The gradient of the batch's total with respect to the shared parameters is the sum of the members'.
    const ps = net.parameters();
    const g = mg.autograd.grad(mg.sum(out), ps);
    const gl = mg.autograd.grad(mg.sum(net.forward(mg.reshape(xs, [20, 3])) as mg.Tensor), ps);
    g.forEach((gi, i) => assertClose(gi, gl[i], 1e-5));
  });
  it('modules of different structures are refused, naming the parameter', () => {
    assert.throws(() => mg.func.stackModuleState([make(), new mg.nn.Linear(3, 1)]), /modules\[1\] has parameters \[weight, bias\] but modules\[0\] has \[0.weight/);
    assert.throws(() => mg.func.stackModuleState([new mg.nn.Linear(3, 1), new mg.nn.Linear(2, 1)]), /parameter 'weight' of modules\[1\] is \[1, 2\] float32, but modules\[0\]'s is \[1, 3\]/);
    assert.throws(() => mg.func.stackModuleState([]), /non-empty array/);
  });
});

describe('func.jacrev, jacfwd and hessian through vmap', () => {
  const f64 = { dtype: 'float64' } as const;
  mg.manualSeed(70);
  const A = mg.randn([3, 4], f64);
  const x = mg.randn([4], f64);
  const f = (v: mg.Tensor): mg.Tensor => mg.tanh(mg.matmul(A, v));
  /** J of f in closed form: diag(1 − tanh²(Av)) A. */
  const J = mg.mul(mg.unsqueeze(mg.sub(1, mg.square(f(x))), 1), A);
  it('jacrev and jacfwd equal the closed form, and each other', () => {
    assertClose(mg.func.jacrev(f)(x), J, 1e-12);
    assertClose(mg.func.jacfwd(f)(x), J, 1e-12);
    const X = mg.randn([2, 3], f64);
    const g = (m: mg.Tensor): mg.Tensor => mg.sin(mg.matmul(m, mg.t(m)));
    const Jr = mg.func.jacrev(g)(X);
    assert.deepEqual(Jr.shape, [2, 2, 2, 3]);
    assertClose(mg.func.jacfwd(g)(X), Jr, 1e-12);
  });
  it('jacrev and jacfwd of a tree output give a tree of Jacobians', () => {
    const h = (v: mg.Tensor): { a: mg.Tensor; b: mg.Tensor[] } => ({ a: f(v), b: [mg.sum(mg.square(v))] });
    for (const jac of [mg.func.jacrev, mg.func.jacfwd]) {
      const out = jac(h)(x) as unknown as { a: mg.Tensor; b: mg.Tensor[] };
      assertClose(out.a, J, 1e-12);
      assert.deepEqual(out.b[0].shape, [4]);
      assertClose(out.b[0], mg.mul(x, 2), 1e-12);
    }
  });
  it('hessian (jacfwd of jacrev) against a closed form and finite differences', () => {
    const q = (v: mg.Tensor): mg.Tensor => mg.sum(mg.mul(mg.exp(mg.mul(v, 0.5)), mg.square(v)));
    const H = mg.func.hessian(q)(x);
    // d²/dv² [e^{v/2} v²] = e^{v/2}(v²/4 + 2v + 2), diagonal.
    const e = mg.exp(mg.mul(x, 0.5));
    const want = mg.mul(mg.eye(4, f64), mg.unsqueeze(mg.mul(e, mg.add(mg.add(mg.div(mg.square(x), 4), mg.mul(x, 2)), 2)), 1));
    assertClose(H, want, 1e-10);
    // A non-separable function: compare with central differences of its gradient.
    const r = (v: mg.Tensor): mg.Tensor => mg.sum(mg.tanh(mg.matmul(A, v)));
    const Hr = mg.func.hessian(r)(x);
    const eps = 1e-5;
    for (let j = 0; j < 4; j++) {
      const d = mg.zeros([4], f64);
      d.data[j] = eps;
      const col = mg.div(mg.sub(mg.func.grad(r)(mg.add(x, d)), mg.func.grad(r)(mg.sub(x, d))), 2 * eps);
      assertClose(mg.select(Hr, 1, j), col, 1e-8);
    }
  });
});

describe('func.vmap through customFixedPoint', () => {
  it('a fixed point x = tanh(W x + θ) per member: gradients equal the loop and the closed form', () => {
    const f64 = { dtype: 'float64' } as const;
    mg.manualSeed(90);
    const Ws = mg.mul(mg.randn([3, 4, 4], f64), 0.2); // contractions
    const T = (x: mg.Tensor, th: mg.Tensor, W: mg.Tensor): mg.Tensor => mg.tanh(mg.add(mg.matmul(W, x), th));
    const solver = mg.diff.implicit.customFixedPoint(T, { argnums: 1, solve: mg.linearSolve.solveNormalCg({ rtol: 1e-12, maxiter: 50 }) })(
      (x0: mg.Tensor, th: mg.Tensor, W: mg.Tensor): mg.Tensor => {
        let x = x0;
        for (let i = 0; i < 200; i++) x = T(x, th, W);
        return x;
      },
    );
    const theta = mg.tensor([0.3, -0.2, 0.5, 0.1], { ...f64, requiresGrad: true });
    const out = mg.func.vmap((W: mg.Tensor) => mg.sum(solver(mg.zeros([4], f64), theta, W)))(Ws);
    const [g] = mg.autograd.grad(mg.sum(out), [theta]);
    let want = mg.zeros([4], f64);
    let loop = mg.zeros([4], f64);
    for (let t = 0; t < 3; t++) {
      const W = Ws.select(0, t);
      const x = mg.noGrad(() => solver(mg.zeros([4], f64), theta.detach(), W));
      // x = tanh(Wx + θ): dx/dθ = (I − D W)⁻¹ D with D = diag(1 − x²); the gradient of Σx is its transpose times 1.
      const D = mg.mul(mg.eye(4, f64), mg.unsqueeze(mg.sub(1, mg.square(x)), 1));
      const J = mg.matmul(mg.linalg.solve(mg.sub(mg.eye(4, f64), mg.matmul(D, W)), mg.eye(4, f64)), D);
      want = mg.add(want, mg.matmul(mg.t(J), mg.ones([4], f64)));
      loop = mg.add(loop, mg.autograd.grad(mg.sum(solver(mg.zeros([4], f64), theta, W)), [theta])[0]);
    }
    assertClose(g, loop, 1e-10);
    assertClose(g, want, 1e-9);
  });
});

describe('func.vmap: losses with per-member targets', () => {
  it('crossEntropy with batched class indices (ignored ones included) and with probabilities; binaryCrossEntropyWithLogits', () => {
    mg.manualSeed(95);
    const f64 = { dtype: 'float64' } as const;
    const logits = mg.randn([3, 5, 4], f64);
    const idx = mg.tensor([[0, 3, 1, 2, 2], [1, 1, -100, 0, 3], [-100, -100, -100, -100, 2]], f64);
    check('crossEntropy indices', (l, t) => mg.nn.functional.crossEntropy(l, t), [logits, idx], [0, 0], { order2: true });
    check('crossEntropy indices, sum', (l, t) => mg.nn.functional.crossEntropy(l, t, { reduction: 'sum' }), [logits, idx], [0, 0], { order2: true });
    check('crossEntropy indices, none', (l, t) => mg.nn.functional.crossEntropy(l, t, { reduction: 'none' }), [logits, idx], [0, 0], { order2: true });
    check('crossEntropy shared indices', (l) => mg.nn.functional.crossEntropy(l, [0, 1, 2, 3, 0]), [logits], [0], { order2: true });
    const probs = mg.softmax(mg.randn([3, 5, 4], f64), -1);
    check('crossEntropy probabilities', (l, p) => mg.nn.functional.crossEntropy(l, p), [logits, probs], [0, 0], { order2: true });
    const t01 = mg.gt(mg.randn([3, 5, 4], f64), 0).to('float64');
    check('binaryCrossEntropyWithLogits', (l, t) => mg.nn.functional.binaryCrossEntropyWithLogits(l, t), [logits, t01], [0, 0], { order2: true });
    assert.throws(() => mg.func.vmap((l: mg.Tensor, t: mg.Tensor) => mg.nn.functional.crossEntropy(l, t))(logits, mg.add(idx, 10)), /crossEntropy: target 0 is 10/);
  });
});

describe('func.vmap: optimizers inside the mapped function', () => {
  it('sgd with momentum and adam from state on shared parameters give each member the loop result', () => {
    mg.manualSeed(99);
    const f64 = { dtype: 'float64' } as const;
    const xs = mg.randn([4, 8, 3], f64);
    const ys = mg.randn([4, 8], f64);
    const fit = (x: mg.Tensor, y: mg.Tensor): mg.Tensor => {
      let w = mg.zeros([3], f64);
      for (const make of [() => mg.sgd({ lr: 0.1, momentum: 0.9 }), () => mg.adam({ lr: 0.1 })]) {
        const opt = make();
        let state = opt.init([w]);
        for (let i = 0; i < 5; i++) {
          const g = mg.func.grad((ww: mg.Tensor) => mg.mean(mg.square(mg.sub(mg.matmul(x, ww), y))))(w);
          let u: unknown;
          [u, state] = opt.update([g], state);
          [w] = mg.applyUpdates([w], u as mg.Tensor[], { inplace: false }) as mg.Tensor[];
        }
      }
      return w;
    };
    const v = mg.func.vmap(fit)(xs, ys);
    for (let t = 0; t < 4; t++) assertClose(v.select(0, t), fit(xs.select(0, t), ys.select(0, t)), 1e-12);
    // Writing batched updates into shared parameters in place is refused, with the way out.
    assert.throws(() => mg.func.vmap((x: mg.Tensor) => mg.applyUpdates([mg.zeros([3], f64)], [mg.sum(x, 0)]))(xs), /add_: an in-place write into a tensor that vmap does not batch .*use the out-of-place form/);
  });
});

/** A small seeded generator (an LCG) for the random-program tests: draws in [0, 1) and picks. */
function seeded(seed: number): { rnd: () => number; pick: <T>(xs: readonly T[]) => T } {
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  return { rnd, pick: (xs) => xs[Math.floor(rnd() * xs.length)] };
}

describe('func.vmap: random programs against the loop', () => {
  // Random chains of ops on random shapes, with the batch dimension at a random position of each
  // argument (or shared): the vmapped chain must equal the loop, value and gradient. Bounded in time.
  const f64 = { dtype: 'float64' } as const;
  type Op = (a: mg.Tensor, b: mg.Tensor) => mg.Tensor;
  // Ops from [r, c] operands to [r, c] results, so chains compose.
  const ops: [string, Op][] = [
    ['add', (a, b) => mg.add(a, b)], ['mul', (a, b) => mg.mul(a, b)], ['sub row', (a, b) => mg.sub(a, mg.select(b, 0, 0))],
    ['tanh', (a) => mg.tanh(a)], ['sin·b', (a, b) => mg.mul(mg.sin(a), b)], ['softmax', (a) => mg.softmax(a, -1)], ['logSoftmax 0', (a) => mg.logSoftmax(a, 0)],
    ['matmul bᵀb', (a, b) => mg.matmul(a, mg.matmul(mg.t(b), b))], ['transpose twice', (a) => mg.t(mg.t(a))], ['cumulative mean', (a) => mg.add(a, mg.mean(a, 0, true))],
    ['max keepdim', (a) => mg.sub(a, mg.max(a, 1, true).values)], ['where', (a, b) => mg.where(mg.gt(a, b), a, mg.mul(b, 0.5))],
    ['reshape round trip', (a) => mg.reshape(mg.reshape(a, [-1]), a.shape as number[])], ['cat+narrow', (a, b) => mg.narrow(mg.cat([a, b], 1), 1, 1, a.shape[1])],
    ['stack+sum', (a, b) => mg.sum(mg.stack([a, b], 2), 2)], ['expand row', (a) => mg.add(a, mg.expand(mg.narrow(a, 0, 0, 1), a.shape as number[]))],
    ['logsumexp', (a) => mg.sub(a, mg.logsumexp(a, 1, true))], ['clamp', (a) => mg.clamp(a, -0.5, 0.5)], ['square+sqrt', (a) => mg.sqrt(mg.add(mg.square(a), 1))],
  ];
  it('200 random chains (bounded to 20 s)', () => {
    const { rnd, pick } = seeded(12345);
    const start = Date.now();
    for (let trial = 0; trial < 200 && Date.now() - start < 20_000; trial++) {
      const [B, r, c] = [1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 4)];
      const chain = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(ops));
      const f = (a: mg.Tensor, b: mg.Tensor): mg.Tensor => chain.reduce((x, [, op]) => op(x, b), a);
      // Where the batch dim sits in each argument (null: shared, not batched).
      const dims = [pick([0, 1, 2]), pick([0, 1, 2, null])] as Dim[];
      mg.manualSeed(trial);
      const make = (d: Dim): mg.Tensor => {
        const shape = [r, c];
        if (d !== null) shape.splice(d, 0, B);
        return mg.randn(shape, f64);
      };
      const args = dims.map(make);
      const name = `trial ${trial}: ${chain.map(([n]) => n).join(' → ')}, inDims [${dims.join(', ')}], B ${B}, [${r}, ${c}]`;
      check(name, f, args, dims, { atol: 1e-9 });
    }
  }).timeout(60_000);

  it('60 random chains under two nested vmaps (outer over a, inner over b) equal the double loop', () => {
    const { rnd, pick } = seeded(777);
    const start = Date.now();
    for (let trial = 0; trial < 60 && Date.now() - start < 20_000; trial++) {
      const [B1, B2, r, c] = [1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 3)];
      const chain = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(ops));
      const f = (a: mg.Tensor, b: mg.Tensor): mg.Tensor => chain.reduce((x, [, op]) => op(x, b), a);
      mg.manualSeed(1000 + trial);
      const A = mg.randn([B1, r, c], f64);
      const Bt = mg.randn([B2, r, c], f64);
      const nested = mg.func.vmap((a: mg.Tensor) => mg.func.vmap((b: mg.Tensor) => f(a, b))(Bt))(A);
      const loop = mg.stack(Array.from({ length: B1 }, (_, i) => mg.stack(Array.from({ length: B2 }, (_, j) => f(A.select(0, i), Bt.select(0, j))), 0)), 0);
      assert.deepEqual(nested.shape, loop.shape);
      assertClose(nested, loop, 1e-9, 1e-9, `trial ${trial}: ${chain.map(([n]) => n).join(' → ')}, [${B1}, ${B2}, ${r}, ${c}]`);
    }
  }).timeout(60_000);
});

describe('examples/imaml-batch.ts', () => {
  it('the vmapped meta-batch gives the loop\'s meta-gradient (8 tasks, float32)', () => {
    const onWarning = process.listeners('warning');
    process.removeAllListeners('warning'); // the example's deliberate 5-iteration CG budget
    try {
      const v = metaBatchGradient(true, 8);
      const l = metaBatchGradient(false, 8);
      assert.equal(v.length, 6);
      v.forEach((g, i) => assertClose(g, l[i], 1e-6, 1e-4, `parameter ${i}`));
      assert.ok(v.some((g) => mg.max(mg.abs(g)).item() > 1e-3), 'a non-trivial meta-gradient');
    } finally {
      for (const l of onWarning) process.on('warning', l);
    }
  });
});

describe('func.vmap: a batched tensor that escapes its vmap', () => {
  it('is refused when it reaches an outer vmap\'s output', () => {
    const x = mg.zeros([3, 2]);
    let leaked: mg.Tensor | null = null;
    mg.func.vmap((a: mg.Tensor) => {
      leaked = mg.add(a, 1);
      return a;
    })(x);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => mg.add(a, leaked as unknown as mg.Tensor))(mg.zeros([3, 2])), /holds a tensor batched by another vmap call that it escaped/);
  });
});

describe('func.vmap: chunkSize', () => {
  it('chunks of any size give the unchunked values and gradients, trees and outDims included', () => {
    mg.manualSeed(120);
    const f64 = { dtype: 'float64' } as const;
    const x = mg.randn([7, 3], f64);
    const W = mg.randn([3, 2], f64).requiresGrad_(true);
    const f = (a: mg.Tensor): { y: mg.Tensor; s: mg.Tensor[] } => ({ y: mg.tanh(mg.matmul(a, W)), s: [mg.sum(mg.square(a))] });
    const whole = mg.func.vmap(f, { outDims: { y: 1, s: [0] } })(x);
    const [gw] = mg.autograd.grad(mg.sum(whole.y), [W], { retainGraph: true });
    for (const chunkSize of [1, 2, 3, 7, 10]) {
      const part = mg.func.vmap(f, { outDims: { y: 1, s: [0] }, chunkSize })(x);
      assert.deepEqual(part.y.shape, [2, 7]);
      assertClose(part.y, whole.y, 1e-14);
      assertClose(part.s[0], whole.s[0], 1e-14);
      const [g] = mg.autograd.grad(mg.sum(part.y), [W]);
      assertClose(g, gw, 1e-13);
    }
    // Per-example gradients in chunks, batched along dim 1, with a shared argument.
    const loss = (w: mg.Tensor, a: mg.Tensor): mg.Tensor => mg.sum(mg.tanh(mg.matmul(a, w)));
    const per = mg.func.vmap(mg.func.grad(loss), { inDims: [null, 1], chunkSize: 3 })(W.detach(), mg.t(x));
    assertClose(per, mg.func.vmap(mg.func.grad(loss), { inDims: [null, 1] })(W.detach(), mg.t(x)), 1e-14);
  });
  it('bad sizes, and the combination with randomness "same", are refused', () => {
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { chunkSize: 0 }), /chunkSize/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { chunkSize: 1.5 }), /chunkSize/);
    assert.throws(() => mg.func.vmap((a: mg.Tensor) => a, { chunkSize: 2, randomness: 'same' }), /chunkSize cannot be combined with randomness: 'same'/);
  });
});
