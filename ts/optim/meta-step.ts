/** One differentiable optimizer step, the core of TorchOpt's MetaOptimizer.step. */
import { typeError } from '../errors';
import type { GradientTransformation, OptState } from './types';
import { applyUpdates } from './update';

/**
 * Returns new parameters p + u computed out of place, graph-connected to the parameters, the
 * gradients (pass them from `autograd.grad(..., { createGraph: true })`), the state and any tensor
 * hyperparameter, so a loss at the new parameters can be differentiated through the step
 * (MAML-style unrolling); plus the new state. Nothing is modified in place. A null gradient leaves
 * its parameter unchanged. `state` defaults to `transform.init(params)`. Recording follows the
 * current grad mode (as TorchOpt, nothing is forced).
 */
export function metaStep<T, S = OptState>(transform: GradientTransformation<S>, params: T, grads: unknown, state?: S): [T, S] {
  if (typeof transform !== 'object' || transform === null || typeof transform.update !== 'function' || typeof transform.init !== 'function') {
    throw typeError('metaStep', 'transform', 'a GradientTransformation ({ init, update })', transform);
  }
  const s = state === undefined ? transform.init(params) : state;
  const [updates, next] = transform.update(grads, s, { params, inplace: false });
  return [applyUpdates(params, updates, { inplace: false }), next];
}
