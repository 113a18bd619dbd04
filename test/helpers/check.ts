/**
 * Independent answers for derivative tests: central finite differences in float64, and value
 * comparison helpers. `gradcheck` compares autograd's Jacobian with finite differences;
 * `gradgradcheck` does the same for the function's vector-Jacobian product (second derivatives).
 */
import * as assert from 'node:assert/strict';
import * as mg from '../../ts/index';

type Fn = (...xs: mg.Tensor[]) => mg.Tensor;

/** Asserts elementwise |a − b| <= atol + rtol·|b|, with a message showing the worst entry. */
export function assertClose(actual: mg.Tensor | number[] | number, expected: mg.Tensor | number[] | number, atol = 1e-6, rtol = 1e-5, what = 'value'): void {
  const a = toArray(actual);
  const b = toArray(expected);
  assert.equal(a.length, b.length, `${what}: ${a.length} values vs ${b.length} expected`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: entry ${worst} is ${a[worst]}, expected ${b[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

function toArray(x: mg.Tensor | number[] | number): number[] {
  if (typeof x === 'number') return [x];
  if (Array.isArray(x)) return x.flat(Infinity as 1) as number[];
  return Array.from(x.data);
}

/** Numerical Jacobian [outNumel, inNumel] of fn with respect to input k (central differences). */
export function numericJacobian(fn: Fn, inputs: mg.Tensor[], k: number, eps = 1e-6): number[][] {
  const x = inputs[k];
  const base = mg.noGrad(() => fn(...inputs));
  const rows: number[][] = Array.from({ length: base.numel }, () => new Array<number>(x.numel).fill(0));
  for (let j = 0; j < x.numel; j++) {
    const orig = x.data[j];
    x.data[j] = orig + eps;
    const plus = mg.noGrad(() => fn(...inputs)).data.slice();
    x.data[j] = orig - eps;
    const minus = mg.noGrad(() => fn(...inputs)).data.slice();
    x.data[j] = orig;
    for (let i = 0; i < base.numel; i++) rows[i][j] = (plus[i] - minus[i]) / (2 * eps);
  }
  return rows;
}

/** Analytic Jacobian rows via one VJP per output element. */
export function analyticJacobian(fn: Fn, inputs: mg.Tensor[], k: number): number[][] {
  const xs = inputs.map((t) => t.detach().requiresGrad_(true));
  const out = fn(...xs);
  // An output that does not depend on the inputs (e.g. the VJP of a linear op) has a zero Jacobian.
  if (!out.requiresGrad) return Array.from({ length: out.numel }, () => new Array<number>(xs[k].numel).fill(0));
  const rows: number[][] = [];
  for (let i = 0; i < out.numel; i++) {
    const e = mg.zerosLike(out);
    e.data[i] = 1;
    const [g] = mg.autograd.grad(out, [xs[k]], { gradOutputs: e, retainGraph: true, allowUnused: true });
    rows.push(g ? Array.from(g.data) : new Array<number>(xs[k].numel).fill(0));
  }
  return rows;
}

/** Checks the first derivatives of fn with respect to every input (float64 inputs). */
export function gradcheck(fn: Fn, inputs: mg.Tensor[], atol = 1e-6, rtol = 1e-4): void {
  for (const t of inputs) assert.equal(t.dtype, 'float64', 'gradcheck needs float64 inputs');
  for (let k = 0; k < inputs.length; k++) {
    assertClose(analyticJacobian(fn, inputs, k).flat(), numericJacobian(fn, inputs, k).flat(), atol, rtol, `d/dinput${k}`);
  }
}

/**
 * Checks second derivatives: the map (inputs, v) -> vjp(fn)(v) is differentiated by autograd
 * (double backward) and compared with finite differences of the first-order VJP.
 */
export function gradgradcheck(fn: Fn, inputs: mg.Tensor[], atol = 1e-5, rtol = 1e-3): void {
  const out = mg.noGrad(() => fn(...inputs));
  const v = mg.randn(out.shape, { dtype: 'float64' });
  const vjpOf = (...xs: mg.Tensor[]): mg.Tensor => {
    const ys = xs.map((x) => (x.requiresGrad ? x : x.detach().requiresGrad_(true)));
    return mg.enableGrad(() => {
      const o = fn(...ys);
      const gs = mg.autograd.grad(o, ys, { gradOutputs: v, createGraph: true, allowUnused: true, materializeGrads: true });
      return mg.cat(gs.map((g) => (g as mg.Tensor).reshape(-1)));
    });
  };
  gradcheck(vjpOf, inputs, atol, rtol);
}

/** A float64 tensor of normal samples, optionally shifted away from kinks. */
export function rand64(shape: number[], shift = 0, scale = 1): mg.Tensor {
  return mg.randn(shape, { dtype: 'float64' }).mul(scale).add(shift);
}

/** Runs `fn` and returns the process warnings it emitted (emitWarning delivers them on the next tick). */
export async function warningsOf(fn: () => void): Promise<(Error & { code?: string })[]> {
  const seen: (Error & { code?: string })[] = [];
  const listener = (w: Error): void => {
    seen.push(w);
  };
  process.on('warning', listener);
  try {
    fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}
