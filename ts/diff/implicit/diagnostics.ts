/**
 * Diagnostics of the backward linear solves of implicit differentiation: the last solve's info,
 * and a once-per-site warning when a solve stopped before reaching its tolerance.
 */

/** What a linear solve reports. */
export interface SolveInfo {
  /** Iterations run. */
  iterations: number;
  /** Final residual norm ‖A x − b‖. */
  residualNorm: number;
  /** Whether the requested tolerance was met. */
  converged: boolean;
}

/** A backward solve's info, with where it came from. */
export interface BackwardSolveInfo extends SolveInfo {
  /** Which wrapper ran the solve, e.g. `customRoot(innerSolver)`. */
  site: string;
}

let last: BackwardSolveInfo | null = null;
// Keyed by the wrapper (its resolved options object), not its name: two wrappers may share a name.
const warned = new WeakSet<object>();

/** The info of the most recent backward linear solve of implicit differentiation (null before any). */
export function lastSolveInfo(): BackwardSolveInfo | null {
  return last;
}

/** Records a backward solve's info and warns once per site when it did not converge. @internal */
export function reportSolve(
  info: BackwardSolveInfo & { error?: string },
  onSolve?: (info: BackwardSolveInfo) => void,
  warn = true,
  key: object = {},
): void {
  last = info;
  onSolve?.(info);
  // A failed solve raises its own error; the warning is for solves that stopped early.
  if (warn && !info.converged && info.error === undefined && !warned.has(key)) {
    warned.add(key);
    process.emitWarning(
      `${info.site}: the backward linear solve stopped after ${info.iterations} iterations with residual norm ` +
        `${info.residualNorm.toExponential(3)} without meeting its tolerance; the implicit gradient is approximate. ` +
        'Raise maxiter or loosen rtol/atol (this warning is shown once per wrapper; see mg.diff.implicit.lastSolveInfo()).',
      { code: 'METAGRAD_SOLVE_NOT_CONVERGED' },
    );
  }
}
