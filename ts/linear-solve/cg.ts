/** `solveCg`: conjugate gradient on (A + ridge·I) x = b for symmetric positive definite A. */
import { type KrylovSettings, krylovSettings, runCg } from '../linalg/cg';
import type { OnInfo } from '../linalg/info';
import { type LinearOperator, operatorOf, problemOf, toTree } from '../linalg/operator';
import { settingsFor, solveImplicitly } from '../linalg/implicit-solve';
import { checkOptions } from '../linalg/options';
import { type CommonSolveOptions, type LinearSolver, commonOptions, makeSolver, withRidge } from './common';

/** Options of {@link solveCg} and {@link solveNormalCg}. */
export interface SolveCgOptions<T = unknown> extends CommonSolveOptions<T> {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 0). */
  atol?: number;
  /** Iteration limit (default 10 × the number of elements of b). */
  maxiter?: number;
  /** Preconditioner approximating the inverse of the solved operator. */
  M?: LinearOperator<T>;
}

/** Resolved options of a CG-based solver. */
export interface ResolvedCgOptions {
  /** Ridge term added to the operator: (A + ridge·I) x = b. */
  readonly ridge: number;
  /** Initial guess (a tree shaped like b), or undefined for zeros. */
  readonly init: unknown;
  /** Relative tolerance on the residual norm. */
  readonly rtol: number;
  /** Absolute tolerance on the residual norm. */
  readonly atol: number;
  /** Iteration limit, or undefined for the solver's default (which grows with the size of b). */
  readonly maxiter: number | undefined;
  /** Preconditioner approximating the inverse of the operator, if any. */
  readonly M: unknown;
}

/** Option names of the CG factories. @internal */
export const SOLVE_CG_OPTIONS = ['ridge', 'init', 'rtol', 'atol', 'maxiter', 'M'] as const;

/** Checks and resolves CG factory options. @internal */
export function resolveCgOptions(fn: string, options: unknown): ResolvedCgOptions {
  const o = checkOptions(fn, options, SOLVE_CG_OPTIONS);
  const { ridge, init } = commonOptions(fn, o);
  const { rtol, atol, maxiter, M } = krylovSettings(fn, o, 'init');
  return { ridge, init, rtol, atol, maxiter, M };
}

/** The Krylov settings of resolved options. @internal */
export function krylovOf(r: ResolvedCgOptions): KrylovSettings {
  return { rtol: r.rtol, atol: r.atol, maxiter: r.maxiter, M: r.M, x0: r.init };
}

/**
 * A solver for (A + ridge·I) x = b by conjugate gradient, A symmetric positive definite
 * (TorchOpt's `solve_cg`). Options are checked here, at factory time.
 *
 * @throws NumericalError (when solving) if A + ridge·I is not positive definite on the Krylov space.
 */
export function solveCg<T = unknown>(options?: SolveCgOptions<T>): LinearSolver<ResolvedCgOptions> {
  const kind = 'solveCg';
  const r = resolveCgOptions(kind, options);
  return makeSolver(kind, r, (matvec, b, onInfo: OnInfo | undefined) => {
    const p = problemOf(kind, b);
    const A = operatorOf(p, 'matvec', withRidge(matvec, r.ridge));
    return toTree(p, solveImplicitly(p, A, (q, op, transposed) => runCg(q, op, settingsFor(krylovOf(r), transposed), onInfo, 'init')));
  });
}
