/** `solveGmres`: restarted GMRES on (A + ridge·I) x = b for general A. */
import { type GmresSettings, gmresSettings, runGmres } from '../linalg/gmres';
import type { OnInfo } from '../linalg/info';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
import { settingsFor, solveImplicitly } from '../linalg/implicit-solve';
import { checkOptions } from '../linalg/options';
import { type LinearSolver, commonOptions, makeSolver, withRidge } from './common';
import type { SolveCgOptions } from './cg';

/** Options of {@link solveGmres}. */
export interface SolveGmresOptions<T = unknown> extends SolveCgOptions<T> {
  /** Krylov steps per restart cycle (default 20); `maxiter` counts cycles. */
  restart?: number;
}

/** Resolved options of {@link solveGmres}. */
export interface ResolvedGmresOptions {
  /** Ridge term added to the operator: (A + ridge·I) x = b. */
  readonly ridge: number;
  /** Initial guess (a tree shaped like b), or undefined for zeros. */
  readonly init: unknown;
  /** Relative tolerance on the residual norm. */
  readonly rtol: number;
  /** Absolute tolerance on the residual norm. */
  readonly atol: number;
  /** Krylov subspace size between restarts. */
  readonly restart: number;
  /** Iteration limit, or undefined for the solver's default (which grows with the size of b). */
  readonly maxiter: number | undefined;
  /** Preconditioner approximating the inverse of the operator, if any. */
  readonly M: unknown;
}

/** A solver for (A + ridge·I) x = b by restarted GMRES (JAX's `gmres`); options are checked here. */
export function solveGmres<T = unknown>(options?: SolveGmresOptions<T>): LinearSolver<ResolvedGmresOptions> {
  const kind = 'solveGmres';
  const o = checkOptions(kind, options, ['ridge', 'init', 'rtol', 'atol', 'restart', 'maxiter', 'M']);
  const { ridge, init } = commonOptions(kind, o);
  const s: GmresSettings = gmresSettings(kind, o, 'init');
  const resolved: ResolvedGmresOptions = { ridge, init, rtol: s.rtol, atol: s.atol, restart: s.restart, maxiter: s.maxiter, M: s.M };
  return makeSolver(kind, resolved, (matvec, b, onInfo: OnInfo | undefined) => {
    const p = problemOf(kind, b);
    const A = operatorOf(p, 'matvec', withRidge(matvec, ridge));
    return toTree(p, solveImplicitly(p, A, (q, op, transposed) => runGmres(q, op, settingsFor(s, transposed), onInfo, 'init')));
  });
}
