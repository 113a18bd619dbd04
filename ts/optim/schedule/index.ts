/** `mg.schedule`: learning-rate schedules (count ↦ value), accepted wherever `lr` is.
 *
 * @module
 */
export { exponentialDecay, type ExponentialDecayOptions } from './exponential-decay';
export { linear, linear as linearSchedule, polynomial, polynomial as polynomialSchedule, type LinearOptions, type PolynomialOptions } from './polynomial';
