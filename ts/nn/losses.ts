/**
 * Loss modules (PyTorch's `nn.MSELoss`, `nn.CrossEntropyLoss`, `nn.NLLLoss`, `nn.BCEWithLogitsLoss`):
 * their options fixed at construction, `forward(input, target)` calling the functional form.
 */
import type { Tensor } from '../tensor/tensor';
import {
  type BCEWithLogitsOptions, type CrossEntropyOptions, type LossOptions, type NLLLossOptions,
  binaryCrossEntropyWithLogits, crossEntropy, mseLoss, nllLoss,
} from './functional';
import { Module } from './module';

/** Mean squared error; see {@link mseLoss}. */
export class MSELoss extends Module {
  /** The options every call uses. */
  readonly options: LossOptions;
  /** `new MSELoss({ reduction })`. */
  constructor(opts: LossOptions = {}) {
    super();
    this.options = { ...opts };
  }
  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

/** Cross-entropy of logits against class indices or probabilities; see {@link crossEntropy}. */
export class CrossEntropyLoss extends Module {
  /** The options every call uses. */
  readonly options: CrossEntropyOptions;
  /** `new CrossEntropyLoss({ weight, ignoreIndex, labelSmoothing, reduction })`. */
  constructor(opts: CrossEntropyOptions = {}) {
    super();
    this.options = { ...opts };
  }
  /** The loss of `logits` against `targets`. */
  override forward(logits: Tensor, targets: Tensor | number[]): Tensor {
    return crossEntropy(logits, targets, this.options);
  }
}

/** Negative log-likelihood of log-probabilities; see {@link nllLoss}. */
export class NLLLoss extends Module {
  /** The options every call uses. */
  readonly options: NLLLossOptions;
  /** `new NLLLoss({ weight, ignoreIndex, reduction })`. */
  constructor(opts: NLLLossOptions = {}) {
    super();
    this.options = { ...opts };
  }
  /** The loss of log-probabilities `input` against `targets`. */
  override forward(input: Tensor, targets: Tensor | number[]): Tensor {
    return nllLoss(input, targets, this.options);
  }
}

/** Binary cross-entropy on logits; see {@link binaryCrossEntropyWithLogits}. */
export class BCEWithLogitsLoss extends Module {
  /** The options every call uses. */
  readonly options: BCEWithLogitsOptions;
  /** `new BCEWithLogitsLoss({ weight, posWeight, reduction })`. */
  constructor(opts: BCEWithLogitsOptions = {}) {
    super();
    this.options = { ...opts };
  }
  /** The loss of `input` logits against `target` probabilities. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}
