/**
 * `nn.functional`: stateless layers and losses, written in differentiable ops so that derivatives
 * of any order are exact.
 *
 * @module
 */
import { rangeError, typeError, checkFinite } from '../errors';
import { add, mul, relu as opRelu, sigmoid as opSigmoid, softplus as opSoftplus, square, sub, tanh as opTanh, div, where, gtMask, neg } from '../ops/elementwise';
import { logSoftmax as opLogSoftmax, matmul, mmT, softmax as opSoftmax } from '../ops/matmul';
import { mean, sum } from '../ops/reduce';
import { reshape, transpose } from '../ops/shape';
import { checkTensor } from '../ops/util';
import { allocate } from '../tensor/dtype';
import { broadcastShapes, fmtShape, numelOf, sameShape } from '../tensor/shape';
import { Tensor, isTensor } from '../tensor/tensor';
import { batchedOf, isBatched, physicalOf } from '../tensor/batched';
import { hostRead, markConstant } from '../tensor/trace';

/** How a loss reduces its per-element values. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of losses. */
export interface LossOptions {
  /** `'mean'` (default), `'sum'` or `'none'` (per-element losses). */
  reduction?: Reduction;
}

/** Options of {@link softplus}. */
export interface SoftplusOptions {
  /** Sharpness: softplus(x) = log(1 + e^(beta·x)) / beta (default 1). */
  beta?: number;
  /** Above beta·x > threshold the function is taken as linear (default 20). */
  threshold?: number;
}

/** Options of {@link nllLoss}. */
export interface NLLLossOptions extends LossOptions {
  /** Class-index targets equal to this are skipped, and excluded from the mean (default -100). */
  ignoreIndex?: number;
  /** A weight per class, shape [C]; 'mean' then divides by the summed weights of the targets. */
  weight?: Tensor;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends NLLLossOptions {
  /** ε in [0, 1]: the target becomes (1 − ε)·onehot + ε/C (default 0). */
  labelSmoothing?: number;
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BCEWithLogitsOptions extends LossOptions {
  /** Per-element rescaling weight (broadcast to the input). */
  weight?: Tensor;
  /** Weight of positive examples (broadcast along the last dim, as in PyTorch). */
  posWeight?: Tensor;
}

function reduce(fn: string, x: Tensor, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? 'mean') {
    case 'mean':
      return mean(x);
    case 'sum':
      return sum(x);
    case 'none':
      return x;
    default:
      throw rangeError(fn, 'reduction', "'mean', 'sum' or 'none'", reduction);
  }
}

/** Checks the target of an elementwise loss: it must broadcast to exactly the input's shape. */
function checkTarget(fn: string, input: Tensor, target: Tensor): void {
  let ok = false;
  try {
    ok = sameShape(broadcastShapes(fn, input.shape, target.shape), input.shape);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new RangeError(
      `${fn}: target of shape ${fmtShape(target.shape)} does not match input of shape ${fmtShape(input.shape)}; ` +
        'the target must have the input\'s shape (or broadcast to exactly it)',
    );
  }
}

/** y = x·Wᵀ + b for `weight` of shape [out, in] (or [in]) and optional `bias` of shape [out]. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fn = 'linear';
  checkTensor(fn, 'input', input);
  checkTensor(fn, 'weight', weight);
  if (bias !== undefined && bias !== null) checkTensor(fn, 'bias', bias);
  if (weight.ndim !== 1 && weight.ndim !== 2) throw rangeError(fn, 'weight', 'a 1-d or 2-d tensor', weight);
  if (input.ndim === 0) throw rangeError(fn, 'input', 'a tensor of at least 1 dimension', input);
  const inF = weight.shape[weight.ndim - 1];
  if (input.shape[input.ndim - 1] !== inF) {
    throw new RangeError(`${fn}: input of shape ${fmtShape(input.shape)} has ${input.shape[input.ndim - 1]} features, weight of shape ${fmtShape(weight.shape)} expects ${inF}`);
  }
  // mmT multiplies by Wᵀ without materialising the transpose.
  let y = weight.ndim === 2 && input.ndim >= 2 && input.dtype === weight.dtype ? mmT(input, weight, false, true) : matmul(input, weight.ndim === 2 ? transpose(weight, 0, 1) : weight);
  if (bias !== undefined && bias !== null) y = add(y, bias);
  return y;
}

/** max(x, 0). */
export function relu(input: Tensor): Tensor {
  return opRelu(checkTensor('relu', 'input', input));
}

/** tanh x. */
export function tanh(input: Tensor): Tensor {
  return opTanh(checkTensor('tanh', 'input', input));
}

/** 1 / (1 + e⁻ˣ). */
export function sigmoid(input: Tensor): Tensor {
  return opSigmoid(checkTensor('sigmoid', 'input', input));
}

/** log(1 + e^(beta·x)) / beta, linear (= x) where beta·x > threshold, as in PyTorch. */
export function softplus(input: Tensor, opts: SoftplusOptions = {}): Tensor {
  const fn = 'softplus';
  checkTensor(fn, 'input', input);
  const beta = checkFinite(fn, 'beta', opts.beta ?? 1);
  const threshold = checkFinite(fn, 'threshold', opts.threshold ?? 20);
  const z = beta === 1 ? input : mul(input, beta);
  const smooth = beta === 1 ? opSoftplus(z) : div(opSoftplus(z), beta);
  return where(gtMask(z, threshold), input, smooth);
}

/** Softmax along `dim` (default: the last). */
export function softmax(input: Tensor, dim = -1): Tensor {
  return opSoftmax(checkTensor('softmax', 'input', input), dim);
}

/** Log-softmax along `dim` (default: the last). */
export function logSoftmax(input: Tensor, dim = -1): Tensor {
  return opLogSoftmax(checkTensor('logSoftmax', 'input', input), dim);
}

/**
 * Mean squared error (input − target)². Unlike PyTorch, which broadcasts mismatched shapes with a
 * warning (a common silent bug: [N] against [N, 1] gives [N, N]), the target must have the input's
 * shape or broadcast to exactly it; anything else raises a RangeError naming both shapes.
 */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const fn = 'mseLoss';
  checkTensor(fn, 'input', input);
  checkTensor(fn, 'target', target);
  checkTarget(fn, input, target);
  return reduce(fn, square(sub(input, target)), opts.reduction);
}

/** The values of a class-index target as integers, checked against `classes`. */
/** `input` names the tensor the classes index in messages ('logits' or 'input'). */
function classIndices(fn: string, input: 'logits' | 'input', targets: unknown, expectShape: number[], classes: number, ignoreIndex: number): number[] {
  let values: number[];
  let shape: readonly number[];
  if (isTensor(targets)) {
    values = Array.from(hostRead(fn, targets.data));
    shape = targets.shape;
  } else if (typeof targets === 'number') {
    values = [targets];
    shape = [];
  } else if (Array.isArray(targets) && targets.every((v) => typeof v === 'number')) {
    values = targets as number[];
    shape = [targets.length];
  } else {
    throw typeError(fn, 'targets', 'class indices (an array of integers or a Tensor of integer values) or class probabilities', targets);
  }
  if (!sameShape(shape, expectShape)) {
    const [what, whose] = input === 'logits' ? ['logits', "logits'"] : ['an input', "input's"];
    throw new RangeError(`${fn}: targets of shape ${fmtShape(shape)} do not fit ${what} with ${classes} classes; expected class indices of shape ${fmtShape(expectShape)} (or class probabilities with the ${whose} shape)`);
  }
  values.forEach((v, i) => {
    if (v === ignoreIndex) return;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`${fn}: target ${i} is ${v}; class indices must be integers in [0, ${classes})`);
    }
  });
  return values;
}

/** The class weight reshaped to broadcast along the class dim of an input of `ndim` dims. */
function classWeight(fn: string, weight: Tensor | undefined, classes: number, classDim: number, ndim: number): Tensor | null {
  if (weight === undefined) return null;
  checkTensor(fn, 'weight', weight);
  if (weight.ndim !== 1 || weight.shape[0] !== classes) throw new RangeError(`${fn}: weight must have shape [${classes}] (one per class), got ${fmtShape(weight.shape)}`);
  return reshape(weight, [classes, ...new Array<number>(ndim - classDim - 1).fill(1)]);
}

/**
 * The negative log-likelihood of class-index targets under log-probabilities `lsm`, with PyTorch's
 * weighting and ignore rule: per sample −w[t]·lsm[t] (0 where ignored); 'mean' divides the sum by
 * Σ w[t] over counted targets. Also returns what label smoothing needs: each sample's "counted"
 * indicator and the mean's divisor.
 */
function nllCore(fn: string, input: 'logits' | 'input', lsm: Tensor, targets: Tensor | number[] | number, classDim: number, w: Tensor | null, ignoreIndex: number): { perSample: Tensor; counted: Tensor; divisor: Tensor } {
  const classes = lsm.shape[classDim];
  const sampleShape = lsm.shape.filter((_, d) => d !== classDim);
  // Inside vmap each member has its own targets: one mask per member.
  const [members, levels, sizes, memberTargets] = isBatched(targets)
    ? (() => {
        const [pt, lt] = physicalOf(targets);
        const sz = pt.shape.slice(0, lt.length);
        const m = numelOf(sz);
        const n = pt.numel / m;
        return [m, lt, sz, Array.from({ length: m }, (_, k) => new Tensor(hostRead(fn, pt.data).slice(k * n, (k + 1) * n), targets.shape))] as const;
      })()
    : ([1, [] as number[], [] as number[], [targets]] as const);
  // A constant one-hot mask picks lsm[target]; ignored targets get an all-zero row.
  const inner = lsm.shape.slice(classDim + 1).reduce((a, b) => a * b, 1);
  const per = lsm.numel;
  const mask = allocate(lsm.dtype, members * per);
  memberTargets.forEach((t, m) => {
    classIndices(fn, input, t, sampleShape, classes, ignoreIndex).forEach((c, p) => {
      if (c === ignoreIndex) return;
      const n = Math.floor(p / inner);
      const r = p % inner;
      mask[m * per + (n * classes + c) * inner + r] = 1;
    });
  });
  // Built from class indices known now (host-read above): a constant of a jit recording.
  markConstant(mask);
  const maskT = batchedOf(new Tensor(mask, [...sizes, ...lsm.shape]), levels);
  const picked = w === null ? maskT : mul(maskT, w);
  const perSample = neg(sum(mul(lsm, picked), classDim));
  return { perSample, counted: sum(maskT, classDim), divisor: sum(picked) };
}

function checkReduction(fn: string, reduction: unknown): Reduction {
  const r = reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw rangeError(fn, 'reduction', "'mean', 'sum' or 'none'", reduction);
  return r;
}

/**
 * Negative log-likelihood of integer class targets given log-probabilities `input` of shape
 * [N, C] (or [C], or [N, C, d1, …]): −w[t]·input[t] per sample, reduced by `reduction` ('mean'
 * divides by the summed weights of the counted targets, as PyTorch).
 */
export function nllLoss(input: Tensor, targets: Tensor | number[] | number, opts: NLLLossOptions = {}): Tensor {
  const fn = 'nllLoss';
  checkTensor(fn, 'input', input);
  if (input.ndim === 0) throw rangeError(fn, 'input', 'a tensor of at least 1 dimension (classes)', input);
  const classDim = input.ndim === 1 ? 0 : 1;
  const reduction = checkReduction(fn, opts.reduction);
  const w = classWeight(fn, opts.weight, input.shape[classDim], classDim, input.ndim);
  const { perSample, divisor } = nllCore(fn, 'input', input, targets, classDim, w, opts.ignoreIndex ?? -100);
  if (reduction === 'none') return perSample;
  const total = sum(perSample);
  // PyTorch returns NaN for a mean over zero counted targets (0/0).
  return reduction === 'sum' ? total : div(total, divisor);
}

/**
 * Cross-entropy between `logits` of shape [N, C] (or [C], or [N, C, d1, …]) and integer class
 * targets of shape [N] (or [], or [N, d1, …]) given as an array of numbers or a tensor of integer
 * values: −log softmax(logits)[target], with PyTorch's class `weight`, `ignoreIndex` and
 * `labelSmoothing` ε (the target distribution (1 − ε)·onehot + ε/C), reduced by `reduction`.
 * Targets with the logits' shape are taken as class probabilities, as in PyTorch.
 */
export function crossEntropy(logits: Tensor, targets: Tensor | number[] | number, opts: CrossEntropyOptions = {}): Tensor {
  const fn = 'crossEntropy';
  checkTensor(fn, 'logits', logits);
  if (logits.ndim === 0) throw rangeError(fn, 'logits', 'a tensor of at least 1 dimension (classes)', logits);
  const classDim = logits.ndim === 1 ? 0 : 1;
  const classes = logits.shape[classDim];
  const lsm = opLogSoftmax(logits, classDim);
  const reduction = checkReduction(fn, opts.reduction);
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) throw rangeError(fn, 'labelSmoothing', 'a number in [0, 1]', eps);
  const w = classWeight(fn, opts.weight, classes, classDim, logits.ndim);
  const weighted = (x: Tensor): Tensor => (w === null ? x : mul(x, w));

  if (isTensor(targets) && sameShape(targets.shape, logits.shape)) {
    // Class probabilities: −Σ_c w_c p_c log q_c per sample (p smoothed); 'mean' averages over samples.
    const p = eps > 0 ? add(mul(targets, 1 - eps), eps / classes) : targets;
    return reduce(fn, neg(sum(mul(lsm, weighted(p)), classDim)), reduction);
  }

  const { perSample, counted, divisor } = nllCore(fn, 'logits', lsm, targets, classDim, w, opts.ignoreIndex ?? -100);
  // Label smoothing's uniform part: −Σ_c w_c log q_c per counted sample (PyTorch's normalisation).
  const smooth = eps > 0 ? mul(neg(sum(weighted(lsm), classDim)), counted) : null;
  const mix = (nll: Tensor, sm: Tensor | null): Tensor => (sm === null ? nll : add(mul(nll, 1 - eps), mul(sm, eps / classes)));
  if (reduction === 'none') return mix(perSample, smooth);
  if (reduction === 'sum') return mix(sum(perSample), smooth && sum(smooth));
  return mix(div(sum(perSample), divisor), smooth && div(sum(smooth), divisor));
}

/**
 * Binary cross-entropy on logits, computed stably as (1 − t)·softplus(x) + t·softplus(−x) (with
 * `posWeight` p: (1 − t)·softplus(x) + p·t·softplus(−x)), i.e. −[t log σ(x) + (1 − t) log(1 − σ(x))]
 * without evaluating σ. The target must have the input's shape (or broadcast to exactly it).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const fn = 'binaryCrossEntropyWithLogits';
  checkTensor(fn, 'input', input);
  checkTensor(fn, 'target', target);
  checkTarget(fn, input, target);
  const negPart = mul(sub(1, target), opSoftplus(input));
  let posPart = mul(target, opSoftplus(neg(input)));
  if (opts.posWeight !== undefined) posPart = mul(checkTensor(fn, 'posWeight', opts.posWeight), posPart);
  let loss = add(negPart, posPart);
  if (opts.weight !== undefined) loss = mul(checkTensor(fn, 'weight', opts.weight), loss);
  if (!sameShape(loss.shape, input.shape)) {
    throw new RangeError(`${fn}: weight/posWeight broadcast the loss to shape ${fmtShape(loss.shape)}, but the input has shape ${fmtShape(input.shape)}`);
  }
  return reduce(fn, loss, opts.reduction);
}

export { layerNorm, groupNorm, batchNorm, type BatchNormOptions } from './normalization';
export { embedding, dropout } from './embedding-dropout';
export { conv1d, conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d, unfold, fold, type Conv1dOptions, type Conv2dOptions, type MaxPoolOptions, type PoolOptions, type UnfoldOptions, type Pair } from '../ops/conv';
