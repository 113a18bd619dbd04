/**
 * Conjugate gradient for A x = b with A symmetric positive definite (JAX / scipy semantics), on
 * trees. The iterations run on values; with grad mode on x is differentiable in everything A and b
 * depend on, by the implicit rule of ts/linalg/implicit-solve.ts (exact, whatever the iteration count).
 */
import { NumericalError } from '../errors';
import { treeAxpy, treeNormT, treeSub, treeVdotT } from '../tree/tree-math';
import { type OnInfo, reportMembers, reportedMembers } from './info';
import { checkFiniteNorms, membersOf, recordMemberChecks } from './members';
import { add, div, gtMask, leMask, maximum, mul, where } from '../ops/elementwise';
import { isRecording, reportAtReplay } from '../tensor/trace';
import { physicalOf } from '../tensor/batched';
import { to } from '../ops/cast';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  zerosVec,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { callback, checkOptions, nonNegative, operatorOption, positiveInt, treeOption } from './options';

/** Options of {@link cg}. */
export interface CgOptions<T> {
  /** Initial guess (b's structure); zeros by default. */
  x0?: T;
  /** Relative tolerance: stop when ‖b − A x‖ <= max(rtol·‖b‖, atol). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Iteration limit. Default 10 × (number of elements of b). */
  maxiter?: number;
  /** Preconditioner approximating A⁻¹ (symmetric positive definite), in any form `A` accepts. */
  M?: LinearOperator<T>;
  /** Receives the {@link SolveInfo} of this solve. */
  onInfo?: OnInfo;
}

/** The options every Krylov solver shares, checked. @internal */
export interface KrylovSettings {
  rtol: number;
  atol: number;
  maxiter: number | undefined;
  M: unknown;
  x0: unknown;
}

/** Option names of {@link cg}. */
export const CG_OPTIONS = ['x0', 'rtol', 'atol', 'maxiter', 'M', 'onInfo'] as const;

/** Reads rtol, atol, maxiter, M and x0 (under `x0Name`) from checked options. @internal */
export function krylovSettings(fn: string, o: Record<string, unknown>, x0Name = 'x0'): KrylovSettings {
  return {
    rtol: nonNegative(fn, 'rtol', o.rtol, 1e-5),
    atol: nonNegative(fn, 'atol', o.atol, 0),
    maxiter: positiveInt(fn, 'maxiter', o.maxiter),
    M: operatorOption(fn, 'M', o.M),
    x0: treeOption(fn, x0Name, o[x0Name]),
  };
}

/**
 * Runs CG on a prepared problem; `x0Name` names the initial guess in messages. Raises a
 * NumericalError on breakdown (pᵀAp <= 0: A is singular or indefinite on the Krylov space) or
 * non-finite values; non-convergence within maxiter is reported (converged: false), not raised.
 * @internal
 */
export function runCg(p: Problem, A: VecOp, s: KrylovSettings, onInfo?: OnInfo, x0Name = 'x0'): Vec {
  const M = s.M === undefined ? null : operatorOf(p, 'M', s.M);
  const maxiter = s.maxiter ?? defaultMaxiter(p);
  if (isRecording()) return runCgFixed(p, A, M, s, maxiter, x0Name, onInfo);
  // One system per member inside vmap: scalars are per member, and a member stops changing once
  // it has converged (its step is masked to 0) while the others iterate on.
  const mb = membersOf(p);
  const bnorms = mb.norms(p.b);
  checkFiniteNorms(p, mb, bnorms);
  const tols = bnorms.map((bn) => Math.max(s.rtol * bn, s.atol));
  const x0 = initialOf(p, x0Name, s.x0);
  const its = new Int32Array(mb.count);
  let rnorm: Float64Array = new Float64Array(mb.count).fill(Number.NaN);
  // The closure reads the counts and norms when the solve ends, normally or by a NumericalError.
  return reportedMembers(p.fn, tols, onInfo, () => [its, rnorm], () => {
    let x = mb.full(x0 ?? zerosVec(p));
    let r = mb.full(x0 ? treeSub(p.b, A(x0)) : p.b);
    let z = M ? mb.full(M(r)) : r;
    let d = z;
    // The recurrence's scalars are numbers per member (float64), not tensors: nothing differentiates them.
    const dtype = p.b.some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
    let gamma = mb.dots(r, z);
    rnorm = mb.norms(r);
    rnorm.forEach((rn, m) => {
      if (!Number.isFinite(rn)) throw new NumericalError(`${p.fn}: ${mb.label(m)}the initial residual b − A x0 has non-finite entries`);
      if (M && gamma[m] < 0) throw new NumericalError(`${p.fn}: ${mb.label(m)}rᵀMr = ${gamma[m]} < 0 at iteration 0, so the preconditioner M is not positive definite`);
    });
    let active = Array.from(rnorm, (rn, m) => !(rn <= tols[m]));
    for (let k = 0; active.some(Boolean) && k < maxiter; k++) {
      const Ad = mb.full(A(d));
      const curvature = mb.dots(d, Ad);
      const it = k + 1;
      active.forEach((on, m) => {
        if (!on) return;
        if (!Number.isFinite(curvature[m])) {
          throw new NumericalError(`${p.fn}: ${mb.label(m)}pᵀAp is ${curvature[m]} at iteration ${it}; the operator produced non-finite values`);
        }
        if (curvature[m] <= 0) {
          throw new NumericalError(
            `${p.fn}: ${mb.label(m)}breakdown at iteration ${it}: pᵀAp = ${curvature[m]} <= 0, so the operator is not positive definite (singular or indefinite); ` +
              'use solveNormalCg, gmres or bicgstab for such systems, or add a ridge',
          );
        }
      });
      // A member that has stopped takes steps of 0, so it stops changing.
      const alpha = mb.scalar(Array.from(gamma, (g, m) => (active[m] ? g / curvature[m] : 0)), dtype);
      x = treeAxpy(alpha, d, x);
      r = treeSub(r, Ad, alpha);
      z = M ? mb.full(M(r)) : r;
      const g = mb.dots(r, z);
      active.forEach((on, m) => {
        if (on) its[m] = it;
      });
      rnorm = mb.norms(r);
      active.forEach((on, m) => {
        if (!on) return;
        if (!Number.isFinite(rnorm[m]) || !Number.isFinite(g[m])) {
          throw new NumericalError(`${p.fn}: ${mb.label(m)}the residual became non-finite at iteration ${it} (‖r‖ = ${rnorm[m]}, rᵀMr = ${g[m]})`);
        }
        if (M && g[m] < 0) {
          throw new NumericalError(`${p.fn}: ${mb.label(m)}breakdown at iteration ${it}: rᵀMr = ${g[m]} < 0, so the preconditioner M is not positive definite`);
        }
      });
      d = treeAxpy(mb.scalar(Array.from(g, (gm, m) => (active[m] ? gm / gamma[m] : 0)), dtype), d, z);
      gamma = g;
      active = active.map((on, m) => on && !(rnorm[m] <= tols[m]));
    }
    return x;
  });
}

/**
 * CG as `mg.jit` records it: the same recurrence with the scalars as (per-member) tensors, so
 * nothing is read on the host. It runs all `maxiter` iterations; a member whose residual has met
 * the tolerance takes steps of 0 from then on, so the result is the early-stopping one. Breakdown
 * (pᵀAp <= 0 while active) and non-finite values are checked at every replay; its SolveInfo is
 * reported after every replay, from the replay's own iteration counts and residuals.
 */
function runCgFixed(p: Problem, A: VecOp, M: VecOp | null, s: KrylovSettings, maxiter: number, x0Name: string, onInfo?: OnInfo): Vec {
  const mb = membersOf(p);
  const x0 = initialOf(p, x0Name, s.x0);
  const tol = maximum(mul(treeNormT(p.b), s.rtol), s.atol);
  let x = mb.full(x0 ?? zerosVec(p));
  let r = mb.full(x0 ? treeSub(p.b, A(x0)) : p.b);
  let z = M ? mb.full(M(r)) : r;
  let d = z;
  let gamma = treeVdotT(r, z);
  let active = gtMask(treeNormT(r), tol);
  let breakdown = mul(active, 0);
  let iterations = breakdown;
  for (let k = 0; k < maxiter; k++) {
    iterations = add(iterations, active);
    const Ad = mb.full(A(d));
    const curvature = treeVdotT(d, Ad);
    breakdown = add(breakdown, mul(active, leMask(curvature, 0)));
    const alpha = where(active, div(gamma, curvature), 0);
    x = treeAxpy(alpha, d, x);
    r = treeSub(r, Ad, alpha);
    z = M ? mb.full(M(r)) : r;
    const g = treeVdotT(r, z);
    d = treeAxpy(where(active, div(g, gamma), 0), d, z);
    gamma = g;
    active = mul(active, gtMask(treeNormT(r), tol));
  }
  recordMemberChecks(x, breakdown, `${p.fn}: breakdown (pᵀAp <= 0: the operator is not positive definite) or non-finite values in the solve (found when mg.jit replayed it)`);
  const diagnostics = [iterations, treeNormT(r), tol].map((t) => to(physicalOf(t)[0], 'float64').data);
  reportAtReplay(diagnostics, ([its, rn, tl]) => reportMembers(p.fn, tl, its, rn, onInfo));
  return x;
}

/**
 * Solves A x = b by the conjugate gradient method (A symmetric positive definite).
 *
 * `A` is a function `x -> A x` on trees, a matrix, or a tree of matrices (block diagonal); `b` is a
 * Tensor or a tree of tensors; the result has b's structure. Stops when
 * ‖b − A x‖ <= max(rtol·‖b‖, atol) or after `maxiter` iterations (10 × b's number of elements by
 * default, never 0). The outcome ({@link SolveInfo}) goes to `onInfo` and {@link lastSolveInfo}.
 *
 * @throws NumericalError on breakdown (pᵀAp <= 0) or non-finite values.
 */
export function cg<T>(A: LinearOperator<T>, b: T, options?: CgOptions<T>): T {
  const fn = 'cg';
  const o = checkOptions(fn, options, CG_OPTIONS);
  const s = krylovSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const p = problemOf(fn, b);
  const Aop = operatorOf(p, 'A', A);
  return toTree<T>(p, solveImplicitly(p, Aop, (q, op, transposed) => runCg(q, op, settingsFor(s, transposed), onInfo)));
}
