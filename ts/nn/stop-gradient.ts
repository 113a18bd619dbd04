/** TorchOpt's `stop_gradient`: cut tensors from the graph in place, keeping `requiresGrad`. */
import { detach_, requiresGrad_ } from '../ops/inplace';
import { leaves } from '../tree/tree';
import { Module } from './module';
import { ModuleState, hasStateDict } from './state-dict';

/**
 * Detaches in place every tensor of `target` from the graph that produced it, keeping its
 * `requiresGrad` flag, so later gradients stop there (TorchOpt's `stop_gradient`). `target` is a
 * module (its parameters), a {@link ModuleState} (its parameters and buffers), an optimizer-like
 * object with `stateDict()` (its state), or a tree of tensors.
 */
export function stopGradient(target: unknown): void {
  let tensors;
  if (target instanceof ModuleState) tensors = leaves([target.params, target.buffers]);
  else if (target instanceof Module) tensors = target.parameters();
  else if (hasStateDict(target)) tensors = leaves(target.stateDict());
  else tensors = leaves(target);
  for (const t of tensors) {
    const flag = t.requiresGrad;
    requiresGrad_(detach_(t), flag);
  }
}
