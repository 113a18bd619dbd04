/**
 * Diagnostics of the backward linear solves of implicit differentiation: the last solve's info,
 * and a once-per-site warning when a solve stopped before reaching its tolerance.
 */
import type { SolveInfo } from '../../linalg/info';

/** What a linear solve reports: the linear-solve layer's {@link linalg.SolveInfo}. */
export type { SolveInfo } from '../../linalg/info';

/** A backward solve's info, with where it came from. */
export interface BackwardSolveInfo extends SolveInfo {
  /** Which wrapper ran the solve, e.g. `customRoot(innerSolver)`. */
  site: string;
  /** ‖F(x*, θ)‖, the optimality function's norm at the solution being differentiated. */
  rootResidual?: number;
}

let last: BackwardSolveInfo | null = null;
// Per warning code, keyed by the wrapper (its resolved options object), not its name: two wrappers may share a name.
const warned = new Map<string, WeakSet<object>>();

/** Emits a process warning with `code` once per `key`. @internal */
export function warnOnce(key: object, code: string, message: string): void {
  let set = warned.get(code);
  if (set === undefined) warned.set(code, (set = new WeakSet()));
  if (set.has(key)) return;
  set.add(key);
  process.emitWarning(message, { code });
}


/** The info of the most recent backward linear solve of implicit differentiation (null before any). */
export function lastSolveInfo(): BackwardSolveInfo | null {
  return last;
}

/** Records a backward solve's info and warns once per site when it did not converge. @internal */
export function reportSolve(
  info: BackwardSolveInfo,
  onSolve?: (info: BackwardSolveInfo) => void,
  warn = true,
  key: object = {},
): void {
  last = info;
  onSolve?.(info);
  // A failed solve raises its own error; the warning is for solves that stopped early.
  if (warn && !info.converged && info.error === undefined) {
    warnOnce(
      key,
      'METAGRAD_SOLVE_NOT_CONVERGED',
      // A hand-written solver reports no iteration count (NaN): say so rather than "after NaN".
      `${info.site}: the backward linear solve ${Number.isNaN(info.iterations) ? '(a solver that reports no iteration count) stopped' : `stopped after ${info.iterations} iterations`} ` +
        `with residual norm ${info.residualNorm.toExponential(3)} without meeting its tolerance; the implicit gradient is approximate. ` +
        `${Number.isNaN(info.iterations) ? 'Solve more accurately' : 'Raise maxiter or loosen rtol/atol'} (this warning is shown once per wrapper; see mg.diff.implicit.lastSolveInfo()).`,
    );
  }
}
