/** Convolution, pooling and reshaping layers: `Conv1d`, `Conv2d`, `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`, `Unflatten`. */
import { checkInt, typeError } from '../errors';
import { zeros } from '../ops/creation';
import { type Conv1dOptions, type Conv2dOptions, type MaxPoolOptions, type Pair, type PoolOptions, adaptiveAvgPool2d, avgPool2d, conv1d, conv2d, maxPool2d } from '../ops/conv';
import { reshape } from '../ops/shape';
import { type FloatDType, checkFloatDtype, getDefaultDtype } from '../tensor/dtype';
import { fmtShape, normalizeDim } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init';
import { Module } from './module';
import { Parameter } from './parameter';

/** Options of {@link Conv2d} (and, with numbers, {@link Conv1d}). */
export interface ConvOptions extends Conv2dOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype. */
  dtype?: FloatDType;
}

/** PyTorch's init: kaiming_uniform_(a = √5) for the weight, then U(±1/√fanIn) for the bias. */
function initConv(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

/**
 * Checks `groups`, registers the weight [out, in/groups, ...kernel] and bias [out] slots of a conv
 * layer and draws them as PyTorch does; returns the convolution's own options.
 */
function convParameters<O extends { groups?: number; bias?: boolean; dtype?: FloatDType }>(
  layer: Module & { inChannels: number; outChannels: number; weight: Tensor; bias: Tensor | null },
  fn: string,
  kernel: number[],
  opts: O,
): Omit<O, 'bias' | 'dtype'> {
  const { inChannels, outChannels } = layer;
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new RangeError(`${fn}: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${String(groups)})`);
  }
  const { bias = true, dtype: d, ...conv } = opts;
  const dtype = d === undefined ? getDefaultDtype() : checkFloatDtype(fn, 'dtype', d);
  layer.registerParameter('weight', new Parameter(zeros([outChannels, inChannels / groups, ...kernel], { dtype })));
  layer.registerParameter('bias', bias ? new Parameter(zeros([outChannels], { dtype })) : null);
  initConv(layer.weight, layer.bias);
  return conv;
}

function kernelPair(fn: string, k: Pair): [number, number] {
  const p: [number, number] = typeof k === 'number' ? [k, k] : k;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 1)) throw typeError(fn, 'kernelSize', 'a positive integer or a pair of them', k);
  return p;
}

/** `nn.Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias })`. */
export class Conv2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel height and width. */
  readonly kernelSize: [number, number];
  /** The convolution's options. */
  readonly options: Conv2dOptions;
  /** Weight [out, in/groups, kh, kw]. */
  weight!: Tensor;
  /** Bias [out] or null. */
  bias!: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvOptions = {}) {
    super();
    this.inChannels = checkInt('Conv2d', 'inChannels', inChannels);
    this.outChannels = checkInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = kernelPair('Conv2d', kernelSize);
    this.options = convParameters(this, 'Conv2d', this.kernelSize, opts);
  }
  /** The convolution of [N, C, H, W]. */
  override forward(input: Tensor): Tensor {
    return conv2d(input, this.weight, this.bias, this.options);
  }
}

/** `nn.Conv1d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias })` over [N, C, L]. */
export class Conv1d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel length. */
  readonly kernelSize: number;
  /** The convolution's options. */
  readonly options: Conv1dOptions;
  /** Weight [out, in/groups, k]. */
  weight!: Tensor;
  /** Bias [out] or null. */
  bias!: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dOptions & { bias?: boolean; dtype?: FloatDType } = {}) {
    super();
    this.inChannels = checkInt('Conv1d', 'inChannels', inChannels);
    this.outChannels = checkInt('Conv1d', 'outChannels', outChannels);
    this.kernelSize = checkInt('Conv1d', 'kernelSize', kernelSize);
    this.options = convParameters(this, 'Conv1d', [this.kernelSize], opts);
  }
  /** The convolution of [N, C, L]. */
  override forward(input: Tensor): Tensor {
    return conv1d(input, this.weight, this.bias, this.options);
  }
}

/** `nn.MaxPool2d(kernelSize, { stride = kernelSize, padding, dilation })`. */
export class MaxPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Pair;
  /** Pooling options. */
  readonly options: MaxPoolOptions;
  constructor(kernelSize: Pair, opts: MaxPoolOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }
  /** Max over each window. */
  override forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, this.options);
  }
}

/** `nn.AvgPool2d(kernelSize, { stride = kernelSize, padding })`. */
export class AvgPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Pair;
  /** Pooling options. */
  readonly options: PoolOptions;
  constructor(kernelSize: Pair, opts: PoolOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }
  /** Mean over each window. */
  override forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, this.options);
  }
}

/** `nn.AdaptiveAvgPool2d(outputSize)`. */
export class AdaptiveAvgPool2d extends Module {
  /** Output height and width. */
  readonly outputSize: Pair;
  constructor(outputSize: Pair) {
    super();
    this.outputSize = outputSize;
  }
  /** Averages into `outputSize` bins. */
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }
}

/** `nn.Unflatten(dim, unflattenedSize)`: splits one dim into several. */
export class Unflatten extends Module {
  /** The dim split. */
  readonly dim: number;
  /** The sizes it becomes. */
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: number[]) {
    super();
    this.dim = checkInt('Unflatten', 'dim', dim);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0) throw typeError('Unflatten', 'unflattenedSize', 'a non-empty array of sizes', unflattenedSize);
    this.unflattenedSize = unflattenedSize.slice();
  }
  /** Reshapes dim into unflattenedSize. */
  override forward(input: Tensor): Tensor {
    const d = normalizeDim('Unflatten', this.dim, input.ndim);
    const known = this.unflattenedSize.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    if (input.shape[d] % known !== 0) throw new RangeError(`Unflatten: dim ${d} of shape ${fmtShape(input.shape)} cannot be split into ${fmtShape(this.unflattenedSize)}`);
    return reshape(input, [...input.shape.slice(0, d), ...this.unflattenedSize, ...input.shape.slice(d + 1)]);
  }
}
