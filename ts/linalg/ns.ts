/**
 * Neumann-series solves: A⁻¹ = α Σₖ (I − αA)ᵏ, convergent when the spectral radius of I − αA is
 * below 1 (for A symmetric positive definite: 0 < α < 2/λmax). The k-th term vₖ = (I − αA)ᵏ b is
 * also the residual of the partial sum before it, so the stopping test costs nothing extra.
 */
import { noGrad } from '../autograd/grad-mode';
import { NumericalError, describe } from '../errors';
import { eye } from '../ops/creation';
import { matmul } from '../ops/matmul';
import { fmtShape } from '../tensor/shape';
import { isTensor } from '../tensor/tensor';
import { flatten, unflatten } from '../tree/tree';
import { type Scalar, treeAxpy, treeNorm, treeScale, treeSub, treeVdot, treeVdotT } from '../tree/tree-math';
import { type OnInfo, reportedMembers } from './info';
import {
  type LinearOperator, type MatrixTree, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf,
  toTree,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { type Members, checkFiniteNorms, membersOf } from './members';
import { callback, checkOptions, finiteNumber, nonNegative, positiveInt, treeOption } from './options';

/** Options of {@link ns}. */
export interface NsOptions<T> {
  /** Number of series terms after the first (matrix-vector products). Default max(100, 10 × b's elements). */
  maxiter?: number;
  /**
   * Step α of the series; it converges when 0 < α < 2/λmax(A) for A symmetric positive definite.
   * Default: 1 (TorchOpt's) when a few power iterations put λmax below 1.8, else 1/λmax from
   * them, so that a badly scaled A (λmax ≫ 2, where α = 1 diverges) still converges.
   */
  alpha?: number;
  /** Stop early when ‖b − A x‖ <= max(rtol·‖b‖, atol). Default 1e-5; set rtol = atol = 0 to always sum maxiter terms (TorchOpt). */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Initial guess: the series then solves for the correction A d = b − A x0. */
  x0?: T;
  /** Receives the {@link SolveInfo} of this solve. */
  onInfo?: OnInfo;
}

/** Options of {@link nsInv}. */
export type NsInvOptions = Omit<NsOptions<unknown>, 'x0'>;

/** The checked options of a Neumann solve. @internal */
export interface NsSettings {
  maxiter: number | undefined;
  /** undefined: chosen per solve from a power-iteration estimate of λmax. */
  alpha: number | undefined;
  rtol: number;
  atol: number;
  x0: unknown;
}

/** Option names of {@link ns}. */
export const NS_OPTIONS = ['maxiter', 'alpha', 'rtol', 'atol', 'x0', 'onInfo'] as const;

/** Reads the Neumann options from checked options (`x0Name` names the initial guess). @internal */
export function nsSettings(fn: string, o: Record<string, unknown>, x0Name = 'x0'): NsSettings {
  const alpha = o.alpha === undefined ? undefined : finiteNumber(fn, 'alpha', o.alpha, 1);
  if (alpha === 0) throw new RangeError(`${fn}: option 'alpha' must be a non-zero finite number, got 0`);
  return {
    maxiter: positiveInt(fn, 'maxiter', o.maxiter),
    alpha,
    rtol: nonNegative(fn, 'rtol', o.rtol, 1e-5),
    atol: nonNegative(fn, 'atol', o.atol, 0),
    x0: treeOption(fn, x0Name, o[x0Name]),
  };
}

/** Power iterations for the default α. */
const POWER_ITERATIONS = 12;

/**
 * The default step: 1 (TorchOpt's) when λmax(A) is comfortably below 2, else 1/λmax, from a
 * Rayleigh-quotient estimate after a few power iterations started at b (values only). The
 * estimate approaches λmax from below, hence the margin in both branches.
 */
function autoAlpha(p: Problem, A: VecOp): number {
  return noGrad(() => {
    let v = p.b;
    let n = treeNorm(v);
    if (!(n > 0) || !Number.isFinite(n)) return 1;
    let lambda = 0;
    for (let i = 0; i < POWER_ITERATIONS; i++) {
      v = treeScale(v, 1 / n);
      const av = A(v);
      lambda = treeVdot(v, av);
      n = treeNorm(av);
      if (!(n > 0) || !Number.isFinite(n)) break;
      v = av;
    }
    if (!Number.isFinite(lambda) || lambda === 0) return 1;
    return Math.abs(lambda) < 1.8 ? 1 : 1 / (1.05 * lambda);
  });
}

/**
 * Sums the Neumann series on a prepared problem. Divergence to non-finite values raises a
 * NumericalError; slow convergence is reported (converged: false). @internal
 */
export function runNs(p: Problem, A: VecOp, s: NsSettings, onInfo?: OnInfo, x0Name = 'x0', maxiterDefault?: number): Vec {
  const maxiter = s.maxiter ?? maxiterDefault ?? defaultMaxiter(p, 10, 100);
  // One series per member inside vmap (linalg/members.ts): each its own step, stop and count.
  const mb = membersOf(p);
  const bnorms = mb.norms(p.b);
  checkFiniteNorms(p, mb, bnorms);
  const tols = bnorms.map((bn) => Math.max(s.rtol * bn, s.atol));
  const x0 = initialOf(p, x0Name, s.x0);
  const alphas = s.alpha !== undefined ? new Float64Array(mb.count).fill(s.alpha) : mb.count === 1 ? Float64Array.of(autoAlpha(p, A)) : autoAlphas(p, A, mb);
  const dtype = p.b.some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
  const alpha: Scalar = mb.count === 1 ? alphas[0] : mb.scalar(alphas, dtype);
  const its = new Int32Array(mb.count);
  let rnorm: Float64Array = new Float64Array(mb.count).fill(Number.NaN);
  // The closure reads the counts and norms when the solve ends, normally or by a NumericalError.
  return reportedMembers(p.fn, tols, onInfo, () => [its, rnorm], () => {
    let v = mb.full(x0 ? treeSub(p.b, A(x0)) : p.b);
    let x = mb.full(x0 ? treeAxpy(alpha, v, x0) : treeScale(v, alpha));
    let active = new Array<boolean>(mb.count).fill(true);
    for (let k = 0; k < maxiter && active.some(Boolean); k++) {
      v = treeSub(v, mb.full(A(v)), alpha); // the residual of the current x
      active.forEach((on, m) => {
        if (on) its[m] = k + 1;
      });
      const rn = mb.norms(v);
      rnorm = rnorm.map((old, m) => (active[m] ? rn[m] : old));
      active.forEach((on, m) => {
        if (on && !Number.isFinite(rn[m])) {
          throw new NumericalError(
            `${p.fn}: ${mb.label(m)}the Neumann series diverged at iteration ${k + 1} (‖(I − αA)^k b‖ = ${rn[m]}); it converges only when the ` +
              `spectral radius of I − αA is below 1, e.g. 0 < alpha < 2/λmax(A) for A symmetric positive definite (alpha = ${alphas[m]}` +
              `${s.alpha === undefined ? ', chosen from a power-iteration estimate of λmax; pass alpha to set it' : ''})`,
          );
        }
      });
      active = active.map((on, m) => on && !(rn[m] <= tols[m]));
      if (!active.some(Boolean)) break;
      x = treeAxpy(typeof alpha === 'number' ? alpha : mb.mask(alpha, active), v, x);
    }
    if (active.some(Boolean)) {
      // x holds every term: its residual is the next term, one more product.
      const next = noGrad(() => mb.norms(treeSub(v, mb.full(A(v)), alpha)));
      rnorm = rnorm.map((old, m) => (active[m] ? next[m] : old));
    }
    return x;
  });
}

/** {@link autoAlpha} per member (each member's own λmax estimate). */
function autoAlphas(p: Problem, A: VecOp, mb: Members): Float64Array {
  return noGrad(() => {
    const dtype = p.b.some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
    let v = mb.full(p.b);
    let n = mb.norms(v);
    const ok = Array.from(n, (x) => x > 0 && Number.isFinite(x));
    const lambda = new Float64Array(mb.count);
    for (let i = 0; i < POWER_ITERATIONS && ok.some(Boolean); i++) {
      v = treeScale(v, mb.scalar(Array.from(n, (x, m) => (ok[m] ? 1 / x : 0)), dtype));
      const av = mb.full(A(v));
      const l = mb.values(treeVdotT(v, av));
      n = mb.norms(av);
      l.forEach((x, m) => {
        if (ok[m]) lambda[m] = x;
        if (!(n[m] > 0) || !Number.isFinite(n[m])) ok[m] = false;
      });
      v = av;
    }
    return lambda.map((l) => (!Number.isFinite(l) || l === 0 ? 1 : Math.abs(l) < 1.8 ? 1 : 1 / (1.05 * l)));
  });
}

/**
 * Solves A x = b with the truncated Neumann series x = α Σₖ (I − αA)ᵏ b.
 *
 * `A` is a function on trees, a matrix or a tree of matrices (block diagonal). Unlike TorchOpt the
 * sum stops early once ‖b − A x‖ <= max(rtol·‖b‖, atol); with rtol = atol = 0 it sums exactly
 * `maxiter` + 1 terms as TorchOpt does. The outcome goes to `onInfo` and {@link lastSolveInfo}.
 *
 * @throws NumericalError when the series diverges to non-finite values.
 */
export function ns<T>(A: LinearOperator<T>, b: T, options?: NsOptions<T>): T {
  const fn = 'ns';
  const o = checkOptions(fn, options, NS_OPTIONS);
  const s = nsSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const p = problemOf(fn, b);
  return toTree<T>(p, solveImplicitly(p, operatorOf(p, 'A', A), (q, op, transposed) => runNs(q, op, settingsFor(s, transposed), onInfo)));
}

/**
 * Neumann-series approximation of the inverse of a square matrix, or of each matrix of a tree
 * (the result has A's structure): A⁻¹ ≈ α Σₖ (I − αA)ᵏ. Stops early when the Frobenius norm of
 * I − A X falls below max(rtol·‖I‖, atol); default maxiter is max(100, 10 × the total order).
 */
export function nsInv<T extends MatrixTree>(A: T, options?: NsInvOptions): T {
  const fn = 'nsInv';
  const o = checkOptions(fn, options, NS_OPTIONS.filter((k) => k !== 'x0'));
  const s = nsSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const [mats] = flatten(A);
  if (typeof A === 'function' || mats.length === 0) {
    throw new TypeError(`${fn}: argument 'A' must be a square matrix or a tree of square matrices, got ${describe(A)}`);
  }
  mats.forEach((m, i) => {
    if (!isTensor(m) || m.ndim !== 2 || m.shape[0] !== m.shape[1]) {
      throw new RangeError(`${fn}: ${mats.length === 1 ? 'A' : `matrix ${i} of A`} must be square, got shape ${fmtShape(m.shape)}`);
    }
  });
  const identities = unflatten(flatten(A)[1], mats.map((m) => eye(m.shape[0], { dtype: m.dtype })));
  const p = problemOf(fn, identities);
  const op: VecOp = (V) => V.map((v, i) => matmul(mats[i], v));
  const order = mats.reduce((n, m) => n + m.shape[0], 0);
  return toTree<T>(p, runNs(p, op, s, onInfo, 'x0', Math.max(100, 10 * order)));
}
