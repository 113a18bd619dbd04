/**
 * Optimizers: the first steps of every functional optimizer and every class, with each option,
 * against independent float64 arithmetic written out below in PyTorch's form (torch/optim/*.py);
 * functional and object-oriented runs give bit-identical parameters; unrolled (meta) steps give the
 * closed-form derivatives; chain, applyUpdates, schedules and error messages.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import * as opt from '../ts/optim/index';
import { assertClose } from './helpers/check';

// ---------------------------------------------------------------------------------------------
// The problem: params [w (3 entries), b (a scalar)], loss = Σ k·(w − c)² + b³.
// Gradient entries: 2·k_i·(w_i − c_i) for w, 3·b² for b.
const K = [1, 0.5, 2];
const C = [0.5, -1, 0.25];
const W0 = [1, -2, 0.5];
const B0 = 0.3;

const f64 = (x: number | number[], requiresGrad = false): mg.Tensor => mg.tensor(x, { dtype: 'float64', requiresGrad });

function makeParams(): mg.Tensor[] {
  return [f64(W0, true), f64(B0, true)];
}

function loss(w: mg.Tensor, b: mg.Tensor): mg.Tensor {
  return w.sub(f64(C)).square().mul(f64(K)).sum().add(b.pow(3));
}

/** Gradient of entry i (0..2 of w, 3 for b) at value x. */
function refGrad(i: number, x: number): number {
  return i < 3 ? 2 * K[i] * (x - C[i]) : 3 * x * x;
}

/** A scalar optimizer written out in PyTorch's form: one call per entry and step (t from 1). */
type RefStep = (x: number, g: number, st: Record<string, number>, t: number) => number;

/** Parameter values (4 numbers) after each of `steps` reference steps. */
function reference(step: RefStep, steps = 3): number[][] {
  const xs = [...W0, B0];
  const states = xs.map(() => ({}) as Record<string, number>);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < xs.length; i++) xs[i] = step(xs[i], refGrad(i, xs[i]), states[i], t);
    out.push(xs.slice());
  }
  return out;
}

const values = (ps: mg.Tensor[]): number[] => ps.flatMap((p) => Array.from(p.data));

/** The TorchOpt tutorial loop: grads from autograd.grad, update in place, applyUpdates in place. */
function runFunctional(t: opt.GradientTransformation, steps = 3): number[][] {
  let params = makeParams();
  let state = t.init(params);
  const out: number[][] = [];
  mg.enableGrad(() => {
    for (let s = 0; s < steps; s++) {
      const grads = mg.autograd.grad(loss(params[0], params[1]), params);
      let updates;
      [updates, state] = t.update(grads, state, { params, inplace: true });
      params = opt.applyUpdates(params, updates, { inplace: true });
      out.push(values(params));
    }
  });
  return out;
}

/** The same problem with a class: backward, step, zeroGrad. */
function runClass(make: (ps: mg.Tensor[]) => opt.Optimizer<object>, steps = 3): number[][] {
  const params = makeParams();
  const o = make(params);
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    o.zeroGrad();
    loss(params[0], params[1]).backward();
    o.step();
    out.push(values(params));
  }
  return out;
}

function checkSteps(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, s) => assertClose(a, expected[s], 1e-13, 1e-12, `${what}, step ${s + 1}`));
}

// ---------------------------------------------------------------------------------------------
// Reference rules (PyTorch's single-tensor code paths, written per scalar entry).

interface SgdRef { lr: number | ((count: number) => number); momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; maximize?: boolean }
function sgdRef(o: SgdRef): RefStep {
  const { momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = o;
  return (x, g, st, t) => {
    const lr = typeof o.lr === 'function' ? o.lr(t - 1) : o.lr;
    let d = maximize ? -g : g;
    d = d + weightDecay * x;
    if (momentum !== 0) {
      st.buf = t === 1 ? d : momentum * st.buf + (1 - dampening) * d;
      d = nesterov ? d + momentum * st.buf : st.buf;
    }
    return x - lr * d;
  };
}

interface AdamRef { lr: number | ((count: number) => number); b1?: number; b2?: number; eps?: number; weightDecay?: number; decoupled?: boolean; epsRoot?: number; maximize?: boolean }
function adamRef(o: AdamRef): RefStep {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0, decoupled = false, epsRoot = 0, maximize = false } = o;
  return (x, g, st, t) => {
    const lr = typeof o.lr === 'function' ? o.lr(t - 1) : o.lr;
    if (t === 1) st.m = st.v = 0;
    let d = maximize ? -g : g;
    if (decoupled) x = x * (1 - lr * weightDecay); // AdamW
    else d = d + weightDecay * x; // Adam's L2
    st.m = b1 * st.m + (1 - b1) * d;
    st.v = b2 * st.v + (1 - b2) * d * d;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    if (epsRoot !== 0) return x - (lr * (st.m / bc1)) / (Math.sqrt(st.v / bc2 + epsRoot) + eps); // TorchOpt's eps_root form
    const denom = Math.sqrt(st.v) / Math.sqrt(bc2) + eps;
    return x - (lr / bc1) * (st.m / denom);
  };
}

interface RmsRef { lr: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean; nesterov?: boolean; maximize?: boolean; initialScale?: number }
function rmspropRef(o: RmsRef): RefStep {
  const { lr, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false, nesterov = false, maximize = false, initialScale = 0 } = o;
  return (x, g, st, t) => {
    if (t === 1) {
      st.sq = initialScale;
      st.ga = 0;
      st.buf = 0;
    }
    let d = maximize ? -g : g;
    d = d + weightDecay * x;
    st.sq = alpha * st.sq + (1 - alpha) * d * d;
    let avg: number;
    if (centered) {
      st.ga = alpha * st.ga + (1 - alpha) * d;
      avg = Math.sqrt(st.sq - st.ga * st.ga) + eps;
    } else avg = Math.sqrt(st.sq) + eps;
    if (momentum > 0) {
      st.buf = momentum * st.buf + d / avg;
      // TorchOpt's Nesterov variant (PyTorch's RMSprop has none): d/avg + momentum·buf.
      return x - lr * (nesterov ? d / avg + momentum * st.buf : st.buf);
    }
    return x - (lr * d) / avg;
  };
}

interface AdagradRef { lr: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number; maximize?: boolean }
function adagradRef(o: AdagradRef): RefStep {
  const { lr, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, maximize = false } = o;
  return (x, g, st, t) => {
    if (t === 1) st.sum = initialAccumulatorValue;
    let d = maximize ? -g : g;
    d = d + weightDecay * x;
    const clr = lr / (1 + (t - 1) * lrDecay);
    st.sum = st.sum + d * d;
    const std = Math.sqrt(st.sum) + eps;
    return x - clr * (d / std);
  };
}

// ---------------------------------------------------------------------------------------------

describe('optim: hand-written first steps', () => {
  it('sgd: first step written out by hand', () => {
    // w0 = 1, g = 2·1·(1 − 0.5) = 1, lr 0.1 → 0.9; b0 = 0.3, g = 3·0.09 = 0.27 → 0.273.
    const [first] = runFunctional(opt.sgd({ lr: 0.1 }), 1);
    assertClose(first[0], 0.9, 1e-15, 0);
    assertClose(first[3], 0.3 - 0.1 * 0.27, 1e-15, 0);
  });

  it('sgd with momentum: buffer starts at the gradient, then μ·buf + g', () => {
    // entry w0: x1 = 1 − 0.1·1 = 0.9; g1 = 2·(0.9 − 0.5) = 0.8; buf = 0.9·1 + 0.8 = 1.7; x2 = 0.9 − 0.17 = 0.73.
    const steps = runFunctional(opt.sgd({ lr: 0.1, momentum: 0.9 }), 2);
    assertClose(steps[1][0], 0.73, 1e-15, 0);
  });

  it('adam: the first step moves every entry by lr·g/(|g| + eps)', () => {
    // m̂ = g and v̂ = g² after one step, so the update is −lr·g/(|g| + eps): ≈ −lr·sign(g).
    const [first] = runFunctional(opt.adam({ lr: 0.01 }), 1);
    const expected = [...W0, B0].map((x, i) => {
      const g = refGrad(i, x);
      return x - (0.01 * g) / (Math.abs(g) + 1e-8);
    });
    assertClose(first, expected, 1e-15, 1e-14);
  });
});

const sgdCases: [string, SgdRef & Record<string, unknown>][] = [
  ['plain', { lr: 0.1 }],
  ['momentum', { lr: 0.1, momentum: 0.9 }],
  ['momentum + dampening', { lr: 0.1, momentum: 0.9, dampening: 0.5 }],
  ['nesterov', { lr: 0.1, momentum: 0.9, nesterov: true }],
  ['weight decay', { lr: 0.1, weightDecay: 0.1 }],
  ['maximize', { lr: 0.1, maximize: true }],
  ['maximize + weight decay + momentum', { lr: 0.05, maximize: true, weightDecay: 0.2, momentum: 0.5 }],
];
const adamCases: [string, AdamRef & Record<string, unknown>][] = [
  ['default betas', { lr: 0.1 }],
  ['betas [0.8, 0.9], eps 1e-3', { lr: 0.1, betas: [0.8, 0.9], b1: 0.8, b2: 0.9, eps: 1e-3 }],
  ['weight decay (L2 in the gradient)', { lr: 0.1, weightDecay: 0.3 }],
  ['maximize', { lr: 0.1, maximize: true }],
  ['epsRoot', { lr: 0.1, epsRoot: 1e-3 }],
];
const rmsCases: [string, RmsRef][] = [
  ['plain', { lr: 0.01 }],
  ['alpha 0.9, eps 1e-4', { lr: 0.01, alpha: 0.9, eps: 1e-4 }],
  ['centered', { lr: 0.01, centered: true }],
  ['momentum', { lr: 0.01, momentum: 0.9 }],
  ['centered + momentum + weight decay', { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.1 }],
  ['nesterov (TorchOpt)', { lr: 0.01, momentum: 0.9, nesterov: true }],
  ['maximize, initialScale 1', { lr: 0.01, maximize: true, initialScale: 1 }],
];
const adagradCases: [string, AdagradRef][] = [
  ['plain', { lr: 0.1 }],
  ['lrDecay', { lr: 0.1, lrDecay: 0.5 }],
  ['weight decay', { lr: 0.1, weightDecay: 0.2 }],
  ['initialAccumulatorValue, eps', { lr: 0.1, initialAccumulatorValue: 0.5, eps: 1e-3 }],
  ['maximize', { lr: 0.1, maximize: true }],
];

function without<T extends object>(o: T, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

describe('optim: three steps against PyTorch arithmetic, functional and class', () => {
  for (const [name, o] of sgdCases) {
    it(`SGD ${name}`, () => {
      const ref = reference(sgdRef(o));
      const fun = runFunctional(opt.sgd(o as opt.SGDOptions));
      checkSteps(fun, ref, `sgd ${name}`);
      assert.deepEqual(runClass((ps) => new opt.SGD(ps, o as opt.SGDGroupOptions)), fun, 'class and functional differ');
    });
  }
  for (const [name, o] of adamCases) {
    it(`Adam ${name}`, () => {
      const opts = without(o, 'b1', 'b2');
      const fun = runFunctional(opt.adam(opts));
      checkSteps(fun, reference(adamRef(o)), `adam ${name}`);
      assert.deepEqual(runClass((ps) => new opt.Adam(ps, opts)), fun, 'class and functional differ');
    });
  }
  it('AdamW: decoupled decay p·(1 − lr·wd) then the Adam step', () => {
    const fun = runFunctional(opt.adamw({ lr: 0.1, weightDecay: 0.2 }));
    checkSteps(fun, reference(adamRef({ lr: 0.1, weightDecay: 0.2, decoupled: true })), 'adamw');
    assert.deepEqual(runClass((ps) => new opt.AdamW(ps, { lr: 0.1, weightDecay: 0.2 })), fun);
  });
  it('AdamW default weight decay is 1e-2, and maximize', () => {
    const fun = runFunctional(opt.adamw({ lr: 0.1, maximize: true }));
    checkSteps(fun, reference(adamRef({ lr: 0.1, weightDecay: 1e-2, decoupled: true, maximize: true })), 'adamw');
    assert.deepEqual(runClass((ps) => new opt.AdamW(ps, { lr: 0.1, maximize: true })), fun);
  });
  it('AdamW mask: no decay where the mask is false (a tree or a function)', () => {
    const decayW = reference(adamRef({ lr: 0.1, weightDecay: 0.2, decoupled: true }));
    const plain = reference(adamRef({ lr: 0.1 }));
    const expected = decayW.map((s, k) => [...s.slice(0, 3), plain[k][3]]);
    checkSteps(runFunctional(opt.adamw({ lr: 0.1, weightDecay: 0.2, mask: [true, false] })), expected, 'mask tree');
    const byRank = (ps: unknown): unknown => (ps as mg.Tensor[]).map((p) => p.ndim > 0);
    checkSteps(runFunctional(opt.adamw({ lr: 0.1, weightDecay: 0.2, mask: byRank })), expected, 'mask function');
  });
  for (const [name, o] of rmsCases) {
    it(`RMSProp ${name}`, () => {
      const fun = runFunctional(opt.rmsprop(o));
      checkSteps(fun, reference(rmspropRef(o)), `rmsprop ${name}`);
      assert.deepEqual(runClass((ps) => new opt.RMSProp(ps, o)), fun, 'class and functional differ');
    });
  }
  for (const [name, o] of adagradCases) {
    it(`AdaGrad ${name}`, () => {
      const fun = runFunctional(opt.adagrad(o));
      checkSteps(fun, reference(adagradRef(o)), `adagrad ${name}`);
      assert.deepEqual(runClass((ps) => new opt.AdaGrad(ps, o)), fun, 'class and functional differ');
    });
  }
  it('float32 parameters stay float32 and follow the float64 steps closely', () => {
    const params = [mg.tensor(W0, { dtype: 'float32', requiresGrad: true })];
    const o = new opt.Adam(params, { lr: 0.1 });
    for (let s = 0; s < 3; s++) {
      o.zeroGrad();
      params[0].sub(mg.tensor(C, { dtype: 'float32' })).square().mul(mg.tensor(K, { dtype: 'float32' })).sum().backward();
      o.step();
    }
    assert.equal(params[0].dtype, 'float32');
    assertClose(params[0], reference(adamRef({ lr: 0.1 }))[2].slice(0, 3), 1e-6, 1e-5);
  });
});

describe('optim: schedules', () => {
  it('exponentialDecay: init·rate^(count/steps), begin, staircase, end value', () => {
    const s = opt.schedule.exponentialDecay({ initValue: 0.1, decayRate: 0.5, transitionSteps: 2 });
    assertClose([0, 1, 2, 3].map(s), [0.1, 0.1 * 0.5 ** 0.5, 0.05, 0.1 * 0.5 ** 1.5], 1e-17, 1e-15);
    const st = opt.schedule.exponentialDecay({ initValue: 1, decayRate: 0.5, transitionSteps: 2, staircase: true, transitionBegin: 1 });
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(st), [1, 1, 1, 0.5, 0.5, 0.25]);
    const floor = opt.schedule.exponentialDecay({ initValue: 1, decayRate: 0.1, endValue: 0.05 });
    assertClose([0, 1, 2].map(floor), [1, 0.1, 0.05], 1e-16, 1e-15);
    const ceiling = opt.schedule.exponentialDecay({ initValue: 1, decayRate: 2, endValue: 3 });
    assert.deepEqual([0, 1, 2].map(ceiling), [1, 2, 3]);
    assert.deepEqual([0, 5].map(opt.schedule.exponentialDecay({ initValue: 1, decayRate: 0.5, transitionSteps: 0 })), [1, 1]);
  });
  it('polynomial and linear: (init − end)·(1 − c/steps)^power + end', () => {
    const p = opt.schedule.polynomial({ initValue: 1, endValue: 0.1, power: 2, transitionSteps: 4, transitionBegin: 1 });
    assertClose([0, 1, 2, 3, 5, 9].map(p), [1, 1, 0.9 * 0.75 ** 2 + 0.1, 0.9 * 0.25 + 0.1, 0.1, 0.1], 1e-16, 1e-15);
    const l = opt.schedule.linear({ initValue: 0.1, endValue: 0.02, transitionSteps: 4 });
    assertClose([0, 1, 2, 4, 6].map(l), [0.1, 0.08, 0.06, 0.02, 0.02], 1e-16, 1e-14);
    assert.equal(opt.schedule.linearSchedule, opt.schedule.linear);
    assert.equal(opt.schedule.polynomialSchedule, opt.schedule.polynomial);
  });
  it('a schedule as lr: step t uses lr(t − 1), functional and class alike', () => {
    const lr = opt.schedule.exponentialDecay({ initValue: 0.1, decayRate: 0.5 });
    const sgdFun = runFunctional(opt.sgd({ lr, momentum: 0.9 }));
    checkSteps(sgdFun, reference(sgdRef({ lr, momentum: 0.9 })), 'sgd schedule');
    assert.deepEqual(runClass((ps) => new opt.SGD(ps, { lr, momentum: 0.9 })), sgdFun);
    const lin = opt.schedule.linear({ initValue: 0.1, endValue: 0.01, transitionSteps: 2 });
    const adamFun = runFunctional(opt.adam({ lr: lin }));
    checkSteps(adamFun, reference(adamRef({ lr: lin })), 'adam schedule');
    assert.deepEqual(runClass((ps) => new opt.Adam(ps, { lr: lin })), adamFun);
    checkSteps(runFunctional(opt.rmsprop({ lr: () => 0.01 })), reference(rmspropRef({ lr: 0.01 })), 'rmsprop schedule');
    checkSteps(runFunctional(opt.adagrad({ lr: () => 0.1, lrDecay: 0.5 })), reference(adagradRef({ lr: 0.1, lrDecay: 0.5 })), 'adagrad schedule');
  });
});

describe('optim: object-oriented specifics', () => {
  it('parameter groups use their own options over the defaults', () => {
    const [w, b] = makeParams();
    const o = new opt.SGD([{ params: [w] }, { params: [b], lr: 0.01, momentum: 0.9 }], { lr: 0.1 });
    const ref1 = sgdRef({ lr: 0.1 });
    const ref2 = sgdRef({ lr: 0.01, momentum: 0.9 });
    const xs = [...W0, B0];
    const sts = xs.map(() => ({}) as Record<string, number>);
    for (let t = 1; t <= 3; t++) {
      o.zeroGrad();
      loss(w, b).backward();
      o.step();
      for (let i = 0; i < 4; i++) xs[i] = (i < 3 ? ref1 : ref2)(xs[i], refGrad(i, xs[i]), sts[i], t);
      assertClose([...w.data, ...b.data], xs, 1e-14, 1e-13, `step ${t}`);
    }
    assert.equal(o.paramGroups[0].lr, 0.1);
    assert.equal(o.paramGroups[1].momentum, 0.9);
  });

  it('parameters with a null grad are skipped; Adam counts steps per parameter', () => {
    const [w, b] = makeParams();
    const o = new opt.Adam([w, b], { lr: 0.1 });
    const ref = adamRef({ lr: 0.1 });
    const xs = [...W0, B0];
    const sts = xs.map(() => ({}) as Record<string, number>);
    const counts = [0, 0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      o.zeroGrad();
      // b gets no gradient on the first step.
      (t === 1 ? w.sub(f64(C)).square().mul(f64(K)).sum() : loss(w, b)).backward();
      o.step();
      for (let i = 0; i < 4; i++) {
        if (i === 3 && t === 1) continue;
        xs[i] = ref(xs[i], refGrad(i, xs[i]), sts[i], ++counts[i]);
      }
      assertClose([...w.data, ...b.data], xs, 1e-14, 1e-13, `step ${t}`);
    }
  });

  it('step leaves .grad unchanged, zeroGrad sets null or zeros', () => {
    const [w, b] = makeParams();
    const o = new opt.SGD({ w, b }, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
    loss(w, b).backward();
    const before = Array.from((w.grad as mg.Tensor).data);
    o.step();
    assert.deepEqual(Array.from((w.grad as mg.Tensor).data), before);
    o.zeroGrad({ setToNone: false });
    assert.deepEqual(Array.from((w.grad as mg.Tensor).data), [0, 0, 0]);
    o.zeroGrad();
    assert.equal(w.grad, null);
    assert.equal(b.grad, null);
  });

  it('step(closure) runs the closure with grad enabled and returns its loss', () => {
    const params = makeParams();
    const o = new opt.SGD(params, { lr: 0.1 });
    const l = mg.noGrad(() =>
      o.step(() => {
        o.zeroGrad();
        const v = loss(params[0], params[1]);
        v.backward();
        return v;
      }),
    );
    assert.ok(l !== undefined);
    assertClose(values(params), reference(sgdRef({ lr: 0.1 }), 1)[0], 1e-15, 1e-14);
  });

  it('lr can be changed between steps; a structure-preserving option change takes effect; others raise', () => {
    const params = makeParams();
    const o = new opt.SGD(params, { lr: 0.1, momentum: 0.9 });
    const lrs = [0.1, 0.05, 0.02];
    const ref = reference(sgdRef({ lr: (c) => lrs[c], momentum: 0.9 }));
    for (let t = 0; t < 3; t++) {
      o.paramGroups[0].lr = lrs[t];
      o.zeroGrad();
      loss(params[0], params[1]).backward();
      o.step();
      assertClose(values(params), ref[t], 1e-14, 1e-13, `step ${t + 1}`);
    }
    // Adam with gradient 1: x₁ = x₀ − 0.1·1/(1 + 1e-8). Then beta1 becomes 0.5 (changed inside the
    // array, which is noticed): m₂ = 0.5·0.1 + 0.5 = 0.55, m̂₂ = 0.55/(1 − 0.5²), v̂₂ = 1.
    const a = new opt.Adam([f64(2, true)], { lr: 0.1 });
    const x = a.paramGroups[0].params[0];
    x.grad = f64(1);
    a.step();
    (a.paramGroups[0].betas as [number, number])[0] = 0.5;
    a.step();
    const x1 = 2 - 0.1 / (1 + 1e-8);
    assertClose(x.item(), x1 - (0.1 * (0.55 / 0.75)) / (1 + 1e-8), 1e-14, 0, 'beta1 change');
    o.paramGroups[0].momentum = 0;
    assert.throws(() => o.step(), (e: Error) => e instanceof RangeError && /momentum.*structure/.test(e.message));
    o.paramGroups[0].lr = -1;
    o.paramGroups[0].momentum = 0.9;
    assert.throws(() => o.step(), (e: Error) => e instanceof RangeError && /SGD: argument 'lr'/.test(e.message));
  });

  it('stateDict / loadStateDict resume bit-identically', () => {
    const pa = makeParams();
    const a = new opt.Adam(pa, { lr: 0.1, weightDecay: 0.1 });
    const stepOf = (o: opt.Optimizer<object>, ps: mg.Tensor[]): void => {
      o.zeroGrad();
      loss(ps[0], ps[1]).backward();
      o.step();
    };
    stepOf(a, pa);
    stepOf(a, pa);
    const pb = pa.map((p) => p.detach().clone().requiresGrad_());
    const b = new opt.Adam(pb, { lr: 0.5 });
    const sd = a.stateDict();
    assert.deepEqual(sd.paramGroups[0].params, [0, 1]);
    b.loadStateDict(sd);
    assert.equal(b.paramGroups[0].lr, 0.1);
    stepOf(a, pa);
    stepOf(b, pb);
    assert.deepEqual(values(pb), values(pa));
    assert.throws(() => b.loadStateDict({ state: [null, null], paramGroups: [{ params: [0] }, { params: [1] }] }), RangeError);
    // A state of another optimizer is refused and leaves b as it was.
    const s = new opt.SGD(makeParams(), { lr: 0.3, momentum: 0.9 });
    for (const p of s.paramGroups[0].params) p.grad = mg.onesLike(p);
    s.step();
    assert.throws(() => b.loadStateDict(s.stateDict()), /Adam: unknown option 'momentum'/);
    const mixed = { state: s.stateDict().state, paramGroups: b.stateDict().paramGroups };
    assert.throws(() => b.loadStateDict(mixed), /Adam.loadStateDict: the state of parameter group 0 does not have the structure/);
    assert.equal(b.paramGroups[0].lr, 0.1);
    // A bad group leaves the optimizer unchanged too.
    assert.throws(() => b.addParamGroup({ params: [f64(1, true)], lr: -1 }), /Adam: argument 'lr'/);
    assert.equal(b.paramGroups.length, 1);
  });

  it('a custom transformation through Optimizer (TorchOpt style)', () => {
    const params = makeParams();
    const o = new opt.Optimizer(params, opt.chain(opt.transform.scaleByAdam(), opt.transform.scale(-0.1)));
    for (let s = 0; s < 3; s++) {
      o.zeroGrad();
      loss(params[0], params[1]).backward();
      o.step();
    }
    assertClose(values(params), reference(adamRef({ lr: 0.1 }))[2], 1e-14, 1e-13);
  });
});

describe('optim: in-place and out-of-place updates', () => {
  it('in place (default) writes into the given updates and the state, as TorchOpt', () => {
    const params = makeParams();
    const t = opt.sgd({ lr: 0.1, momentum: 0.9 });
    const state = t.init(params) as [{ trace: mg.Tensor[] }, unknown];
    const trace0 = state[0].trace[0];
    const grads = [f64([1, 2, 3]), f64(4)];
    const [updates, next] = t.update(grads, state) as [mg.Tensor[], [{ trace: mg.Tensor[] }, unknown]];
    assert.equal(updates[0], grads[0]);
    assert.equal(next[0].trace[0], trace0);
    assert.deepEqual(Array.from(trace0.data), [1, 2, 3]);
    assertClose(updates[0], [-0.1, -0.2, -0.3], 1e-16, 0);
  });

  it('out of place leaves updates and state untouched', () => {
    const t = opt.adam({ lr: 0.1 });
    const params = makeParams();
    const state = t.init(params) as [{ mu: mg.Tensor[] }, unknown];
    const grads = [f64([1, 2, 3]), f64(4)];
    const [updates, next] = t.update(grads, state, { inplace: false }) as [mg.Tensor[], [{ mu: mg.Tensor[] }, unknown]];
    assert.deepEqual(Array.from(grads[0].data), [1, 2, 3]);
    assert.deepEqual(Array.from(state[0].mu[0].data), [0, 0, 0]);
    assert.notEqual(next[0].mu[0], state[0].mu[0]);
    assertClose(updates[0], [-0.1, -0.1, -0.1], 1e-8, 0);
  });

  it('null updates pass through; trees of objects work', () => {
    const [w, b] = makeParams();
    const t = opt.adam({ lr: 0.1 });
    let state = t.init({ w, b });
    let updates: unknown;
    [updates, state] = t.update({ w: f64([1, 1, 1]), b: null }, state, { params: { w, b } });
    const u = updates as { w: mg.Tensor; b: null };
    assert.equal(u.b, null);
    assertClose(u.w, [-0.1, -0.1, -0.1], 1e-8, 0);
    const after = opt.applyUpdates({ w, b }, updates);
    assert.equal(after.b, b);
    assert.equal(b.item(), B0);
  });

  it('applyUpdates: in place keeps the leaves, out of place returns p + u in the graph', () => {
    const params = makeParams();
    const upd = [f64([0.1, 0.2, 0.3]), f64(-0.3)];
    const out = opt.applyUpdates(params, upd);
    assert.equal(out, params);
    assert.ok(params[0].isLeaf && params[0].requiresGrad);
    assertClose(params[0], [1.1, -1.8, 0.8], 1e-15, 0);
    const fresh = makeParams();
    const moved = mg.enableGrad(() => opt.applyUpdates(fresh, upd, { inplace: false }));
    assert.deepEqual(Array.from(fresh[0].data), W0);
    assert.ok(moved[0].gradFn !== null);
    const [g] = mg.autograd.grad(moved[0].sum(), [fresh[0]]);
    assert.deepEqual(Array.from((g as mg.Tensor).data), [1, 1, 1]);
    assert.throws(() => opt.applyUpdates(params, [upd[0]]), /applyUpdates: updates has 1 leaves but params has 2/);
    assert.throws(() => opt.applyUpdates(params, [f64([1, 2]), upd[1]]), /applyUpdates: the update of parameter 0 has shape \[2\]/);
  });

  it('updates of gradients that require grad stay graph-connected even with inplace: true', () => {
    const x = f64([1, 2], true);
    const t = opt.sgd({ lr: 0.5, momentum: 0.9, weightDecay: 0.1 });
    const state = t.init([x]);
    mg.enableGrad(() => {
      const [g] = mg.autograd.grad(x.pow(3).sum(), [x], { createGraph: true }); // 3x²
      const [u] = t.update([g], state, { params: [x] })[0] as mg.Tensor[];
      // u = −0.5·(3x² + 0.1x); du/dx = −0.5·(6x + 0.1)
      const [d] = mg.autograd.grad(u.sum(), [x]);
      assertClose(d as mg.Tensor, [-0.5 * 6.1, -0.5 * 12.1], 1e-14, 0);
    });
  });
});

describe('optim: differentiable (unrolled) steps', () => {
  it('two SGD-momentum steps: d θ₂ / d (θ₀, lr, a) match the closed form', () => {
    // f(θ) = ½·Σ a·θ². θ₁ = (1 − ηa)θ₀; buf₂ = μ·aθ₀ + aθ₁; θ₂ = θ₁ − η·buf₂ = θ₀·(1 − ηa(μ + 2) + η²a²).
    const theta0 = f64([1.5, -0.5], true);
    const a = f64([2, 0.5], true);
    const eta = f64(0.1, true);
    const mu = 0.9;
    const t = opt.sgd({ lr: eta, momentum: mu, momentRequiresGrad: true });
    mg.enableGrad(() => {
      let params = [theta0];
      let state = t.init(params);
      for (let s = 0; s < 2; s++) {
        const l = a.mul(params[0].square()).sum().mul(0.5);
        const grads = mg.autograd.grad(l, params, { createGraph: true });
        [params, state] = opt.metaStep(t, params, grads, state);
      }
      const [dTheta, dEta, dA] = mg.autograd.grad(params[0].sum(), [theta0, eta, a]);
      const th = [1.5, -0.5];
      const av = [2, 0.5];
      const e = 0.1;
      assertClose(params[0], th.map((x, i) => x * (1 - e * av[i] * (mu + 2) + e * e * av[i] * av[i])), 1e-15, 1e-14, 'θ₂');
      assertClose(dTheta as mg.Tensor, av.map((q) => 1 - e * q * (mu + 2) + e * e * q * q), 1e-15, 1e-14, 'dθ₂/dθ₀');
      assertClose(dEta as mg.Tensor, [th.reduce((acc, x, i) => acc + x * (-av[i] * (mu + 2) + 2 * e * av[i] * av[i]), 0)], 1e-15, 1e-14, 'dθ₂/dη');
      assertClose(dA as mg.Tensor, th.map((x, i) => x * (-e * (mu + 2) + 2 * e * e * av[i])), 1e-15, 1e-14, 'dθ₂/da');
    });
  });

  it('momentRequiresGrad creates moments that require grad; the state stays differentiable', () => {
    const t = opt.adam({ lr: 0.1, momentRequiresGrad: true, epsRoot: 1e-8 });
    const x = f64([1, 2], true);
    const state = t.init([x]) as [{ mu: mg.Tensor[] }, unknown];
    assert.ok(state[0].mu[0].requiresGrad && state[0].mu[0].isLeaf);
    mg.enableGrad(() => {
      const [g] = mg.autograd.grad(x.square().sum(), [x], { createGraph: true });
      // inplace: true is allowed: writes autograd could not record are done out of place.
      const [[u], next] = t.update([g], state) as [mg.Tensor[], [{ mu: mg.Tensor[] }, unknown]];
      assert.ok(next[0].mu[0].gradFn !== null);
      const [dmu0] = mg.autograd.grad(u.sum(), [state[0].mu[0]], { retainGraph: true });
      // u = −lr·m̂/(√(v̂ + epsRoot) + eps), m̂ = (0.9·m₀ + 0.1·g)/0.1 → ∂u/∂m₀ = −lr·9/(√(v̂ + epsRoot) + eps), v̂ = g².
      assertClose(dmu0 as mg.Tensor, [2, 4].map((gv) => (-0.1 * 9) / (Math.sqrt(gv * gv + 1e-8) + 1e-8)), 1e-12, 1e-10);
    });
  });

  it('FuncOptimizer: steps return new parameters connected to the old ones', () => {
    // f = ½·a·θ², plain SGD: θ₂ = (1 − ηa)²·θ₀.
    const theta0 = f64([1, -2], true);
    const fo = new opt.FuncOptimizer(opt.sgd({ lr: 0.1 }));
    mg.enableGrad(() => {
      let p = { theta: theta0 };
      for (let s = 0; s < 2; s++) p = fo.step(p.theta.square().mul(1.5).sum(), p);
      assertClose(p.theta, [1, -2].map((x) => 0.7 * 0.7 * x), 1e-15, 1e-14);
      const [d] = mg.autograd.grad(p.theta.sum(), [theta0]);
      assertClose(d as mg.Tensor, [0.49, 0.49], 1e-15, 1e-14);
    });
    assert.deepEqual(Array.from(theta0.data), [1, -2]);
  });

  it('metaStep equals update(inplace: false) + applyUpdates(inplace: false) and starts from init when no state is given', () => {
    const t = opt.rmsprop({ lr: 0.01, momentum: 0.5 });
    const params = makeParams();
    const grads = [f64([1, -1, 2]), f64(0.5)];
    const [p1, s1] = opt.metaStep(t, params, grads);
    const [u] = t.update(grads.map((g) => g.clone()), t.init(params), { params, inplace: false });
    assert.deepEqual(values(p1), values(opt.applyUpdates(params, u, { inplace: false })));
    assert.ok(Array.isArray(s1));
    assert.deepEqual(values(params), [...W0, B0]);
  });
});

describe('optim: chain and transforms', () => {
  it('chain(scaleByAdam, scale(−lr)) is adam; chain(addDecayedWeights, sgd) is weight decay', () => {
    const viaChain = runFunctional(opt.chain(opt.transform.scaleByAdam({ b1: 0.8 }), opt.transform.scale(-0.1)));
    assert.deepEqual(viaChain, runFunctional(opt.adam({ lr: 0.1, betas: [0.8, 0.999] })));
    const wd = runFunctional(opt.chain(opt.transform.addDecayedWeights(0.1), opt.sgd({ lr: 0.1 })));
    checkSteps(wd, reference(sgdRef({ lr: 0.1, weightDecay: 0.1 })), 'chain weight decay');
  });

  it('chain with a user-written transformation works on trees', () => {
    const clip: opt.GradientTransformation = {
      init: () => ({}),
      update: (updates, state) => [mg.tree.map((u) => u.clamp(-0.5, 0.5), updates), state],
    };
    const fun = runFunctional(opt.chain(clip, opt.sgd({ lr: 0.1 })), 1);
    const expected = [...W0, B0].map((x, i) => x - 0.1 * Math.min(0.5, Math.max(-0.5, refGrad(i, x))));
    assertClose(fun[0], expected, 1e-15, 1e-14);
    assert.equal(opt.chain().update([f64(1)], opt.chain().init([f64(1)]))[0] instanceof Array, true);
  });

  it('trace with dampening and scaleByRss/Stddev/Rms/Schedule transforms', () => {
    const steps = runFunctional(opt.chain(opt.transform.trace({ momentum: 0.5, dampening: 0.2 }), opt.transform.scale(-0.1)));
    checkSteps(steps, reference(sgdRef({ lr: 0.1, momentum: 0.5, dampening: 0.2 })), 'trace');
    const rss = runFunctional(opt.chain(opt.transform.scaleByRss(), opt.transform.scaleBySchedule((c) => -0.1 / (1 + c))));
    checkSteps(rss, reference(adagradRef({ lr: 0.1, lrDecay: 1 })), 'rss + schedule');
    const std = runFunctional(opt.chain(opt.transform.scaleByStddev({ alpha: 0.99 }), opt.transform.scale(-0.01)));
    checkSteps(std, reference(rmspropRef({ lr: 0.01, centered: true })), 'stddev');
    const rms = runFunctional(opt.chain(opt.transform.scaleByRms({ alpha: 0.99 }), opt.transform.scale(-0.01)));
    checkSteps(rms, reference(rmspropRef({ lr: 0.01 })), 'rms');
  });

  it('masked applies the inner transformation where the mask is true', () => {
    const t = opt.transform.masked(opt.transform.scale(2), { w: true, b: false });
    const [u] = t.update({ w: f64([1, 2, 3]), b: f64(1) }, t.init({ w: f64([0, 0, 0]), b: f64(0) }));
    const out = u as { w: mg.Tensor; b: mg.Tensor };
    assert.deepEqual(Array.from(out.w.data), [2, 4, 6]);
    assert.deepEqual(Array.from(out.b.data), [1]);
  });
});

describe('optim: errors', () => {
  const throwsWith = (fn: () => unknown, type: typeof TypeError | typeof RangeError, re: RegExp): void => {
    assert.throws(fn, (e: Error) => e instanceof type && re.test(e.message));
  };

  it('bad hyperparameters name the function, the option, the expected and the given', () => {
    throwsWith(() => opt.sgd({ lr: -1 }), RangeError, /^sgd: argument 'lr' must be a finite number >= 0, got -1$/);
    throwsWith(() => opt.sgd({} as opt.SGDOptions), TypeError, /^sgd: argument 'lr' must be a learning rate.*got undefined$/);
    throwsWith(() => opt.sgd({ lr: 0.1, momentm: 0.9 } as opt.SGDOptions), TypeError, /^sgd: unknown option 'momentm'; the options are lr, momentum/);
    throwsWith(() => opt.sgd({ lr: 0.1, nesterov: true }), RangeError, /^sgd: argument 'nesterov' needs momentum > 0 and dampening 0, got momentum 0/);
    throwsWith(() => opt.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, /dampening 0.1/);
    throwsWith(() => opt.sgd({ lr: 0.1, momentum: -0.5 }), RangeError, /sgd: argument 'momentum' must be a finite number >= 0, got -0.5/);
    throwsWith(() => opt.adam({ betas: [1, 0.999] }), RangeError, /^adam: argument 'betas\[0\]' must be in \[0, 1\), got 1$/);
    throwsWith(() => opt.adam({ betas: [0.9, -0.1] }), RangeError, /adam: argument 'betas\[1\]'/);
    throwsWith(() => opt.adam({ betas: [0.9] as unknown as [number, number] }), TypeError, /adam: argument 'betas' must be a pair/);
    throwsWith(() => opt.adam({ eps: -1 }), RangeError, /adam: argument 'eps'/);
    throwsWith(() => opt.adamw({ weightDecay: -0.1 }), RangeError, /adamw: argument 'weightDecay'/);
    throwsWith(() => opt.rmsprop({ alpha: -1 }), RangeError, /rmsprop: argument 'alpha'/);
    throwsWith(() => opt.rmsprop({ centered: 1 as unknown as boolean }), TypeError, /rmsprop: argument 'centered' must be a boolean, got 1/);
    throwsWith(() => opt.adagrad({ lrDecay: -1 }), RangeError, /adagrad: argument 'lrDecay'/);
    throwsWith(() => opt.adagrad({ lr: 'fast' as unknown as number }), TypeError, /adagrad: argument 'lr' must be a number >= 0, a one-element tensor or a schedule function, got "fast"/);
    throwsWith(() => opt.sgd({ lr: f64([0.1, 0.2]) }), RangeError, /sgd: argument 'lr' must be a one-element tensor/);
    throwsWith(() => new opt.SGD(makeParams(), { lr: -1 }), RangeError, /^SGD: argument 'lr'/);
    throwsWith(() => new opt.Adam(makeParams(), { lr: 0.1, momentRequiresGrad: true } as opt.AdamGroupOptions), TypeError, /Adam: unknown option 'momentRequiresGrad'/);
  });

  it('schedules check their options', () => {
    throwsWith(() => opt.schedule.exponentialDecay({ initValue: 1 } as opt.schedule.ExponentialDecayOptions), TypeError, /schedule.exponentialDecay: argument 'decayRate'/);
    throwsWith(() => opt.schedule.exponentialDecay({ initValue: 1, decayRate: 0.5, transitionBegin: -1 }), RangeError, /transitionBegin/);
    throwsWith(() => opt.schedule.linear({ initValue: 1, endValue: 0, transitionSteps: 1, power: 2 } as opt.schedule.LinearOptions), TypeError, /schedule.linear: unknown option 'power'/);
  });

  it('bad parameters, states and calls', () => {
    const [w, b] = makeParams();
    throwsWith(() => new opt.SGD([], { lr: 0.1 }), RangeError, /SGD: got an empty parameter list/);
    throwsWith(() => new opt.SGD([mg.enableGrad(() => w.mul(2))], { lr: 0.1 }), RangeError, /SGD: can't optimize a non-leaf Tensor/);
    throwsWith(() => new opt.SGD([w, w], { lr: 0.1 }), RangeError, /appears in more than one parameter group/);
    throwsWith(() => new opt.SGD([w, 3 as unknown as mg.Tensor], { lr: 0.1 }), TypeError, /SGD: argument 'params\[1\]' must be a Tensor, got 3/);
    const t = opt.sgd({ lr: 0.1, weightDecay: 0.1 });
    throwsWith(() => t.update([f64([1, 1, 1]), f64(1)], t.init([w, b])), TypeError, /sgd.update: weight decay needs the parameters; call update\(updates, state, \{ params \}\)/);
    const m = opt.sgd({ lr: 0.1, momentum: 0.9 });
    throwsWith(() => m.update([f64(1)], m.init([w, b])), RangeError, /sgd.update: the state's trace has 2 leaves but updates has 1/);
    throwsWith(() => m.update([f64(1)], 'nope'), TypeError, /sgd.update: argument 'state' must be the state returned by init\/update of this chain/);
    throwsWith(() => m.update([f64(1)], m.init([b]), { inplce: true } as opt.UpdateOptions), TypeError, /sgd.update: unknown option 'inplce'/);
    throwsWith(() => opt.chain(opt.sgd({ lr: 1 }), 5 as unknown as opt.GradientTransformation), TypeError, /chain: argument 'transformations\[1\]' must be a GradientTransformation/);
    // A wrong-shaped grad is refused where it is assigned, before any optimizer could read it.
    throwsWith(() => { w.grad = f64([1, 2]); }, RangeError, /Tensor.grad: assigned grad has shape \[2\], but the tensor has shape \[3\]/);
  });
});
