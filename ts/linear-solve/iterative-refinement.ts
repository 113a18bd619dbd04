/**
 * `solveIterativeRefinement` (JAXopt's `solve_iterative_refinement`): solve A x = b by repeatedly
 * solving a regularised system (A + ridge·I) δ = b − A x with an inner solver and correcting x.
 * The ridge makes each inner solve well conditioned; the refinement removes its bias, so an
 * ill-conditioned or singular-but-consistent A can still be solved accurately.
 */
import { NumericalError } from '../errors';
import { reportInfo } from '../linalg/info';
import { checkOptions, finiteNumber, nonNegative, positiveInt } from '../linalg/options';
import { problemOf } from '../linalg/operator';
import { treeAdd, treeNorm, treeSub, treeZerosLike } from '../tree/tree-math';
import { type AnyMatvec, type LinearSolver, type SolveFunction, makeSolver, withRidge } from './common';
import { solveGmres } from './gmres';

/** Options of {@link solveIterativeRefinement}. */
export interface SolveIterativeRefinementOptions {
  /** Ridge of the inner systems (default 1e-6). */
  ridge?: number;
  /** Inner solver of (A + ridge·I) δ = r (default `solveGmres()`). */
  solve?: SolveFunction;
  /** Refinement steps at most (default 10). */
  maxiter?: number;
  /** Stop when ‖b − A x‖ ≤ tol·max(1, ‖b‖) (default 1e-7). */
  tol?: number;
}

/** Resolved options of {@link solveIterativeRefinement}. */
export interface ResolvedIterativeRefinementOptions {
  /** Inner ridge. */
  readonly ridge: number;
  /** Refinement steps at most. */
  readonly maxiter: number;
  /** Relative tolerance. */
  readonly tol: number;
}

/**
 * A linear solver by iterative refinement over a regularised inner solver. Differentiable through
 * its (few) refinement steps; each inner solve is differentiable by its own implicit rule. Reports
 * `{ iterations, residualNorm, converged }` through `onInfo`.
 *
 * @throws NumericalError if the residual becomes non-finite.
 */
export function solveIterativeRefinement(options?: SolveIterativeRefinementOptions): LinearSolver<ResolvedIterativeRefinementOptions> {
  const kind = 'solveIterativeRefinement';
  const o = checkOptions(kind, options, ['ridge', 'solve', 'maxiter', 'tol']);
  const ridge = nonNegative(kind, 'ridge', o.ridge, 1e-6);
  const maxiter = positiveInt(kind, 'maxiter', o.maxiter) ?? 10;
  const tol = finiteNumber(kind, 'tol', o.tol, 1e-7);
  if (o.solve !== undefined && typeof o.solve !== 'function') throw new TypeError(`${kind}: argument 'solve' must be a linear solver, got ${typeof o.solve}`);
  const inner = (o.solve as SolveFunction | undefined) ?? solveGmres();
  return makeSolver(kind, { ridge, maxiter, tol }, (matvec: AnyMatvec, b, onInfo) => {
    problemOf(kind, b);
    const regularised = withRidge(matvec, ridge);
    const threshold = tol * Math.max(1, treeNorm(b));
    let x: unknown = treeZerosLike(b);
    let r: unknown = b;
    let res = treeNorm(r);
    let it = 0;
    while (res > threshold && it < maxiter) {
      x = treeAdd(x, inner(regularised, r));
      r = treeSub(b, matvec(x));
      res = treeNorm(r);
      it++;
      if (!Number.isFinite(res)) {
        reportInfo({ solver: kind, iterations: it, residualNorm: res, tolerance: threshold, converged: false, error: 'non-finite residual' }, onInfo);
        throw new NumericalError(`${kind}: the residual is ${res} after ${it} refinement step(s); the operator or the inner solver produced non-finite values`);
      }
    }
    reportInfo({ solver: kind, iterations: it, residualNorm: res, tolerance: threshold, converged: res <= threshold }, onInfo);
    return x;
  });
}
