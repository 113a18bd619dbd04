/**
 * `nn.init`: in-place initialisers with PyTorch's gain and fan rules. They run without recording
 * gradients (so they work on parameters) and draw from the PyTorch-compatible generator, so the
 * same seed gives the same values as `torch.nn.init`.
 *
 * @module
 */
import { noGrad } from '../autograd/grad-mode';
import { checkFinite, rangeError, typeError } from '../errors';
import { fill_, normal_ as tensorNormal_, uniform_ as tensorUniform_ } from '../ops/inplace';
import { checkTensor } from '../ops/util';
import type { Generator } from '../tensor/generator';
import type { Tensor } from '../tensor/tensor';

/** Options naming the generator to draw from (default: the global one). */
export interface InitRandomOptions {
  /** Generator to draw from. */
  generator?: Generator;
}

/** Nonlinearities known to {@link calculateGain} (PyTorch's names; `leakyRelu` is accepted too). */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu';

/** Options of {@link kaimingUniform_} and {@link kaimingNormal_}. */
export interface KaimingOptions extends InitRandomOptions {
  /** Negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** Preserve the variance of the forward (`'fanIn'`, default) or backward (`'fanOut'`) pass. */
  mode?: 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';
  /** The nonlinearity that follows (default `'leaky_relu'`). */
  nonlinearity?: Nonlinearity;
}

/** Options of {@link xavierUniform_} and {@link xavierNormal_}. */
export interface XavierOptions extends InitRandomOptions {
  /** Scaling factor (default 1). */
  gain?: number;
}

const checkT = (fn: string, t: unknown): Tensor => checkTensor(fn, 'tensor', t);

/**
 * The recommended gain for a nonlinearity (PyTorch's `calculate_gain`): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope `param`, default 0.01),
 * 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  const fn = 'calculateGain';
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': case 'leakyRelu': {
      const slope = param ?? 0.01;
      checkFinite(fn, 'param', slope);
      // Same expression as PyTorch (in doubles), so bounds derived from it match bit for bit.
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw rangeError(fn, 'nonlinearity', "one of 'linear', 'conv1d', …, 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'", nonlinearity);
  }
}

/** `[fanIn, fanOut]` of a weight of at least 2 dims: `shape[1]·receptive` and `shape[0]·receptive`. */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  const fn = 'calculateFanInAndFanOut';
  checkT(fn, tensor);
  if (tensor.ndim < 2) {
    throw new RangeError(`${fn}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got shape [${tensor.shape.join(', ')}]`);
  }
  let receptive = 1;
  for (const s of tensor.shape.slice(2)) receptive *= s;
  return [tensor.shape[1] * receptive, tensor.shape[0] * receptive];
}

function fanFor(fn: string, tensor: Tensor, mode: KaimingOptions['mode']): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  if (mode === undefined || mode === 'fanIn' || mode === 'fan_in') return fanIn;
  if (mode === 'fanOut' || mode === 'fan_out') return fanOut;
  throw rangeError(fn, 'mode', "'fanIn' or 'fanOut'", mode);
}

/** Fills with `value`; returns the tensor. */
export function constant_(tensor: Tensor, value: number): Tensor {
  checkT('constant_', tensor);
  if (typeof value !== 'number') throw typeError('constant_', 'value', 'a number', value);
  return noGrad(() => fill_(tensor, value));
}

/** Fills with ones. */
export function ones_(tensor: Tensor): Tensor {
  checkT('ones_', tensor);
  return noGrad(() => fill_(tensor, 1));
}

/** Fills with zeros. */
export function zeros_(tensor: Tensor): Tensor {
  checkT('zeros_', tensor);
  return noGrad(() => fill_(tensor, 0));
}

/** Fills with samples of N(mean, std²). */
export function normal_(tensor: Tensor, mean = 0, std = 1, opts: InitRandomOptions = {}): Tensor {
  checkT('normal_', tensor);
  return noGrad(() => tensorNormal_(tensor, mean, std, opts));
}

/** Fills with samples of U[a, b). */
export function uniform_(tensor: Tensor, a = 0, b = 1, opts: InitRandomOptions = {}): Tensor {
  checkT('uniform_', tensor);
  return noGrad(() => tensorUniform_(tensor, a, b, opts));
}

/**
 * He/Kaiming uniform initialisation: U(−bound, bound) with bound = gain·√(3 / fan). With
 * `a = √5` this is the default initialisation of `nn.Linear`'s weight (bound = 1/√fanIn).
 */
export function kaimingUniform_(tensor: Tensor, opts: KaimingOptions = {}): Tensor {
  const fn = 'kaimingUniform_';
  checkT(fn, tensor);
  if (tensor.numel === 0) return tensor; // PyTorch: initialising a zero-element tensor is a no-op
  const fan = fanFor(fn, tensor, opts.mode);
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  // Evaluated in PyTorch's order so the bound is the same double.
  const std = gain / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return noGrad(() => tensorUniform_(tensor, -bound, bound, opts));
}

/** He/Kaiming normal initialisation: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(tensor: Tensor, opts: KaimingOptions = {}): Tensor {
  const fn = 'kaimingNormal_';
  checkT(fn, tensor);
  if (tensor.numel === 0) return tensor;
  const fan = fanFor(fn, tensor, opts.mode);
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  const std = gain / Math.sqrt(fan);
  return noGrad(() => tensorNormal_(tensor, 0, std, opts));
}

/** Glorot/Xavier uniform initialisation: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, opts: XavierOptions = {}): Tensor {
  const fn = 'xavierUniform_';
  checkT(fn, tensor);
  const gain = checkFinite(fn, 'gain', opts.gain ?? 1);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return noGrad(() => tensorUniform_(tensor, -a, a, opts));
}

/** Glorot/Xavier normal initialisation: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, opts: XavierOptions = {}): Tensor {
  const fn = 'xavierNormal_';
  checkT(fn, tensor);
  const gain = checkFinite(fn, 'gain', opts.gain ?? 1);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return noGrad(() => tensorNormal_(tensor, 0, std, opts));
}
