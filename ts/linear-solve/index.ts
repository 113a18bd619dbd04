/**
 * `mg.linearSolve`: factories of linear solvers `solve(matvec, b, opts?) -> x` (TorchOpt's
 * `torchopt.linear_solve`), used by implicit differentiation.
 *
 * @module
 */
export { type CommonSolveOptions, type LinearSolver, type SolveCallOptions } from './common';
export { solveCg, type ResolvedCgOptions, type SolveCgOptions } from './cg';
export { solveNormalCg } from './normal-cg';
export { solveInv, type ResolvedInvOptions, type SolveInvOptions } from './inv';
export { solveGmres, type ResolvedGmresOptions, type SolveGmresOptions } from './gmres';
export { solveBicgstab } from './bicgstab';
export { solveDense, type ResolvedDenseOptions, type SolveDenseOptions } from './dense';
export { makeRmatvec } from './rmatvec';
export { solveIterativeRefinement, type ResolvedIterativeRefinementOptions, type SolveIterativeRefinementOptions } from './iterative-refinement';
export { normalizeMatvec } from './normalize-matvec';
