/** `solveDense`: materialise the full matrix of (A + ridge·I) and solve it by LU, Cholesky or QR. */
import type { OnInfo } from '../linalg/info';
import { checkOptions, oneOf } from '../linalg/options';
import { solveImplicitly } from '../linalg/implicit-solve';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
import { DENSE_METHODS, type DenseMethod } from '../linalg/solve';
import { type CommonSolveOptions, type LinearSolver, commonOptions, makeSolver, withRidge } from './common';
import { runDenseVec } from './materialize';

/** Options of {@link solveDense}. */
export interface SolveDenseOptions<T = unknown> extends CommonSolveOptions<T> {
  /** 'lu' (default), 'cholesky' (A + ridge·I symmetric positive definite) or 'qr'. */
  method?: DenseMethod;
}

/** Resolved options of {@link solveDense}. */
export interface ResolvedDenseOptions {
  /** Ridge term added to the operator: (A + ridge·I) x = b. */
  readonly ridge: number;
  /** Initial guess (a tree shaped like b), or undefined for zeros. */
  readonly init: unknown;
  /** Dense factorisation: 'lu', 'cholesky' or 'qr'. */
  readonly method: DenseMethod;
}

/**
 * A direct solver: builds the full matrix of the matvec over all leaves of b (n matvecs) and solves
 * it densely (native Eigen); differentiable in what the matvec and b depend on. `init` is accepted
 * and ignored. Options are checked here.
 *
 * @throws NumericalError (when solving) if the matrix is singular / not positive definite.
 */
export function solveDense<T = unknown>(options?: SolveDenseOptions<T>): LinearSolver<ResolvedDenseOptions> {
  const kind = 'solveDense';
  const o = checkOptions(kind, options, ['ridge', 'init', 'method']);
  const { ridge, init } = commonOptions(kind, o);
  const method = oneOf(kind, 'method', o.method, DENSE_METHODS, 'lu');
  return makeSolver(kind, { ridge, init, method }, (matvec, b, onInfo: OnInfo | undefined) => {
    const p = problemOf(kind, b);
    const A = operatorOf(p, 'matvec', withRidge(matvec, ridge));
    return toTree(p, solveImplicitly(p, A, (q, op) => runDenseVec(kind, q, op, method, onInfo)));
  });
}
