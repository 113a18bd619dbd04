/** `mg.autograd`: the reverse-mode engine's entry points.
 *
 * @module
 */
export { backward, grad, type GradOptions } from './engine';
export { enableGrad, isGradEnabled, noGrad } from './grad-mode';
