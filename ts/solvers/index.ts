/**
 * `mg.solvers`: iterative solvers for fixed points, roots and minimisation, each `run`
 * differentiable by implicit differentiation of its optimality condition (JAXopt's solvers, in
 * camelCase), loud on failure (Optimistix's result codes; `throw: false` returns them instead).
 *
 * @module
 */
export { IterativeSolver, type SolverOptions, type SolverResult, type SolverState, type SolverStep, type SolverFn, type UserFunction, type ResolvedSolverOptions } from './base';
export { FixedPointIteration, type FixedPointIterationOptions } from './fixed-point-iteration';
export { AndersonAcceleration, type AndersonAccelerationOptions, type AndersonState } from './anderson';
export { Broyden, type BroydenOptions, type BroydenState } from './broyden';
export { Newton, type NewtonOptions, type NewtonState } from './newton';
export { Bisection, type BisectionOptions, type BisectionState } from './bisection';
export {
  GradientDescent, ProximalGradient, ProjectedGradient, type GradientSolverOptions, type ProximalGradientOptions,
  type ProjectedGradientOptions, type ProximalGradientState, type ProxOperator, type Projection,
} from './proximal-gradient';
export { LBFGS, type LBFGSOptions, type LBFGSState } from './lbfgs';
