/**
 * Normalisation layers (PyTorch's `nn.LayerNorm`, `nn.GroupNorm`, `nn.BatchNorm1d/2d`) and their
 * functional forms, composed from mean, var and elementwise ops, so every derivative order and
 * vmap come from those. Initialisation as PyTorch: weight 1, bias 0, running mean 0, var 1.
 */
import { noGrad } from '../autograd/grad-mode';
import { checkInt, typeError } from '../errors';
import { ones, zeros } from '../ops/creation';
import { add, div, mul, sqrt, sub } from '../ops/elementwise';
import { copy_, detach } from '../ops/inplace';
import { mean } from '../ops/reduce';
import { reshape } from '../ops/shape';
import { var_ } from '../ops/statistics';
import { checkTensor } from '../ops/util';
import { type FloatDType, checkFloatDtype, getDefaultDtype } from '../tensor/dtype';
import { fmtShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';
import { Parameter } from './parameter';

/** (x − E[x]) / √(Var[x] + eps) over `dims` (biased variance), as every normaliser computes it. */
function normalize(x: Tensor, dims: number[], eps: number): Tensor {
  const m = mean(x, dims, true);
  const v = var_(x, dims, { correction: 0, keepdim: true });
  return div(sub(x, m), sqrt(add(v, eps)));
}

/**
 * Layer normalisation over the trailing dims `normalizedShape`, then `weight`·x + `bias` (both of
 * that shape, optional).
 */
export function layerNorm(input: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  checkTensor(fn, 'input', input);
  const k = normalizedShape.length;
  if (k === 0 || k > input.ndim || normalizedShape.some((s, i) => s !== input.shape[input.ndim - k + i])) {
    throw new RangeError(`${fn}: normalizedShape ${fmtShape(normalizedShape)} must be the trailing dims of the input's shape ${fmtShape(input.shape)}`);
  }
  const dims = normalizedShape.map((_, i) => input.ndim - k + i);
  let y = normalize(input, dims, eps);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** Group normalisation: channels (dim 1) split into `numGroups` groups, each normalised over its channels and the spatial dims. */
export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const fn = 'groupNorm';
  checkTensor(fn, 'input', input);
  if (input.ndim < 2 || input.shape[1] % numGroups !== 0) throw new RangeError(`${fn}: the input's channels (dim 1 of ${fmtShape(input.shape)}) must divide into ${numGroups} groups`);
  const [n, c] = input.shape;
  const grouped = reshape(input, [n, numGroups, -1]);
  let y = reshape(normalize(grouped, [2], eps), input.shape);
  // Per-channel affine: weight [C] broadcast over the spatial dims.
  const perChannel = [c, ...new Array<number>(input.ndim - 2).fill(1)];
  if (weight) y = mul(y, reshape(weight, perChannel));
  if (bias) y = add(y, reshape(bias, perChannel));
  return y;
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Per-channel scale [C]. */
  weight?: Tensor | null;
  /** Per-channel shift [C]. */
  bias?: Tensor | null;
  /** Use the batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation over dim 1 (channels) of [N, C] or [N, C, …]. In training (or without
 * running statistics) it normalises by the batch mean and biased variance and, given running
 * buffers, updates them in place (the running variance with the unbiased estimate, as PyTorch);
 * otherwise it uses the running statistics.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const fn = 'batchNorm';
  checkTensor(fn, 'input', input);
  if (input.ndim < 2) throw new RangeError(`${fn}: the input must be [N, C] or [N, C, …], got ${fmtShape(input.shape)}`);
  const c = input.shape[1];
  const dims = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2)];
  const perChannel = [1, c, ...new Array<number>(input.ndim - 2).fill(1)];
  const eps = opts.eps ?? 1e-5;
  const training = opts.training ?? runningMean === null;
  let y: Tensor;
  if (training || runningMean === null || runningVar === null) {
    const count = input.numel / c;
    if (training && count <= 1) throw new RangeError(`${fn}: expected more than 1 value per channel when training, got input of shape ${fmtShape(input.shape)}`);
    y = normalize(input, dims, eps);
    if (training && runningMean !== null && runningVar !== null) {
      const momentum = opts.momentum ?? 0.1;
      noGrad(() => {
        const m = detach(reshape(mean(input, dims), [c]));
        const v = detach(reshape(var_(input, dims, { correction: 1 }), [c]));
        copy_(runningMean, add(mul(runningMean, 1 - momentum), mul(m, momentum)));
        copy_(runningVar, add(mul(runningVar, 1 - momentum), mul(v, momentum)));
      });
    }
  } else {
    y = div(sub(input, reshape(runningMean, perChannel)), sqrt(add(reshape(runningVar, perChannel), eps)));
  }
  if (opts.weight) y = mul(y, reshape(opts.weight, perChannel));
  if (opts.bias) y = add(y, reshape(opts.bias, perChannel));
  return y;
}

/** Options of the normalisation layers. */
export interface NormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-element (LayerNorm) or per-channel scale and shift (default true). */
  elementwiseAffine?: boolean;
  /** Parameter dtype (default: `getDefaultDtype()`). */
  dtype?: FloatDType;
}

function dtypeOf(fn: string, d: FloatDType | undefined): FloatDType {
  return d === undefined ? getDefaultDtype() : checkFloatDtype(fn, 'dtype', d);
}

/** `nn.LayerNorm(normalizedShape, { eps, elementwiseAffine })`. */
export class LayerNorm extends Module {
  /** The trailing shape normalised over. */
  readonly normalizedShape: number[];
  /** Added to the variance. */
  readonly eps: number;
  /** Scale (ones) or null. */
  weight!: Tensor | null;
  /** Shift (zeros) or null. */
  bias!: Tensor | null;
  constructor(normalizedShape: number | number[], opts: NormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw typeError('LayerNorm', 'normalizedShape', 'a positive integer or a non-empty array of them', normalizedShape);
    shape.forEach((s, i) => checkInt('LayerNorm', `normalizedShape[${i}]`, s));
    this.normalizedShape = shape.slice();
    this.eps = opts.eps ?? 1e-5;
    const dtype = dtypeOf('LayerNorm', opts.dtype);
    const affine = opts.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? new Parameter(ones(shape, { dtype })) : null);
    this.registerParameter('bias', affine ? new Parameter(zeros(shape, { dtype })) : null);
  }
  /** Normalises the trailing dims. */
  override forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** `nn.GroupNorm(numGroups, numChannels, { eps, affine })`. */
export class GroupNorm extends Module {
  /** Number of groups. */
  readonly numGroups: number;
  /** Number of channels (dim 1). */
  readonly numChannels: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Per-channel scale or null. */
  weight!: Tensor | null;
  /** Per-channel shift or null. */
  bias!: Tensor | null;
  constructor(numGroups: number, numChannels: number, opts: { eps?: number; affine?: boolean; dtype?: FloatDType } = {}) {
    super();
    this.numGroups = checkInt('GroupNorm', 'numGroups', numGroups);
    this.numChannels = checkInt('GroupNorm', 'numChannels', numChannels);
    if (numGroups < 1 || numChannels % numGroups !== 0) throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    const dtype = dtypeOf('GroupNorm', opts.dtype);
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? new Parameter(ones([numChannels], { dtype })) : null);
    this.registerParameter('bias', affine ? new Parameter(zeros([numChannels], { dtype })) : null);
  }
  /** Normalises each group. */
  override forward(input: Tensor): Tensor {
    return groupNorm(input, this.numGroups, this.weight, this.bias, this.eps);
  }
}

/** Options of {@link BatchNorm1d} and {@link BatchNorm2d}. */
export interface BatchNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average weight of a new batch (default 0.1). */
  momentum?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics (default true); false normalises by the batch's in eval mode too (per-task statistics, as MAML). */
  trackRunningStats?: boolean;
  /** Parameter dtype. */
  dtype?: FloatDType;
}

/** Shared body of BatchNorm1d / BatchNorm2d. */
abstract class BatchNormBase extends Module {
  /** Number of channels (dim 1). */
  readonly numFeatures: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight. */
  readonly momentum: number;
  /** Per-channel scale or null. */
  weight!: Tensor | null;
  /** Per-channel shift or null. */
  bias!: Tensor | null;
  // Buffers under PyTorch's names, so state dicts load into torch.nn.BatchNorm as they are.
  /** Running mean buffer (null without trackRunningStats). */
  running_mean!: Tensor | null;
  /** Running variance buffer. */
  running_var!: Tensor | null;
  /** Number of training batches seen (an int64 scalar, as in PyTorch). */
  num_batches_tracked!: Tensor | null;
  /** Input ranks accepted. @internal */
  protected abstract readonly ranks: number[];

  constructor(name: string, numFeatures: number, opts: BatchNormLayerOptions) {
    super();
    this.numFeatures = checkInt(name, 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const dtype = dtypeOf(name, opts.dtype);
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? new Parameter(ones([numFeatures], { dtype })) : null);
    this.registerParameter('bias', affine ? new Parameter(zeros([numFeatures], { dtype })) : null);
    const track = opts.trackRunningStats ?? true;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int64' }) : null);
  }

  /** Normalises by the batch (training, or no running statistics) or the running statistics. */
  override forward(input: Tensor): Tensor {
    checkTensor(this.constructor.name, 'input', input);
    if (!this.ranks.includes(input.ndim)) throw new RangeError(`${this.constructor.name}: expected a ${this.ranks.join('-d or ')}-d input, got shape ${fmtShape(input.shape)}`);
    if (input.shape[1] !== this.numFeatures) throw new RangeError(`${this.constructor.name}: expected ${this.numFeatures} channels in dim 1, got shape ${fmtShape(input.shape)}`);
    const training = this.training || this.running_mean === null;
    const tracked = this.num_batches_tracked;
    if (this.training && tracked !== null) noGrad(() => copy_(tracked, add(tracked, 1)));
    return batchNorm(input, this.running_mean, this.running_var, { weight: this.weight, bias: this.bias, training, momentum: this.momentum, eps: this.eps });
  }
}

/** `nn.BatchNorm1d(numFeatures, opts)` over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  /** @internal */
  protected readonly ranks = [2, 3];
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super('BatchNorm1d', numFeatures, opts);
  }
}

/** `nn.BatchNorm2d(numFeatures, opts)` over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  /** @internal */
  protected readonly ranks = [4];
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super('BatchNorm2d', numFeatures, opts);
  }
}
