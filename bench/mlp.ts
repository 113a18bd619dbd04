/**
 * Loss + gradient and Hessian-vector product of a 64→128→1 tanh MLP with MSE loss at batch 256,
 * in float32 and float64: the inner loop of implicit differentiation (CG on the Hessian calls
 * HVPs) and of any meta-learning inner solver. Every library gets the same data and parameters,
 * and its results are checked against metagrad's.
 */
import type * as TF from '@tensorflow/tfjs';
import * as mg from '../ts/index';
import type { BenchContext } from './context';
import { loadJax, loadTf } from './peers';
import { compare, fmt, fmtRatio, type Timing } from './stats';
import type { Table } from './table';

export const BATCH = 256;
export const IN = 64;
export const HIDDEN = 128;

/** Problem data as plain float64 arrays (converted per library and dtype). */
export interface Problem {
  x: Float64Array;
  y: Float64Array;
  /** W1 [IN, HIDDEN], b1 [HIDDEN], W2 [HIDDEN, 1], b2 [1]. */
  params: Float64Array[];
  /** Tangent of the HVP, shaped like params. */
  v: Float64Array[];
}

export const SHAPES = [[IN, HIDDEN], [HIDDEN], [HIDDEN, 1], [1]];

export function problem(): Problem {
  mg.manualSeed(42);
  const f64 = { dtype: 'float64' as const };
  const data = (t: mg.Tensor): Float64Array => t.data as Float64Array;
  return {
    x: data(mg.randn([BATCH, IN], f64)),
    y: data(mg.randn([BATCH, 1], f64)),
    // Scaled like PyTorch's default init so tanh is neither saturated nor linear.
    params: [
      data(mg.randn(SHAPES[0], f64).mul(1 / Math.sqrt(IN))),
      data(mg.randn(SHAPES[1], f64).mul(0.1)),
      data(mg.randn(SHAPES[2], f64).mul(1 / Math.sqrt(HIDDEN))),
      data(mg.randn(SHAPES[3], f64).mul(0.1)),
    ],
    v: SHAPES.map((s) => data(mg.randn(s, f64))),
  };
}

export type DT = 'float32' | 'float64';
const cast = (a: Float64Array, dtype: DT): Float32Array | Float64Array => (dtype === 'float32' ? Float32Array.from(a) : a.slice());

/** What one library computes: [loss, grads] and the HVP, as flat float64 arrays for the check. */
export interface Impl {
  grad: () => unknown;
  hvp: () => unknown;
  /** Results of one call each, for the agreement check: [loss, ...grads] and hvp. */
  results: () => { grad: number[]; hvp: number[] };
  dispose?: () => void;
}

export function metagradImpl(p: Problem, dtype: DT): Impl {
  const opt = { dtype };
  const t = (a: Float64Array, shape: number[]): mg.Tensor => mg.tensor(cast(a, dtype), { ...opt, shape } as mg.TensorOptions);
  const x = t(p.x, [BATCH, IN]);
  const y = t(p.y, [BATCH, 1]);
  const params = p.params.map((a, i) => t(a, SHAPES[i]));
  const v = p.v.map((a, i) => t(a, SHAPES[i]));
  const loss = (ps: mg.Tensor[]): mg.Tensor => x.matmul(ps[0]).add(ps[1]).tanh().matmul(ps[2]).add(ps[3]).sub(y).square().mean();
  const vg = mg.func.valueAndGrad(loss);
  const grad = (): [mg.Tensor, mg.Tensor[]] => vg(params) as [mg.Tensor, mg.Tensor[]];
  // Reverse-over-reverse: the gradient of ⟨∇loss, v⟩.
  const hvp = (): mg.Tensor[] => mg.func.hvp(loss, [params], [v])[1][0] as mg.Tensor[];
  return {
    grad,
    hvp,
    results: () => {
      const [l, g] = grad();
      return { grad: [l.item(), ...g.flatMap((gi) => Array.from(gi.data))], hvp: hvp().flatMap((h) => Array.from(h.data)) };
    },
  };
}

/**
 * metagrad's own HVP against central differences of its gradient along v, in float64: the
 * reference the peers are compared with is itself checked independently.
 */
function fdCheck(p: Problem): number {
  const f64 = { dtype: 'float64' as const };
  const t = (a: Float64Array, shape: number[]): mg.Tensor => mg.tensor(a.slice(), { ...f64, shape } as mg.TensorOptions);
  const x = t(p.x, [BATCH, IN]);
  const y = t(p.y, [BATCH, 1]);
  const params = p.params.map((a, i) => t(a, SHAPES[i]));
  const v = p.v.map((a, i) => t(a, SHAPES[i]));
  const loss = (ps: mg.Tensor[]): mg.Tensor => x.matmul(ps[0]).add(ps[1]).tanh().matmul(ps[2]).add(ps[3]).sub(y).square().mean();
  const g = mg.func.grad(loss);
  const h = 1e-5;
  const gp = g(params.map((q, i) => q.add(v[i].mul(h)))) as mg.Tensor[];
  const gm = g(params.map((q, i) => q.sub(v[i].mul(h)))) as mg.Tensor[];
  const fd = gp.flatMap((gi, i) => Array.from(gi.data, (val, k) => (val - gm[i].data[k]) / (2 * h)));
  const hv = (mg.func.hvp(loss, [params], [v])[1][0] as mg.Tensor[]).flatMap((hi) => Array.from(hi.data));
  return relErr(hv, fd);
}

async function tfImpl(p: Problem): Promise<Impl | string> {
  const peer = await loadTf();
  if (!peer.ok) return peer.reason;
  const tf = peer.lib;
  const x = tf.tensor2d(cast(p.x, 'float32') as Float32Array, [BATCH, IN]);
  const y = tf.tensor2d(cast(p.y, 'float32') as Float32Array, [BATCH, 1]);
  const params = p.params.map((a, i) => tf.tensor(cast(a, 'float32') as Float32Array, SHAPES[i]));
  const v = p.v.map((a, i) => tf.tensor(cast(a, 'float32') as Float32Array, SHAPES[i]));
  const loss = (w1: TF.Tensor, b1: TF.Tensor, w2: TF.Tensor, b2: TF.Tensor): TF.Scalar =>
    tf.mean(tf.square(tf.sub(tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1 as TF.Tensor2D), b1)), w2 as TF.Tensor2D), b2), y))) as TF.Scalar;
  const vg = tf.valueAndGrads(loss);
  const g = tf.grads(loss);
  // tfjs has no hvp; nested tf.grads of ⟨∇loss, v⟩ is its reverse-over-reverse equivalent.
  const h = tf.grads((w1: TF.Tensor, b1: TF.Tensor, w2: TF.Tensor, b2: TF.Tensor): TF.Scalar =>
    tf.addN(g([w1, b1, w2, b2]).map((gi, i) => tf.sum(tf.mul(gi, v[i])))) as TF.Scalar,
  );
  // tidy() frees every intermediate; reading the values forces the (already synchronous) work.
  const gradValues = (): number[] =>
    tf.tidy(() => {
      const r = vg(params);
      return [...r.value.dataSync(), ...r.grads.flatMap((gi) => Array.from(gi.dataSync()))];
    });
  const hvpValues = (): number[] => tf.tidy(() => h(params).flatMap((hi) => Array.from(hi.dataSync())));
  return {
    grad: gradValues,
    hvp: hvpValues,
    results: () => ({ grad: gradValues(), hvp: hvpValues() }),
    dispose: () => tf.dispose([x, y, ...params, ...v]),
  };
}

async function jaxImpl(p: Problem, dtype: DT, jitted: boolean): Promise<Impl | string> {
  const peer = await loadJax();
  if (!peer.ok) return peer.reason;
  const { numpy: np, grad, valueAndGrad, jvp, jit } = peer.lib;
  type Arr = InstanceType<typeof np.Array>;
  const arr = (a: Float64Array, shape: number[]): Arr => np.array(cast(a, dtype)).reshape(shape);
  const x = arr(p.x, [BATCH, IN]);
  const y = arr(p.y, [BATCH, 1]);
  const params = p.params.map((a, i) => arr(a, SHAPES[i]));
  const v = p.v.map((a, i) => arr(a, SHAPES[i]));
  // jax-js functions own their arguments (reference counting): each value is used once here.
  const loss = (ps: Arr[], xx: Arr, yy: Arr): Arr => {
    const h = np.tanh(np.matmul(xx, ps[0]).add(ps[1]));
    return np.square(np.matmul(h, ps[2]).add(ps[3]).sub(yy)).mean();
  };
  // Forward-over-reverse, JAX's recommended HVP.
  const hvpFn = (ps: Arr[], vs: Arr[], xx: Arr, yy: Arr): Arr[] => jvp((q: Arr[]) => grad(loss)(q, xx, yy), [ps], [vs])[1];
  const vgF = jitted ? jit(valueAndGrad(loss)) : valueAndGrad(loss);
  const hvpF = jitted ? jit(hvpFn) : hvpFn;
  const ref = (a: Arr[]): Arr[] => a.map((t) => t.ref);
  // dataSync() forces the lazy computation and consumes (frees) the result.
  const gradValues = (): number[] => {
    const [l, g] = vgF(ref(params), x.ref, y.ref) as [Arr, Arr[]];
    return [...l.dataSync(), ...g.flatMap((gi) => Array.from(gi.dataSync()))];
  };
  const hvpValues = (): number[] => (hvpF(ref(params), ref(v), x.ref, y.ref) as Arr[]).flatMap((hi) => Array.from(hi.dataSync()));
  return {
    grad: gradValues,
    hvp: hvpValues,
    results: () => ({ grad: gradValues(), hvp: hvpValues() }),
    dispose: () => {
      for (const t of [x, y, ...params, ...v]) t.dispose();
      // jit() results own compiled code and constants.
      for (const f of [vgF, hvpF] as { dispose?: () => void }[]) f.dispose?.();
    },
  };
}

/** Largest absolute difference relative to the largest reference magnitude. */
export function relErr(got: number[], ref: number[]): number {
  if (got.length !== ref.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(got[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return num / den;
}

export async function mlp(ctx: BenchContext): Promise<Table[]> {
  const p = problem();
  const rows: string[][] = [];
  const notes: string[] = [];
  const fdErr = fdCheck(p);
  const tfNote = await loadTf();
  const jaxNote = await loadJax();
  for (const dtype of ['float32', 'float64'] as const) {
    const m = metagradImpl(p, dtype);
    const tfI = dtype === 'float32' ? await tfImpl(p) : 'no float64 in tfjs';
    const jit = await jaxImpl(p, dtype, true).catch((e: unknown) => `jax-js failed: ${(e as Error).message}`);
    const eager = await jaxImpl(p, dtype, false).catch((e: unknown) => `jax-js failed: ${(e as Error).message}`);
    const ref = m.results();
    // Agreement with metagrad (float32 sums in different orders differ in the last digits).
    const tol = dtype === 'float32' ? 1e-3 : 1e-6;
    const check = (impl: Impl | string, name: string, which: 'grad' | 'hvp'): { ok: boolean; text: string } => {
      if (typeof impl === 'string') return { ok: false, text: '' };
      try {
        const e = relErr(impl.results()[which], ref[which]);
        return { ok: e <= tol, text: `${name} ${e <= tol ? '✓' : `✗ (${e.toExponential(1)})`}` };
      } catch (err) {
        return { ok: false, text: `${name} fails: ${(err as Error).message.split('\n')[0]}` };
      }
    };
    for (const which of ['grad', 'hvp'] as const) {
      ctx.log(`mlp: ${which} ${dtype}`);
      const checks = [check(tfI, 'tfjs', which), check(jit, 'jax-jit', which), check(eager, 'jax', which)];
      // A peer that throws is reported, not timed; one whose numbers disagree is timed and flagged.
      const fnOf = (impl: Impl | string, i: number): (() => unknown) | null => (typeof impl !== 'string' && !checks[i].text.includes('fails') ? impl[which] : null);
      const [tm, tt, tj, te] = await compare([m[which], fnOf(tfI, 0), fnOf(jit, 1), fnOf(eager, 2)], { repeats: ctx.repeats, minRepeatMs: 30, warmupMs: 1000 });
      const ms = (t: Timing | null, impl: Impl | string, i: number): string => {
        if (typeof impl === 'string') return `n/a (${impl})`;
        if (!t) return 'fails';
        return checks[i].ok ? fmt(t.median) : `${fmt(t.median)} (wrong)`;
      };
      const ratio = (t: Timing | null): string => (t && tm ? fmtRatio(t.median / tm.median) : '—');
      const task = which === 'grad' ? 'gradient' : 'HVP';
      if (tt && tm) {
        const wrong = checks[0].ok ? '' : ' (tfjs computes a wrong HVP)';
        ctx.target(`MLP ${task} (${dtype}) ≥ 10× faster than tfjs cpu`, `${fmtRatio(tt.median / tm.median)}${wrong}`, tt.median / tm.median >= 10);
      }
      // Against jax-js's fastest correct variant.
      const jaxBest = [checks[1].ok ? tj : null, checks[2].ok ? te : null].filter((t): t is Timing => t !== null).sort((p, q) => p.median - q.median)[0];
      if (jaxBest && tm) ctx.target(`MLP ${task} (${dtype}) faster than jax-js`, `${fmtRatio(jaxBest.median / tm.median)} (vs jax-js ${jaxBest === tj ? 'jit' : 'eager'})`, jaxBest.median > tm.median);
      rows.push([
        which === 'grad' ? 'loss + gradient' : 'HVP',
        dtype,
        fmt((tm as Timing).median),
        ms(tt, tfI, 0),
        ratio(tt),
        ms(tj, jit, 1),
        ratio(tj),
        ms(te, eager, 2),
        checks.map((c) => c.text).filter(Boolean).join(', '),
      ]);
    }
    for (const impl of [tfI, jit, eager]) if (typeof impl !== 'string') impl.dispose?.();
  }
  notes.push(
    `Median ms per call. Model: tanh(x·W1 + b1)·W2 + b2, MSE against y; x [${BATCH}, ${IN}], W1 [${IN}, ${HIDDEN}], W2 [${HIDDEN}, 1]; gradient and HVP with respect to all four parameters. Same data in every library.`,
    'metagrad: `mg.func.valueAndGrad(loss)(params)` and `mg.func.hvp(loss, [params], [v])` (reverse-over-reverse), eager, no compilation.',
    tfNote.ok ? `tfjs: \`tf.valueAndGrads(loss)\`; HVP as \`tf.grads\` of ⟨\`tf.grads(loss)\`, v⟩; ${tfNote.note}.` : `tfjs n/a: ${tfNote.reason}`,
    jaxNote.ok
      ? `jax-js: \`jit(valueAndGrad(loss))\` and \`jit\` of \`jvp(grad(loss))\` (forward-over-reverse); "jax-js eager" is the same without \`jit\`; ${jaxNote.note}.`
      : `jax-js n/a: ${jaxNote.reason}`,
    `"× slower" = peer time ÷ metagrad time. "agrees": the peer's loss and gradient, or HVP, match metagrad's to 1e-3 (float32) or 1e-6 (float64) of the largest magnitude (✗ shows the relative error). metagrad's float64 HVP itself matches central differences of its gradient along v to ${fdErr.toExponential(1)} (step 1e-5).`,
    'jax-js computes float64 tanh to only ~1e-8 (hence the 1e-6 tolerance), and its `jit` of the float64 HVP returns wrong numbers (the same function without `jit` is right); that cell is timed anyway and flagged.',
    'tfjs\'s HVP is wrong: its tanh gradient, dy·(1 − y²), treats the saved output y as a constant, so a second derivative loses the tanh-curvature term (`tf.grad(tf.grad(tf.tanh))` even throws "Cannot compute gradient of y=f(x)"). It is timed anyway, for the speed comparison.',
  );
  return [
    {
      title: 'MLP 64→128→1 (tanh, MSE), batch 256: loss + gradient and Hessian-vector product (ms, lower is better)',
      headers: ['task', 'dtype', 'metagrad', 'tfjs (cpu)', 'tfjs × slower', 'jax-js jit', 'jax-js jit × slower', 'jax-js eager', 'agrees'],
      rows,
      notes,
    },
  ];
}
