/**
 * What every iterative solver reports about its last run, delivered through the `onInfo` option
 * and kept for {@link lastSolveInfo}.
 */
import { NumericalError } from '../errors';

/** Outcome of one linear solve. */
export interface SolveInfo {
  /** Which solver ran, e.g. `cg`, `gmres`, `solveNormalCg`. */
  readonly solver: string;
  /** Iterations performed (Krylov steps for gmres, series terms for ns; 0 for direct solves). */
  readonly iterations: number;
  /** Euclidean norm of the residual b − A x of the returned x (over all leaves). */
  readonly residualNorm: number;
  /** The threshold the residual norm was compared with: max(rtol·‖b‖, atol) (Infinity for direct solves). */
  readonly tolerance: number;
  /** True when residualNorm <= tolerance (direct solves: the factorisation succeeded). */
  readonly converged: boolean;
  /** Set when the solve failed (breakdown, non-finite values); the error is thrown after reporting. */
  readonly error?: string;
}

/** Callback receiving a solve's {@link SolveInfo}. */
export type OnInfo = (info: SolveInfo) => void;

let last: SolveInfo | null = null;

/** The info of the most recent solve run by any solver in this process, or null before the first. */
export function lastSolveInfo(): SolveInfo | null {
  return last;
}

/** Records `info` as the latest and hands it to `onInfo`. @internal */
export function reportInfo(info: SolveInfo, onInfo?: OnInfo): SolveInfo {
  const { error, ...rest } = info;
  const frozen: SolveInfo = Object.freeze(error === undefined ? rest : { ...rest, error });
  last = frozen;
  if (onInfo) onInfo(frozen);
  return frozen;
}

/**
 * Runs an iterative solve's `body` and reports its outcome once: when it returns (converged when
 * the residual norm is within `tol`) or when it throws a NumericalError (reported with the error,
 * then rethrown). `state` reads the iteration count and residual norm at that moment. @internal
 */
export function reported<T>(solver: string, tol: number, onInfo: OnInfo | undefined, state: () => [number, number], body: () => T): T {
  const report = (error?: string): void => {
    const [iterations, residualNorm] = state();
    reportInfo({ solver, iterations, residualNorm, tolerance: tol, converged: error === undefined && residualNorm <= tol, error }, onInfo);
  };
  let x: T;
  try {
    x = body();
  } catch (e) {
    if (e instanceof NumericalError) report(e.message);
    throw e;
  }
  report();
  return x;
}
