/** `solveGmres`: restarted GMRES on (A + ridge·I) x = b for general A. */
import { type GmresSettings, gmresSettings, runGmres } from '../linalg/gmres';
import type { OnInfo } from '../linalg/info';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
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
  readonly ridge: number;
  readonly init: unknown;
  readonly rtol: number;
  readonly atol: number;
  readonly restart: number;
  readonly maxiter: number | undefined;
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
    return toTree(p, runGmres(p, operatorOf(p, 'matvec', withRidge(matvec, ridge)), s, onInfo, 'init'));
  });
}
