/**
 * Differentiable (unrolled) meta-optimizers, TorchOpt's `MetaOptimizer`: `step(loss)` replaces the
 * module's parameters with new, graph-connected tensors p + u(∇loss), so a later loss can be
 * differentiated through the steps back to the initial parameters (MAML-style).
 */
import { grad } from '../../autograd/engine';
import { typeError } from '../../errors';
import { Module } from '../../nn/module';
import { type Tensor, isTensor } from '../../tensor/tensor';
import { buildAdam, type AdamOptions } from '../alias/adam';
import { buildSgd, type SGDOptions } from '../alias/sgd';
import { metaStep } from '../meta-step';
import type { GradientTransformation, OptState } from '../types';

/** A differentiable optimizer over a module's parameters. */
export class MetaOptimizer {
  /** The optimizer state (moments etc.), graph-connected when `momentRequiresGrad`. */
  state: OptState;
  private readonly names: string[];

  /** Optimizes `module`'s parameters with the gradient transformation `impl`. */
  constructor(
    /** The module whose parameters {@link step} replaces. */
    readonly module: Module,
    /** The gradient transformation computing the (differentiable) updates. */
    readonly impl: GradientTransformation,
  ) {
    if (!(module instanceof Module)) throw typeError(this.constructor.name, 'module', 'an nn.Module', module);
    this.names = module.namedParameters().map(([n]) => n);
    if (this.names.length === 0) throw new RangeError(`${this.constructor.name}: the module has no parameters to optimize`);
    this.state = impl.init(this.params());
  }

  private params(): Tensor[] {
    return this.names.map((n) => this.module.getParameter(n) as Tensor);
  }

  /**
   * One differentiable step: gradients of `loss` with createGraph, updates computed out of place,
   * and the module's parameter slots set to the new tensors.
   */
  step(loss: Tensor): void {
    if (!isTensor(loss)) throw typeError(`${this.constructor.name}.step`, 'loss', 'a Tensor', loss);
    const params = this.params();
    const grads = grad(loss, params, { createGraph: true, allowUnused: true });
    const [next, state] = metaStep(this.impl, params, grads, this.state);
    this.state = state;
    this.names.forEach((n, i) => this.module.setParameter(n, next[i]));
  }

  /** The state, for checkpointing (TorchOpt's `state_dict`). */
  stateDict(): OptState {
    return this.state;
  }

  /** Restores a state from {@link stateDict}. */
  loadStateDict(state: OptState): void {
    this.state = state;
  }
}

/** Differentiable SGD (TorchOpt's `MetaSGD`; momentum buffers require grad by default). */
export class MetaSGD extends MetaOptimizer {
  constructor(module: Module, opts: SGDOptions) {
    super(module, buildSgd('MetaSGD', { momentRequiresGrad: true, ...opts }));
  }
}

/** Differentiable Adam (TorchOpt's `MetaAdam`; moments require grad by default). */
export class MetaAdam extends MetaOptimizer {
  constructor(module: Module, opts: AdamOptions = {}) {
    super(module, buildAdam('MetaAdam', { momentRequiresGrad: true, ...opts }));
  }
}
