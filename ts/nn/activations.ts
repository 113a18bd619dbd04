/** Activation and reshaping layers: ReLU, Tanh, Sigmoid, Softplus, Flatten. */
import { checkFinite, checkInt } from '../errors';
import { flatten } from '../ops/shape';
import type { Tensor } from '../tensor/tensor';
import { relu, sigmoid, softplus, tanh, type SoftplusOptions } from './functional';
import { Module } from './module';

/** max(x, 0) elementwise. */
export class ReLU extends Module {
  /** max(x, 0). */
  override forward(input: Tensor): Tensor {
    return relu(input);
  }
}

/** tanh elementwise. */
export class Tanh extends Module {
  /** tanh x. */
  override forward(input: Tensor): Tensor {
    return tanh(input);
  }
}

/** Logistic sigmoid elementwise. */
export class Sigmoid extends Module {
  /** 1 / (1 + e⁻ˣ). */
  override forward(input: Tensor): Tensor {
    return sigmoid(input);
  }
}

/**
 * log(1 + e^(beta·x)) / beta, linear where beta·x > threshold. Built as `new Softplus()`,
 * `new Softplus(beta, threshold)` or `new Softplus({ beta, threshold })`.
 */
export class Softplus extends Module {
  /** Sharpness (default 1). */
  readonly beta: number;
  /** Linear above beta·x > threshold (default 20). */
  readonly threshold: number;

  constructor(beta: number | SoftplusOptions = 1, threshold = 20) {
    super();
    const opts = typeof beta === 'object' && beta !== null ? beta : { beta, threshold };
    this.beta = checkFinite('Softplus', 'beta', opts.beta ?? 1);
    this.threshold = checkFinite('Softplus', 'threshold', opts.threshold ?? 20);
  }

  /** softplus(x; beta, threshold). */
  override forward(input: Tensor): Tensor {
    return softplus(input, { beta: this.beta, threshold: this.threshold });
  }

  /** `beta=…, threshold=…`. */
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** Flattens dims startDim..endDim into one (default: all but the batch dim). */
export class Flatten extends Module {
  /** First dim to flatten (default 1). */
  readonly startDim: number;
  /** Last dim to flatten (default -1). */
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = checkInt('Flatten', 'startDim', startDim);
    this.endDim = checkInt('Flatten', 'endDim', endDim);
  }

  /** The input with dims startDim..endDim merged. */
  override forward(input: Tensor): Tensor {
    return flatten(input, this.startDim, this.endDim);
  }

  /** `start_dim=…, end_dim=…`. */
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
