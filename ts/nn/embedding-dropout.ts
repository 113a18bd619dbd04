/** `nn.Embedding` (a lookup table) and `nn.Dropout`, with their functional forms. */
import { checkInt, rangeError, typeError } from '../errors';
import { rand, zeros } from '../ops/creation';
import { to } from '../ops/cast';
import { ltMask, mul } from '../ops/elementwise';
import { indexSelect } from '../ops/indexing';
import { reshape } from '../ops/shape';
import { checkTensor } from '../ops/util';
import { type FloatDType, checkFloatDtype, getDefaultDtype } from '../tensor/dtype';
import type { Generator } from '../tensor/generator';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { normal_ } from './init';
import { Module } from './module';
import { Parameter } from './parameter';

/** Rows of `weight` at integer `indices` (a tensor of integer values or an array): shape [...indices, dim]. */
export function embedding(indices: Tensor | number[], weight: Tensor): Tensor {
  const fn = 'embedding';
  checkTensor(fn, 'weight', weight);
  let values: number[];
  let shape: number[];
  if (isTensor(indices)) {
    values = Array.from(hostRead(fn, indices.data));
    shape = indices.shape.slice();
  } else if (Array.isArray(indices) && indices.every((v) => typeof v === 'number')) {
    values = indices;
    shape = [indices.length];
  } else {
    throw typeError(fn, 'indices', 'a Tensor of integer values or an array of integers', indices);
  }
  const n = weight.shape[0];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`${fn}: index ${i} is ${v}; indices must be integers in [0, ${n})`);
  });
  return reshape(indexSelect(weight, 0, values), [...shape, weight.shape[1]]);
}

/**
 * `nn.Embedding(numEmbeddings, embeddingDim)`: a [num, dim] table initialised N(0, 1) from the
 * PyTorch-compatible generator (PyTorch's `normal_` draw).
 */
export class Embedding extends Module {
  /** Table size. */
  readonly numEmbeddings: number;
  /** Row size. */
  readonly embeddingDim: number;
  /** The table [numEmbeddings, embeddingDim]. */
  weight!: Tensor;
  constructor(numEmbeddings: number, embeddingDim: number, opts: { dtype?: FloatDType; generator?: Generator } = {}) {
    super();
    this.numEmbeddings = checkInt('Embedding', 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkInt('Embedding', 'embeddingDim', embeddingDim);
    const dtype = opts.dtype === undefined ? getDefaultDtype() : checkFloatDtype('Embedding', 'dtype', opts.dtype);
    this.registerParameter('weight', new Parameter(zeros([numEmbeddings, embeddingDim], { dtype })));
    normal_(this.weight, 0, 1, { generator: opts.generator });
  }
  /** The rows at `indices`. */
  override forward(indices: Tensor | number[]): Tensor {
    return embedding(indices, this.weight);
  }
}

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1 − p) when `training`;
 * the identity otherwise. The mask is PyTorch's CPU draw for draw (after the same seed, the same
 * elements are dropped, and the generator ends in the same state): PyTorch fills a noise tensor
 * with `bernoulli_(1 − p)`, one float64 uniform u per element in order, kept where u < 1 − p,
 * divides it by 1 − p in the input's dtype and multiplies. (PyTorch builds with MKL take MKL's
 * own generator instead on Intel CPUs; their masks differ from these and from other CPUs'.)
 */
export function dropout(input: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  const fn = 'dropout';
  checkTensor(fn, 'input', input);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw rangeError(fn, 'p', 'a probability in [0, 1]', p);
  if (!training || p === 0) return input;
  if (p === 1) return mul(input, 0);
  const keep = ltMask(rand(input.shape, { dtype: 'float64', generator }), 1 - p);
  // The kept value 1/(1 − p) as the input's dtype computes it (1 − p rounded to it first).
  const scale = input.dtype === 'float32' ? Math.fround(1 / Math.fround(1 - p)) : 1 / (1 - p);
  return mul(input, mul(to(keep, input.dtype), scale));
}

/** `nn.Dropout(p = 0.5)`: dropout in training mode, the identity in eval mode. */
export class Dropout extends Module {
  /** Drop probability. */
  readonly p: number;
  private readonly generator: Generator | undefined;
  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw rangeError('Dropout', 'p', 'a probability in [0, 1]', p);
    this.p = p;
    Object.defineProperty(this, 'generator', { value: opts.generator, enumerable: false });
  }
  /** Drops elements in training mode. */
  override forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training, this.generator);
  }
}
