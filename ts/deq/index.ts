/**
 * `mg.nn.deq`: deep-equilibrium diagnostics and regularisers.
 *
 * @module
 */
export { jacobianRegularization, spectralRadius, type EquilibriumFunction, type JacobianRegularizationOptions, type SpectralRadiusOptions } from './regularization';
