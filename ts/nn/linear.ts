/** `nn.Linear` and `nn.Identity`. */
import { checkInt, typeError } from '../errors';
import { zeros } from '../ops/creation';
import { type FloatDType, checkFloatDtype, getDefaultDtype } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { linear } from './functional';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init';
import { Module } from './module';
import { Parameter } from './parameter';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default: `getDefaultDtype()`). */
  dtype?: FloatDType;
}

/**
 * y = x·Wᵀ + b with `weight` [outFeatures, inFeatures] and `bias` [outFeatures]. Initialised like
 * PyTorch, from the PyTorch-compatible generator in PyTorch's order: the weight by
 * `kaimingUniform_(w, { a: √5 })` (U(±1/√inFeatures)), then the bias by U(±1/√inFeatures).
 */
export class Linear extends Module {
  /** Number of input features. */
  readonly inFeatures: number;
  /** Number of output features. */
  readonly outFeatures: number;
  /** Weight of shape [outFeatures, inFeatures]. */
  weight!: Tensor;
  /** Bias of shape [outFeatures], or null without bias. */
  bias!: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    const fn = 'Linear';
    this.inFeatures = checkInt(fn, 'inFeatures', inFeatures);
    this.outFeatures = checkInt(fn, 'outFeatures', outFeatures);
    if (inFeatures < 0) throw new RangeError(`${fn}: argument 'inFeatures' must be >= 0, got ${inFeatures}`);
    if (outFeatures < 0) throw new RangeError(`${fn}: argument 'outFeatures' must be >= 0, got ${outFeatures}`);
    if (inFeatures * outFeatures > 2 ** 32) {
      throw new RangeError(`${fn}: a ${outFeatures}×${inFeatures} weight (${inFeatures * outFeatures} elements) is too large to allocate`);
    }
    if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
    const bias = opts.bias ?? true;
    if (typeof bias !== 'boolean') throw typeError(fn, 'bias', 'a boolean', bias);
    const dtype = opts.dtype === undefined ? getDefaultDtype() : checkFloatDtype(fn, 'dtype', opts.dtype);
    // Registered explicitly so both names are parameter slots from the start, even if a non-leaf
    // tensor replaces the weight before the parameters are first listed.
    this.registerParameter('weight', new Parameter(zeros([outFeatures, inFeatures], { dtype })));
    this.registerParameter('bias', bias ? new Parameter(zeros([outFeatures], { dtype })) : null);
    this.resetParameters();
  }

  /** Re-draws the parameters with the default initialisation. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  /** x·Wᵀ + b. */
  override forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  /** `in_features=…, out_features=…, bias=…` as PyTorch prints it. */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}

/** Returns its input unchanged (constructor arguments are accepted and ignored, as in PyTorch). */
export class Identity extends Module {
  constructor(...args: unknown[]) {
    super();
    void args;
  }

  /** The input itself. */
  override forward<T>(input: T): T {
    return input;
  }
}
