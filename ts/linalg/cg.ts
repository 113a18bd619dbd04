/**
 * Conjugate gradient for A x = b with A symmetric positive definite (JAX / scipy semantics), on
 * trees. The iterations run on values; with grad mode on x is differentiable in everything A and b
 * depend on, by the implicit rule of ts/linalg/implicit-solve.ts (exact, whatever the iteration count).
 */
import { NumericalError } from '../errors';
import { div } from '../ops/elementwise';
import type { Tensor } from '../tensor/tensor';
import { treeAxpy, treeNorm, treeSub, treeVdotT } from '../tree/tree-math';
import { type OnInfo, reported } from './info';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  toleranceOf, zerosVec,
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
  const { tol } = toleranceOf(p, s.rtol, s.atol);
  const x0 = initialOf(p, x0Name, s.x0);
  let k = 0;
  let rnorm = Number.NaN;
  // The closure reads k and rnorm when the solve ends, normally or by a NumericalError.
  return reported(p.fn, tol, onInfo, () => [k, rnorm], () => {
    let x = x0 ?? zerosVec(p);
    let r = x0 ? treeSub(p.b, A(x0)) : p.b;
    let z = M ? M(r) : r;
    let d = z;
    let gamma: Tensor = treeVdotT(r, z);
    rnorm = treeNorm(r);
    if (!Number.isFinite(rnorm)) throw new NumericalError(`${p.fn}: the initial residual b − A x0 has non-finite entries`);
    if (M && gamma.item() < 0) throw new NumericalError(`${p.fn}: rᵀMr = ${gamma.item()} < 0 at iteration 0, so the preconditioner M is not positive definite`);
    while (!(rnorm <= tol) && k < maxiter) {
      const Ad = A(d);
      const dAd = treeVdotT(d, Ad);
      const curvature = dAd.item();
      const it = k + 1;
      if (!Number.isFinite(curvature)) {
        throw new NumericalError(`${p.fn}: pᵀAp is ${curvature} at iteration ${it}; the operator produced non-finite values`);
      }
      if (curvature <= 0) {
        throw new NumericalError(
          `${p.fn}: breakdown at iteration ${it}: pᵀAp = ${curvature} <= 0, so the operator is not positive definite (singular or indefinite); ` +
            'use solveNormalCg, gmres or bicgstab for such systems, or add a ridge',
        );
      }
      const alpha = div(gamma, dAd);
      x = treeAxpy(alpha, d, x);
      r = treeSub(r, Ad, alpha);
      z = M ? M(r) : r;
      const gammaNext = treeVdotT(r, z);
      const g = gammaNext.item();
      k = it;
      rnorm = treeNorm(r);
      if (!Number.isFinite(rnorm) || !Number.isFinite(g)) {
        throw new NumericalError(`${p.fn}: the residual became non-finite at iteration ${it} (‖r‖ = ${rnorm}, rᵀMr = ${g})`);
      }
      if (M && g < 0) {
        throw new NumericalError(`${p.fn}: breakdown at iteration ${it}: rᵀMr = ${g} < 0, so the preconditioner M is not positive definite`);
      }
      d = treeAxpy(div(gammaNext, gamma), d, z);
      gamma = gammaNext;
    }
    return x;
  });
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
