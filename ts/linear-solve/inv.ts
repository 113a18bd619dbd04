/** `solveInv`: (A + ridge·I)⁻¹ b by a Neumann series or by a direct solve of the full matrix. */
import type { OnInfo } from '../linalg/info';
import { NS_OPTIONS, nsSettings, runNs } from '../linalg/ns';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
import { settingsFor, solveImplicitly } from '../linalg/implicit-solve';
import { boolean, checkOptions } from '../linalg/options';
import { type CommonSolveOptions, type LinearSolver, commonOptions, makeSolver, withRidge } from './common';
import { runDenseVec } from './materialize';

/** Options of {@link solveInv}. */
export interface SolveInvOptions<T = unknown> extends CommonSolveOptions<T> {
  /** Use the Neumann series (default false: materialise the full matrix and solve it by LU). */
  ns?: boolean;
  /** Neumann only: number of series terms after the first. */
  maxiter?: number;
  /** Neumann only: series step α (default: 1, or 1/λmax when a power-iteration estimate puts λmax above 1.8). */
  alpha?: number;
  /** Neumann only: relative tolerance for stopping early (default 1e-5). */
  rtol?: number;
  /** Neumann only: absolute tolerance (default 0). */
  atol?: number;
}

/** Resolved options of {@link solveInv}. */
export interface ResolvedInvOptions {
  /** Ridge term added to the operator: (A + ridge·I) x = b. */
  readonly ridge: number;
  /** Initial guess (a tree shaped like b), or undefined for zeros. */
  readonly init: unknown;
  /** Whether the inverse is a Neumann series rather than a direct solve. */
  readonly ns: boolean;
  /** Iteration limit, or undefined for the solver's default (which grows with the size of b). */
  readonly maxiter: number | undefined;
  /** Step size of the Neumann series. */
  /** undefined: chosen per solve from a power-iteration estimate of λmax (see {@link linalg.ns}). */
  readonly alpha: number | undefined;
  /** Relative tolerance on the residual norm. */
  readonly rtol: number;
  /** Absolute tolerance on the residual norm. */
  readonly atol: number;
}

const NS_ONLY = NS_OPTIONS.filter((k) => k !== 'x0' && k !== 'onInfo');

/**
 * A solver for (A + ridge·I) x = b by matrix inversion (TorchOpt's `solve_inv`): with `ns: true` a
 * Neumann series (`init` is the initial guess), otherwise the full matrix across all leaves of b is
 * materialised and solved by LU (`init` is ignored). Options are checked here; Neumann options
 * without `ns: true` are rejected rather than silently ignored.
 */
export function solveInv<T = unknown>(options?: SolveInvOptions<T>): LinearSolver<ResolvedInvOptions> {
  const kind = 'solveInv';
  const o = checkOptions(kind, options, ['ridge', 'init', 'ns', ...NS_ONLY]);
  const { ridge, init } = commonOptions(kind, o);
  const useNs = boolean(kind, 'ns', o.ns, false);
  if (!useNs) {
    const stray = NS_ONLY.find((k) => o[k] !== undefined);
    if (stray) throw new TypeError(`${kind}: option '${stray}' applies only to the Neumann series; pass ns: true to use it`);
  }
  const s = nsSettings(kind, o, 'init');
  const resolved: ResolvedInvOptions = { ridge, init, ns: useNs, maxiter: s.maxiter, alpha: s.alpha, rtol: s.rtol, atol: s.atol };
  return makeSolver(kind, resolved, (matvec, b, onInfo: OnInfo | undefined) => {
    const p = problemOf(kind, b);
    const A = operatorOf(p, 'matvec', withRidge(matvec, ridge));
    if (!useNs) return toTree(p, solveImplicitly(p, A, (q, op) => runDenseVec(kind, q, op, 'lu', onInfo)));
    return toTree(p, solveImplicitly(p, A, (q, op, transposed) => runNs(q, op, settingsFor(s, transposed), onInfo, 'init')));
  });
}
