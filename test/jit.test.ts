/**
 * mg.jit: a replay equals the eager call made the way a replay computes (native kernels, the
 * fixed-size forms of solver loops) bit for bit, for ops, transforms, an optimizer step and a
 * whole implicit meta-gradient; it equals the default eager call to rounding; and what cannot
 * be replayed is refused.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { asReplayed } from '../ts/tensor/trace';
import * as el from '../ts/ops/elementwise';
import { clone, tutorialProblem } from '../bench/meta';

type Fn = (...args: mg.Tensor[]) => unknown;

function tensorsOf(x: unknown): mg.Tensor[] {
  if (x instanceof mg.Tensor) return [x];
  if (Array.isArray(x)) return x.flatMap(tensorsOf);
  if (x !== null && typeof x === 'object') return Object.values(x).flatMap(tensorsOf);
  return [];
}

function bits(t: mg.Tensor): number[] {
  return Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function assertSameBits(got: unknown, want: unknown, what: string): void {
  const a = tensorsOf(got);
  const b = tensorsOf(want);
  assert.equal(a.length, b.length, `${what}: number of outputs`);
  a.forEach((t, i) => {
    assert.deepEqual(t.shape, b[i].shape, `${what}: output ${i} shape`);
    assert.deepEqual(bits(t), bits(b[i]), `${what}: output ${i} bits`);
  });
}

function assertClose(got: unknown, want: unknown, tol: number, what: string): void {
  const a = tensorsOf(got);
  const b = tensorsOf(want);
  a.forEach((t, i) => {
    const d = Array.from(t.data).map((v, k) => Math.abs(v - b[i].data[k]) / Math.max(1, Math.abs(b[i].data[k])));
    assert.ok(Math.max(0, ...d) <= tol, `${what}: output ${i} differs by ${Math.max(...d)}`);
  });
}

/** Three calls (capture, checked replay, replay) on fresh inputs; the last compared with eager. */
function checkJit(name: string, f: Fn, inputs: () => mg.Tensor[], tol = 1e-5): void {
  it(name, () => {
    const jf = mg.jit(f);
    const first = inputs();
    assertSameBits(jf(...first), asReplayed(() => f(...first)), `${name} (capture)`);
    jf(...inputs());
    const args = inputs();
    const got = jf(...args);
    assertSameBits(got, asReplayed(() => f(...args)), name);
    assertClose(got, f(...args), tol, `${name} vs default eager`);
    const info = jf.cacheInfo();
    assert.equal(info.captures, 1);
    assert.equal(info.replays, 2);
  });
}

const gen = new mg.Generator().manualSeed(7);
const rn = (...shape: number[]): mg.Tensor => mg.randn(shape, { generator: gen, dtype: 'float64' });
const rn32 = (...shape: number[]): mg.Tensor => mg.randn(shape, { generator: gen });

describe('mg.jit: replays equal eager bit for bit', () => {
  describe('ops', () => {
    checkJit('unary chain', (x) => mg.softplus(mg.exp(mg.tanh(x)).mul(mg.sigmoid(x))).sqrt().log(), () => [rn32(5, 7)]);
    checkJit('binary with broadcasting and scalars', (x, y) => x.add(y).mul(2).sub(x.div(y.abs().add(1))).pow(2).maximum(y), () => [rn(3, 1, 4), rn(5, 4)]);
    checkJit('reductions', (x) => [mg.sum(x, 1), mg.mean(x), (mg.max(x, 0) as mg.ValuesIndices).values, (mg.min(x, 1, true) as mg.ValuesIndices).indices, mg.logsumexp(x, 1)], () => [rn(6, 9)]);
    checkJit('conv2d, batch norm, max and average pooling (native im2col/col2im)', (x, w, b) => {
      const F = mg.nn.functional;
      const h = F.maxPool2d(F.relu(F.batchNorm(F.conv2d(x, w, b, { padding: 1, stride: [1, 2] }), null, null, { training: true })), 2);
      return [h, F.avgPool2d(F.conv2d(x, w, null, { dilation: 2, padding: 'same' }), 3, { stride: 2, padding: 1 })];
    }, () => [rn32(3, 2, 12, 12), rn32(4, 2, 3, 3), rn32(4)]);
    checkJit('conv2d: loss and gradients', (x, w) => {
      const loss = mg.nn.functional.conv2d(x, w, null, { padding: 1 }).tanh().square().sum();
      return mg.autograd.grad(loss, [x, w], { createGraph: false }) as mg.Tensor[];
    }, () => [rn32(2, 3, 9, 9).requiresGrad_(true), rn32(5, 3, 3, 3).requiresGrad_(true)]);
    checkJit('matmul (batched, broadcast) and softmax', (a, b) => [mg.softmax(mg.matmul(a, b), -1), mg.logSoftmax(mg.matmul(a, b), 1)], () => [rn32(2, 30, 20), rn32(20, 40)]);
    checkJit('shape and indexing ops', (x, y) => [
      mg.permute(x, [2, 0, 1]), mg.transpose(x, 0, 1).reshape([-1]), mg.narrow(x, 1, 1, 2), mg.select(x, 2, 0),
      mg.cat([x, x], 1), mg.stack([y, y.neg()], 0), mg.indexSelect(x, 1, [2, 0, 0]), mg.expand(y, [3, 4, 5]),
    ], () => [rn(4, 3, 5), rn(4, 5)]);
    checkJit('where, clamp, casts, clone', (x, y) => [mg.where(x.gt(0), x, y), mg.clamp(x, -0.5, 0.5), mg.to(x, 'float32').mul(3), mg.clone(y).add(1)], () => [rn(4, 6), rn(4, 6)]);
  });

  describe('every elementwise op (the op file is the list), with its gradient', () => {
    // Values in (0.5, 2) keep log, sqrt, pow and reciprocal finite.
    const pos = (...shape: number[]): mg.Tensor => mg.add(mg.mul(mg.rand(shape, { generator: gen, dtype: 'float64' }), 1.5), 0.5);
    for (const [name, op] of Object.entries(el)) {
      if (typeof op !== 'function') continue;
      const call = (x: mg.Tensor, y: mg.Tensor): mg.Tensor => {
        if (name === 'where') return el.where(x.gt(1), x, y);
        if (name === 'clamp') return el.clamp(x, 0.8, 1.5);
        return (op as (...a: mg.Tensor[]) => mg.Tensor).length >= 2 ? (op as (a: mg.Tensor, b: mg.Tensor) => mg.Tensor)(x, y) : (op as (a: mg.Tensor) => mg.Tensor)(x);
      };
      checkJit(name, (x, y) => {
        const out = call(x, y);
        if (!out.requiresGrad) return [out]; // comparisons, sign, step: constants
        const [gx] = mg.autograd.grad(mg.sum(mg.mul(call(x, y), out.detach())), [x], { allowUnused: true, materializeGrads: true });
        return [out, gx];
      }, () => [pos(3, 4).requiresGrad_(true), pos(4)]);
    }
  });

  describe('autograd and transforms', () => {
    const mlp = (x: mg.Tensor, w1: mg.Tensor, w2: mg.Tensor): mg.Tensor => mg.tanh(mg.matmul(x, w1)).matmul(w2).square().mean();
    checkJit('valueAndGrad of an MLP loss', (x, w1, w2) => mg.func.valueAndGrad((a: mg.Tensor, b: mg.Tensor) => mlp(x, a, b), { argnums: [0, 1] })(w1, w2), () => [rn32(32, 8), rn32(8, 16), rn32(16, 1)]);
    checkJit('hvp (second order)', (x, w, v) => mg.func.hvp((a: mg.Tensor) => mlp(x, a.reshape([8, 4]).narrow(1, 0, 4), mg.ones([4, 1], { dtype: 'float64' })), [w], [v]), () => [rn(16, 8), rn(32), rn(32)]);
    checkJit('jacrev', (x) => mg.func.jacrev((a: mg.Tensor) => mg.sin(a).mul(a.sum()))(x), () => [rn(5)]);
    checkJit('jacfwd and hessian', (x) => [mg.func.jacfwd((a: mg.Tensor) => mg.tanh(a).mul(a.sum()))(x), mg.func.hessian((a: mg.Tensor) => mg.sin(a).mul(a).sum())(x)], () => [rn(4)]);
    checkJit('grad, jvp and vjp', (x, t, c) => {
      const f = (a: mg.Tensor): mg.Tensor => mg.exp(mg.sin(a)).mul(a);
      const [, jv] = mg.func.jvp(f, [x], [t]);
      const [, pull] = mg.func.vjp(f, x);
      return [mg.func.grad((a: mg.Tensor) => f(a).sum())(x), jv, pull(c)];
    }, () => [rn(6), rn(6), rn(6)]);
    // (Built outside: constructing it inside would draw its initialisation from the default generator, which jit refuses.)
    const net = new mg.nn.Sequential(new mg.nn.Linear(3, 5), new mg.nn.Tanh(), new mg.nn.Linear(5, 4));
    checkJit('nn modules and losses: Sequential forward (captured parameters), mseLoss and crossEntropy with class targets', (x) => {
      const logits = net.forward(x);
      return [mg.nn.functional.crossEntropy(logits, mg.tensor([0, 3, 1, 2, 2, 0, 1])), mg.nn.functional.mseLoss(logits, mg.zerosLike(logits)),
        ...mg.autograd.grad(mg.nn.functional.crossEntropy(logits, mg.tensor([0, 3, 1, 2, 2, 0, 1])), net.parameters())];
    }, () => [rn32(7, 3)]);
    checkJit('vmap(grad): per-example gradients', (x, y, w) =>
      mg.func.vmap((xi: mg.Tensor, yi: mg.Tensor) => mg.func.grad((ww: mg.Tensor) => mg.matmul(xi, ww).sub(yi).square().sum())(w), { inDims: [0, 0] })(x, y),
    () => [rn(10, 3), rn(10), rn(3)]);
    checkJit('backward() into .grad of a fresh leaf', (x) => {
      const w = x.detach().clone().requiresGrad_(true);
      mg.sin(w).mul(w).sum().backward();
      return w.grad as mg.Tensor;
    }, () => [rn(7)]);
  });

  it('an optimizer step updates its arguments in place, as eager does', () => {
    const step = (p: mg.Tensor, g: mg.Tensor, m: mg.Tensor): mg.Tensor[] => {
      mg.noGrad(() => {
        m.mul_(0.9).add_(g);
        p.sub_(m, 0.1);
      });
      return [p, m];
    };
    const js = mg.jit(step);
    const make = (): mg.Tensor[] => [mg.tensor([1, 2, 3], { dtype: 'float64' }), mg.tensor([0.5, -1, 2], { dtype: 'float64' }), mg.zeros([3], { dtype: 'float64' })];
    const a = make();
    const b = make();
    for (let i = 0; i < 4; i++) {
      const [p, m] = js(a[0], a[1], a[2]);
      assert.equal(p, a[0], 'returns its argument itself');
      assert.equal(m, a[2]);
      asReplayed(() => step(b[0], b[1], b[2]));
      assertSameBits(a, b, `step ${i}`);
    }
    assert.equal(js.cacheInfo().replays, 3);
  });

  it('an object-oriented optimizer loop (zeroGrad, backward, SGD with momentum) on captured parameters replays its in-place updates and .grad', () => {
    const make = (): { w: mg.Tensor; opt: mg.SGD } => {
      const w = mg.tensor([0.5, -1, 2], { dtype: 'float64', requiresGrad: true });
      return { w, opt: new mg.SGD([w], { lr: 0.1, momentum: 0.9 }) };
    };
    const a = make();
    const b = make();
    const stepOf = (m: { w: mg.Tensor; opt: mg.SGD }) => (x: mg.Tensor): mg.Tensor => {
      m.opt.zeroGrad();
      const loss = mg.sin(m.w.mul(x)).sum();
      loss.backward();
      m.opt.step();
      return loss.detach();
    };
    const eager = stepOf(b);
    // The first step takes momentum's initial branch (a JavaScript count): eager on both, then jit.
    const x0 = rn(3);
    asReplayed(() => stepOf(a)(x0));
    asReplayed(() => eager(x0));
    const js = mg.jit(stepOf(a));
    for (let i = 0; i < 5; i++) {
      const x = rn(3);
      assertSameBits(js(x), asReplayed(() => eager(x)), `loss ${i}`);
      assertSameBits(a.w, b.w, `parameters after step ${i}`);
      assertSameBits(a.w.grad, b.w.grad, `.grad after step ${i}`);
    }
    assert.equal(js.cacheInfo().replays, 4);
  });

  it('JavaScript state that changes between calls (Adam\'s step count) is caught by the checked first replay', () => {
    const w = mg.tensor([0.5, -1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new mg.Adam([w], { lr: 0.1 });
    const step = mg.jit((x: mg.Tensor) => {
      opt.zeroGrad();
      mg.sin(w.mul(x)).sum().backward();
      opt.step();
      return w.detach().clone();
    });
    step(rn(3));
    assert.throws(() => step(rn(3)), (e: Error) => e instanceof mg.TraceError && /keeps state in JavaScript/.test(e.message));
  });

  it("TorchOpt's tutorial meta-gradient (customRoot, 100 SGD steps, 5 normal-CG iterations) replays the notebook's numbers", () => {
    const { x, y, fmodel, meta, solver } = tutorialProblem('float32');
    const metaGrad = (m: mg.Tensor[], xx: mg.Tensor, yy: mg.Tensor): mg.Tensor[] => mg.autograd.grad(fmodel(solver(clone(m), m, xx, yy), xx).mean(), m);
    const jg = mg.jit(metaGrad);
    jg(meta, x, y);
    jg(meta, x, y);
    const got = jg(meta, x, y);
    assertSameBits(got, asReplayed(() => metaGrad(meta, x, y)), 'meta-gradient');
    assertClose(got, metaGrad(meta, x, y), 1e-5, 'meta-gradient vs default eager');
    const expected = [-0.0369, 0.0248, 0.0347, 0.0067, 0.3156];
    got.flatMap((g) => Array.from(g.data)).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 6e-5, `entry ${i}: ${v}`));
    // New data of the same shapes: the replay follows it (nothing was baked in).
    const x2 = x.mul(1.5);
    assertClose(jg(meta, x2, y), metaGrad(meta, x2, y), 1e-5, 'meta-gradient on new data');
    assert.equal(jg.cacheInfo().captures, 1);
    // Every replay reports its own backward solve (delivered from hidden outputs).
    const x3 = x.mul(0.7);
    asReplayed(() => metaGrad(meta, x3, y));
    const want = mg.diff.implicit.lastSolveInfo();
    jg(meta, x, y);
    const other = mg.diff.implicit.lastSolveInfo();
    jg(meta, x3, y);
    const got3 = mg.diff.implicit.lastSolveInfo();
    assert.ok(want && got3 && other);
    assert.equal(got3.iterations, 5);
    assert.equal(got3.residualNorm, want.residualNorm);
    assert.equal(got3.rootResidual, want.rootResidual);
    assert.notEqual(other.residualNorm, got3.residualNorm);
  });

  it('cg with a tolerance replays its fixed form: all maxiter iterations, converged members frozen, equal to eager', () => {
    const A = mg.tensor([[4, 1, 0], [1, 3, 1], [0, 1, 2]], { dtype: 'float64' });
    const solve = (b: mg.Tensor): mg.Tensor => mg.linalg.cg((v: mg.Tensor) => mg.matmul(A, v), b, { rtol: 1e-10, maxiter: 30 });
    const js = mg.jit(solve);
    for (const b of [mg.tensor([1, 2, 3], { dtype: 'float64' }), mg.tensor([-1, 0.5, 2], { dtype: 'float64' }), mg.tensor([3, 3, -3], { dtype: 'float64' })]) {
      const x = js(b);
      assertClose(x, solve(b), 1e-12, 'cg');
      assertClose(mg.matmul(A, x), b, 1e-9, 'residual');
    }
    // Breakdown on an indefinite operator is reported at replay.
    const I = mg.tensor([[1, 0], [0, -1]], { dtype: 'float64' });
    const jb = mg.jit((b: mg.Tensor) => mg.linalg.cg((v: mg.Tensor) => mg.matmul(I, v), b, { rtol: 0, maxiter: 2 }));
    assert.throws(() => jb(mg.tensor([1, 1], { dtype: 'float64' })), mg.NumericalError);
  });

  it('caches one recording per signature (LRU) and reads captured tensors live', () => {
    const w = mg.tensor([1, 2], { dtype: 'float64' });
    const jf = mg.jit((x: mg.Tensor) => x.mul(w).sum(), { cacheSize: 2 });
    jf(mg.ones([2], { dtype: 'float64' }));
    jf(mg.ones([3, 2], { dtype: 'float64' }));
    mg.noGrad(() => w.mul_(10)); // an in-place change of a captured tensor: seen by the next replay
    assert.equal(jf(mg.ones([2], { dtype: 'float64' })).item(), 30);
    jf(mg.ones([4, 2], { dtype: 'float64' })); // evicts [3, 2]
    assert.equal(jf.cacheInfo().signatures, 2);
    assert.equal(jf(mg.ones([3, 2], { dtype: 'float64' })).item(), 90);
    assert.equal(jf.cacheInfo().captures, 4);
  });

  it('grad mode and the default dtype are part of the signature', () => {
    const jf = mg.jit((x: mg.Tensor) => x.mul(mg.tensor(0.1)));
    const x = mg.tensor([1, 2], { dtype: 'float64' });
    jf(x);
    mg.noGrad(() => jf(x));
    mg.setDefaultDtype('float64');
    try {
      // A float64 literal now: 0.1 exactly as a double, as eager computes it.
      assertSameBits(jf(x), x.mul(mg.tensor(0.1)), 'float64 literal');
    } finally {
      mg.setDefaultDtype('float32');
    }
    assert.equal(jf.cacheInfo().captures, 3);
  });

  it('static arguments key the cache by value', () => {
    const jf = mg.jit((x: mg.Tensor, k: number) => x.mul(k), { staticArgnums: [1] });
    const x = mg.tensor([1, 2], { dtype: 'float64' });
    assert.deepEqual(jf(x, 2).tolist(), [2, 4]);
    assert.deepEqual(jf(x, 3).tolist(), [3, 6]);
    assert.deepEqual(jf(x, 3).tolist(), [3, 6]);
    assert.equal(jf.cacheInfo().captures, 2);
  });

  it('vmap(jit(f)) equals vmap(f): the mapped level becomes an explicit dimension of jit(vmap(f)), nested vmaps and unmapped arguments too', () => {
    const f = (x: mg.Tensor, w: mg.Tensor[]): mg.Tensor => mg.tanh(mg.matmul(x, w[0])).add(w[1]).sum();
    const jf = mg.jit(f);
    const w = [rn(3, 2), rn(2)];
    for (let i = 0; i < 3; i++) {
      const xs = rn(4, 5, 3);
      assertClose(mg.func.vmap(jf, { inDims: [0, null] })(xs, w), mg.func.vmap(f, { inDims: [0, null] })(xs, w), 1e-12, 'vmap');
      const xss = rn(2, 4, 5, 3);
      const nested = (g: typeof f) => mg.func.vmap(mg.func.vmap(g, { inDims: [0, null] }), { inDims: [0, null] })(xss, w);
      assertClose(nested(jf), nested(f), 1e-12, 'nested vmap');
    }
    // Mapped over a leaf of a tree argument, the other arguments shared.
    const x = rn(5, 3);
    const ws = rn(4, 3, 2);
    const got = mg.func.vmap(jf, { inDims: [null, [0, null]] })(x, [ws, w[1]]);
    assert.deepEqual(got.shape, [4]);
    assertClose(got, mg.func.vmap(f, { inDims: [null, [0, null]] })(x, [ws, w[1]]), 1e-12, 'tree inDims');
  });

  it('a generator passed as an argument replays its draws (and advances it)', () => {
    const f = (x: mg.Tensor, g: mg.Generator): mg.Tensor => x.add(mg.randn([3], { generator: g, dtype: 'float64' }));
    const jf = mg.jit(f);
    const g1 = new mg.Generator().manualSeed(3);
    const g2 = new mg.Generator().manualSeed(3);
    const x = mg.zeros([3], { dtype: 'float64' });
    for (let i = 0; i < 3; i++) assertSameBits(jf(x, g1), f(x, g2), `draw ${i}`);
  });
});

describe('mg.jit: refusals', () => {
  const x = (): mg.Tensor => mg.tensor([1, -2, 3], { dtype: 'float64' });
  it('item() of a traced value', () => {
    const jf = mg.jit((t: mg.Tensor) => t.mul(t.sum().item()));
    assert.throws(() => jf(x()), (e: Error) => e instanceof mg.TraceError && /item reads a value computed inside the traced function/.test(e.message));
  });
  it('a loop bound read from a traced value', () => {
    const jf = mg.jit((t: mg.Tensor) => {
      let s = t;
      while (s.abs().sum().item() > 1) s = s.mul(0.5);
      return s;
    });
    assert.throws(() => jf(x()), mg.TraceError);
  });
  it('a random draw from a generator that is not an argument', () => {
    const jf = mg.jit((t: mg.Tensor) => t.add(mg.randn([3], { dtype: 'float64' })));
    assert.throws(() => jf(x()), (e: Error) => e instanceof mg.TraceError && /pass the generator/.test(e.message));
  });
  it('JavaScript writes into tensor data while tracing', () => {
    const jf = mg.jit((t: mg.Tensor) => {
      const u = t.mul(2);
      u.data[0] = 5;
      return u.add(1);
    });
    assert.throws(() => jf(x()), (e: Error) => e instanceof mg.TraceError && /written outside a recorded kernel/.test(e.message));
  });
  it('a direct read of .data that changes the computation is caught by the checked first replay', () => {
    const jf = mg.jit((t: mg.Tensor) => t.mul(t.data[0]));
    jf(x());
    assert.throws(() => jf(mg.tensor([4, 5, 6], { dtype: 'float64' })), (e: Error) => e instanceof mg.TraceError && /differs from an eager call/.test(e.message));
  });
  it('a captured tensor read on the host and then changed', () => {
    const lr = mg.tensor([0.5], { dtype: 'float64' });
    const jf = mg.jit((t: mg.Tensor) => t.mul(lr.item()));
    jf(x());
    jf(x());
    lr.data[0] = 0.25;
    assert.throws(() => jf(x()), (e: Error) => e instanceof mg.TraceError && /has changed since/.test(e.message));
  });
  it("customRoot's root check runs at every replay (checkRoot: 'raise')", () => {
    const F = (x: mg.Tensor, t: mg.Tensor): mg.Tensor => x.sub(t);
    // A root for θ <= 1 only.
    const solver = mg.diff.implicit.customRoot(F, { argnums: 1 })((_x: mg.Tensor, t: mg.Tensor) => mg.where(t.gt(1), t.add(1), t));
    const g = mg.jit((t: mg.Tensor) => mg.autograd.grad(solver(mg.zerosLike(t), t).sum(), t)[0]);
    const th = (v: number): mg.Tensor => mg.tensor([v], { dtype: 'float64', requiresGrad: true });
    assert.deepEqual(g(th(0.5)).tolist(), [1]);
    assert.deepEqual(g(th(0.7)).tolist(), [1]);
    assert.deepEqual(g(th(0.2)).tolist(), [1]);
    assert.throws(() => g(th(3)), (e: Error) => e instanceof mg.NumericalError && /not a root of the optimality function/.test(e.message));
  });
  it('a failed check at replay raises a NumericalError', () => {
    const jf = mg.jit((a: mg.Tensor, b: mg.Tensor) => mg.linalg.solve(a, b));
    const eye = mg.eye(2, { dtype: 'float64' });
    const b = mg.tensor([1, 2], { dtype: 'float64' });
    jf(eye, b);
    jf(eye, b);
    assert.throws(() => jf(mg.zeros([2, 2], { dtype: 'float64' }), b), mg.NumericalError);
    assert.throws(() => jf(mg.tensor([[1, Number.NaN], [0, 1]], { dtype: 'float64' }), b), mg.NumericalError);
  });
  it('bad arguments', () => {
    assert.throws(() => mg.jit(3 as unknown as () => void), /jit: argument 'fn' must be a function/);
    assert.throws(() => mg.jit(() => 1, { cacheSize: 0 }), /cacheSize/);
  });
});
