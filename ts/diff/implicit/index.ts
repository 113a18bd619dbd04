/**
 * `mg.diff.implicit`: implicit differentiation (TorchOpt's torchopt.diff.implicit).
 *
 * @module
 */
export { customRoot, customFixedPoint, rootVjp, rootJvp, type CustomRootOptions, type OptimalityFn, type RootDiffOptions } from './root';
export { lastSolveInfo, type SolveInfo, type BackwardSolveInfo } from './diagnostics';
export type { LinearSolver, MatVec } from './types';
export { ImplicitMetaGradientModule, type ImplicitModuleOptions } from './meta-module';
