/**
 * BiCGSTAB for general (non-symmetric) A x = b, on trees (van der Vorst's recurrence, as JAX and
 * scipy, with right preconditioning). The iterations run on values; with grad mode on the result
 * is differentiable by the implicit rule of ts/linalg/implicit-solve.ts.
 */
import { NumericalError } from '../errors';
import { div, mul } from '../ops/elementwise';
import type { Tensor } from '../tensor/tensor';
import { treeAdd, treeAxpy, treeNorm, treeSub, treeVdotT } from '../tree/tree-math';
import { type KrylovSettings, krylovSettings } from './cg';
import { type OnInfo, reported } from './info';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  toleranceOf, zerosVec,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { callback, checkOptions } from './options';

/** Options of {@link bicgstab}. */
export interface BicgstabOptions<T> {
  /** Initial guess (b's structure); zeros by default. */
  x0?: T;
  /** Relative tolerance: stop when ‖b − A x‖ <= max(rtol·‖b‖, atol). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Iteration limit. Default 10 × (number of elements of b). */
  maxiter?: number;
  /** Preconditioner approximating A⁻¹, in any form `A` accepts. */
  M?: LinearOperator<T>;
  /** Receives the {@link SolveInfo} of this solve. */
  onInfo?: OnInfo;
}

/** Option names of {@link bicgstab}. */
export const BICGSTAB_OPTIONS = ['x0', 'rtol', 'atol', 'maxiter', 'M', 'onInfo'] as const;

function breakdown(p: Problem, it: number, what: string, why: string): NumericalError {
  return new NumericalError(`${p.fn}: breakdown at iteration ${it}: ${what} = 0 (${why})`);
}

function finiteOr(p: Problem, it: number, what: string, value: number): number {
  if (!Number.isFinite(value)) throw new NumericalError(`${p.fn}: ${what} is ${value} at iteration ${it}; the operator produced non-finite values`);
  return value;
}

/**
 * Runs BiCGSTAB on a prepared problem. Breakdowns (r̂ᵀr = 0, r̂ᵀv = 0, ‖t‖ = 0 or ω = 0 before
 * convergence) and non-finite values raise a NumericalError; non-convergence is reported. @internal
 */
export function runBicgstab(p: Problem, A: VecOp, s: KrylovSettings, onInfo?: OnInfo, x0Name = 'x0'): Vec {
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
    const rhat = r;
    rnorm = treeNorm(r);
    if (!Number.isFinite(rnorm)) throw new NumericalError(`${p.fn}: the initial residual b − A x0 has non-finite entries`);
    let d: Vec = r;
    let v: Vec = r;
    let rhoPrev: Tensor | null = null;
    let alpha: Tensor | null = null;
    let omega: Tensor | null = null;
    while (!(rnorm <= tol) && k < maxiter) {
      const it = k + 1;
      const rho = treeVdotT(rhat, r);
      if (finiteOr(p, it, 'r̂ᵀr', rho.item()) === 0) throw breakdown(p, it, 'r̂ᵀr', 'the shadow residual is orthogonal to the residual');
      if (rhoPrev && alpha && omega) {
        const beta = mul(div(rho, rhoPrev), div(alpha, omega));
        d = treeAdd(r, treeSub(d, v, omega), beta);
      }
      const dh = M ? M(d) : d;
      v = A(dh);
      const rv = treeVdotT(rhat, v);
      if (finiteOr(p, it, 'r̂ᵀv', rv.item()) === 0) throw breakdown(p, it, 'r̂ᵀAp', 'the operator is singular or the method stagnated');
      alpha = div(rho, rv);
      const sres = treeSub(r, v, alpha);
      const snorm = finiteOr(p, it, '‖s‖', treeNorm(sres));
      k = it;
      if (snorm <= tol) {
        x = treeAxpy(alpha, dh, x);
        r = sres;
        rnorm = snorm;
        break;
      }
      const sh = M ? M(sres) : sres;
      const t = A(sh);
      const tt = treeVdotT(t, t);
      if (finiteOr(p, it, '‖t‖²', tt.item()) === 0) throw breakdown(p, it, '‖A s‖', 'A maps a non-zero vector to 0, so it is singular');
      omega = div(treeVdotT(t, sres), tt);
      if (omega.item() === 0) throw breakdown(p, it, 'ω = tᵀs/tᵀt', 't is orthogonal to s; the method stagnated');
      x = treeAxpy(omega, sh, treeAxpy(alpha, dh, x));
      r = treeSub(sres, t, omega);
      rnorm = finiteOr(p, it, '‖r‖', treeNorm(r));
      rhoPrev = rho;
    }
    return x;
  });
}

/**
 * Solves A x = b by BiCGSTAB (any non-singular A).
 *
 * `A` is a function on trees, a matrix or a tree of matrices (block diagonal). Stops when
 * ‖b − A x‖ <= max(rtol·‖b‖, atol) or after `maxiter` iterations (10 × b's number of elements by
 * default). The outcome goes to `onInfo` and {@link lastSolveInfo}.
 *
 * @throws NumericalError on breakdown or non-finite values.
 */
export function bicgstab<T>(A: LinearOperator<T>, b: T, options?: BicgstabOptions<T>): T {
  const fn = 'bicgstab';
  const o = checkOptions(fn, options, BICGSTAB_OPTIONS);
  const s = krylovSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const p = problemOf(fn, b);
  return toTree<T>(p, solveImplicitly(p, operatorOf(p, 'A', A), (q, op, transposed) => runBicgstab(q, op, settingsFor(s, transposed), onInfo)));
}
