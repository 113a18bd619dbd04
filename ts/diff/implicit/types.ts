/** Types shared by the implicit-differentiation wrappers. */
import type { SolveInfo } from './diagnostics';

/** A linear operator on trees: v ↦ A v. */
export type MatVec = (v: unknown) => unknown;

/** A linear solver as the `mg.linearSolve` factories return: solves A x = b for x. */
export type LinearSolver = (matvec: MatVec, b: unknown, opts?: { onInfo?: (info: SolveInfo) => void }) => unknown;
