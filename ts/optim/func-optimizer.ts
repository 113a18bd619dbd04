/** `FuncOptimizer`: holds a transformation's state for functional, differentiable steps (TorchOpt's `FuncOptimizer`). */
import { grad } from '../autograd/engine';
import { typeError } from '../errors';
import { type Tensor, isTensor } from '../tensor/tensor';
import { flattenLeaves, unflattenLeaves } from './flat';
import type { GradientTransformation, Leaf, OptState } from './types';
import { applyUpdates } from './update';

/** Options of {@link FuncOptimizer}. */
export interface FuncOptimizerOptions {
  /** Default of `step`'s `inplace` (default false: new, graph-connected parameters). */
  inplace?: boolean;
}

/**
 * Keeps the state of `impl` between steps. `step(loss, params)` differentiates `loss` with respect
 * to `params` with `createGraph` (unused parameters get no update), applies the update and returns
 * the new parameters: out of place by default, so a later loss can be differentiated through the
 * whole trajectory.
 */
export class FuncOptimizer {
  /** The transformation being run. */
  readonly impl: GradientTransformation;
  /** Default of `step`'s `inplace`. */
  readonly inplace: boolean;
  private state: OptState | undefined = undefined;

  /** Wraps a transformation such as `mg.sgd({ lr })` or a `chain`. */
  constructor(impl: GradientTransformation, opts?: FuncOptimizerOptions) {
    if (typeof impl !== 'object' || impl === null || typeof impl.init !== 'function' || typeof impl.update !== 'function') {
      throw typeError('FuncOptimizer', 'impl', 'a GradientTransformation ({ init, update })', impl);
    }
    const inplace = opts?.inplace ?? false;
    if (typeof inplace !== 'boolean') throw typeError('FuncOptimizer', 'inplace', 'a boolean', inplace);
    this.impl = impl;
    this.inplace = inplace;
  }

  /** One step on `params` (a tree of tensors) from the gradient of `loss`; returns the new parameters. */
  step<T>(loss: Tensor, params: T, inplace?: boolean): T {
    if (!isTensor(loss)) throw typeError('FuncOptimizer.step', 'loss', 'a Tensor', loss);
    const mode = inplace ?? this.inplace;
    if (this.state === undefined) this.state = this.impl.init(params);
    const [leaves, spec] = flattenLeaves(params);
    const tensors = leaves.filter((p): p is Tensor => p !== null);
    const gs = grad(loss, tensors, { createGraph: true, allowUnused: true });
    let k = 0;
    const grads = unflattenLeaves(spec, leaves.map((p): Leaf => (p === null ? null : gs[k++])));
    const [updates, next] = this.impl.update(grads, this.state, { params, inplace: mode });
    this.state = next;
    return applyUpdates(params, updates, { inplace: mode });
  }

  /** The state (a reference, as TorchOpt); undefined before the first step. */
  stateDict(): OptState | undefined {
    return this.state;
  }

  /** Replaces the state (by reference, as TorchOpt). */
  loadStateDict(state: OptState): void {
    this.state = state;
  }
}
