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
  /**
   * Inside vmap, one entry per member of the batch (each its own system); the fields above then
   * describe the batch: the most iterations, the worst member's residual and tolerance, and
   * whether every member converged.
   */
  readonly members?: readonly MemberSolveInfo[];
}

/** One member's outcome in a solve run inside vmap. */
export interface MemberSolveInfo {
  /** Iterations in which this member's solution still changed. */
  readonly iterations: number;
  /** Norm of this member's residual. */
  readonly residualNorm: number;
  /** This member's threshold, max(rtol·‖b_m‖, atol). */
  readonly tolerance: number;
  /** residualNorm <= tolerance. */
  readonly converged: boolean;
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
 * Reports a solve's outcome from each member's iteration count, residual norm and tolerance
 * (one member outside vmap): the batch's fields are the worst member's. @internal
 */
export function reportMembers(
  solver: string, tols: ArrayLike<number>, its: ArrayLike<number>, res: ArrayLike<number>, onInfo: OnInfo | undefined, error?: string,
): void {
  const members: MemberSolveInfo[] = Array.from(tols, (tolerance, m) => ({
    iterations: its[m],
    residualNorm: res[m],
    tolerance,
    converged: error === undefined && res[m] <= tolerance,
  }));
  // The worst member: unconverged first, then by how far its residual is from its tolerance.
  const ratio = (x: MemberSolveInfo): number => (x.tolerance > 0 ? x.residualNorm / x.tolerance : x.residualNorm === 0 ? 0 : Infinity);
  let worst = members[0];
  for (const x of members) {
    if ((!x.converged && worst.converged) || (x.converged === worst.converged && (ratio(x) > ratio(worst) || Number.isNaN(x.residualNorm)))) worst = x;
  }
  const iterations = Math.max(...members.map((x) => x.iterations));
  const converged = error === undefined && members.every((x) => x.converged);
  reportInfo(
    { solver, iterations, residualNorm: worst.residualNorm, tolerance: worst.tolerance, converged, error, ...(members.length > 1 ? { members: Object.freeze(members.map((x) => Object.freeze(x))) } : {}) },
    onInfo,
  );
}

/**
 * Runs an iterative solve's `body` and reports its outcome once: when it returns (a member has
 * converged when its residual norm is within its tolerance) or when it throws a NumericalError
 * (reported with the error, then rethrown). `state` reads each member's iteration count and
 * residual norm at that moment (one member outside vmap; see linalg/members.ts). @internal
 */
export function reportedMembers<T>(
  solver: string,
  tols: Float64Array,
  onInfo: OnInfo | undefined,
  state: () => [ArrayLike<number>, ArrayLike<number>],
  body: () => T,
): T {
  const report = (error?: string): void => {
    const [its, res] = state();
    reportMembers(solver, tols, its, res, onInfo, error);
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
