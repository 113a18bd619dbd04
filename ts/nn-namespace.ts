/**
 * `mg.nn` as users see it: modules and layers (ts/nn) plus the deep equilibrium layer `DEQ` and
 * `mg.nn.deq` (ts/deq), joined here because the DEQ layer uses the solvers, which sit above ts/nn.
 *
 * @module
 */
export * from './nn/index';
export { DEQ, type DEQOptions, type DEQBackward, type EquilibriumMap, type FixedPointSolverClass } from './deq/deq-layer';
export * as deq from './deq/index';
