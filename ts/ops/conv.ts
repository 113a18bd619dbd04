/**
 * Convolution and pooling. Two primitives, `unfold` (im2col: sliding windows as columns) and
 * `fold` (its adjoint: columns summed back into the image), are each other's backward, so every
 * derivative order is exact; conv2d is a matmul of the weight with the unfolded input (per group),
 * conv1d is conv2d on a height-1 image, max/avg pooling reduce the unfolded windows, and adaptive
 * average pooling is two averaging matrices. Shapes and padding follow PyTorch.
 */
import { record } from '../autograd/node';
import { rangeError, typeError } from '../errors';
import { type FloatArray, allocate, requireFloating } from '../tensor/dtype';
import { batchOf, batchedOf, isBatched } from '../tensor/batched';
import { materializeBatched } from './broadcast';
import { type Im2colGeometry, col2imInto, im2colInto, sweepSize } from '../tensor/kernels/im2col';
import { fmtShape, numelOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { add } from './elementwise';
import { cat, narrow, select, stack } from './indexing';
import { matmul } from './matmul';
import { max, mean } from './reduce';
import { reshape, squeeze, t as transpose2d, unsqueeze } from './shape';
import { checkTensor, wrap } from './util';

/** A size per spatial dim, or one for both. */
export type Pair = number | [number, number];

/** Options of {@link unfold} and {@link fold}. */
export interface UnfoldOptions {
  /** Window step (default 1). */
  stride?: Pair;
  /** Zero padding on each side (default 0), or [top/bottom, left/right]. */
  padding?: Pair;
  /** Spacing between window taps (default 1). */
  dilation?: Pair;
}

function pair(fn: string, arg: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) throw typeError(fn, arg, `an integer >= ${min} or a pair of them`, v);
  return p;
}

/** The geometry of a window sweep over `x` [B, C, H, W] with per-side padding. */
function geometry(fn: string, shape: readonly number[], k: [number, number], pad: [number, number, number, number], stride: [number, number], dilation: [number, number]): Im2colGeometry {
  if (shape.length !== 4) throw new RangeError(`${fn}: expected a 4-d input [N, C, H, W], got shape ${fmtShape(shape)}`);
  const [batch, channels, height, width] = shape;
  const oh = sweepSize(height, pad[0], pad[1], k[0], stride[0], dilation[0]);
  const ow = sweepSize(width, pad[2], pad[3], k[1], stride[1], dilation[1]);
  if (oh < 1 || ow < 1) throw new RangeError(`${fn}: a ${k[0]}×${k[1]} window (dilation ${dilation.join('×')}) does not fit the padded input ${fmtShape(shape)}`);
  return { batch, channels, height, width, kh: k[0], kw: k[1], pad, stride, dilation, oh, ow };
}

/** im2col with a given geometry; backward is col2im. */
function unfoldRaw(x: Tensor, g: Im2colGeometry, padValue: number): Tensor {
  const out = allocate(requireFloating('unfold', 'input', x.dtype), g.batch * g.channels * g.kh * g.kw * g.oh * g.ow, 'unfold');
  im2colInto(x.data as FloatArray, out, g, padValue);
  return record('Im2ColBackward0', [x], wrap(out, [g.batch, g.channels * g.kh * g.kw, g.oh * g.ow]), (grad) => [foldRaw(grad, g)]);
}

/** col2im with a given geometry; backward is im2col. */
function foldRaw(cols: Tensor, g: Im2colGeometry): Tensor {
  const out = allocate(requireFloating('fold', 'input', cols.dtype), g.batch * g.channels * g.height * g.width, 'fold');
  col2imInto(cols.data as FloatArray, out, g);
  return record('Col2ImBackward0', [cols], wrap(out, [g.batch, g.channels, g.height, g.width]), (grad) => [unfoldRaw(grad, g, 0)]);
}

/** Runs `f` on the physical tensor inside vmap (batch dims folded into N). */
function perImage(x: Tensor, f: (p: Tensor) => Tensor): Tensor {
  if (!isBatched(x)) return f(x);
  const lead = x.value.shape.slice(0, x.levels.length);
  const p = reshape(x.value, [-1, ...x.value.shape.slice(x.levels.length + 1)]);
  const out = f(p);
  const n = x.shape[0];
  return batchedOf(reshape(out, [...lead, n, ...out.shape.slice(1)]), x.levels);
}

/** PyTorch's `F.unfold`: [N, C, H, W] → [N, C·kh·kw, L] sliding windows. */
export function unfold(x: Tensor, kernelSize: Pair, opts: UnfoldOptions = {}): Tensor {
  checkTensor('unfold', 'input', x);
  const k = pair('unfold', 'kernelSize', kernelSize, 1, 1);
  const p = pair('unfold', 'padding', opts.padding, 0, 0);
  const s = pair('unfold', 'stride', opts.stride, 1, 1);
  const d = pair('unfold', 'dilation', opts.dilation, 1, 1);
  return perImage(x, (q) => unfoldRaw(q, geometry('unfold', q.shape, k, [p[0], p[0], p[1], p[1]], s, d), 0));
}

/** PyTorch's `F.fold`: [N, C·kh·kw, L] → [N, C, H, W], the adjoint of {@link unfold} (overlaps summed). */
export function fold(cols: Tensor, outputSize: [number, number], kernelSize: Pair, opts: UnfoldOptions = {}): Tensor {
  checkTensor('fold', 'input', cols);
  const k = pair('fold', 'kernelSize', kernelSize, 1, 1);
  const p = pair('fold', 'padding', opts.padding, 0, 0);
  const s = pair('fold', 'stride', opts.stride, 1, 1);
  const d = pair('fold', 'dilation', opts.dilation, 1, 1);
  if (cols.ndim !== 3 || cols.shape[1] % (k[0] * k[1]) !== 0) throw new RangeError(`fold: expected [N, C·${k[0]}·${k[1]}, L], got shape ${fmtShape(cols.shape)}`);
  const c = cols.shape[1] / (k[0] * k[1]);
  return perImage(cols, (q) => {
    const g = geometry('fold', [q.shape[0], c, outputSize[0], outputSize[1]], k, [p[0], p[0], p[1], p[1]], s, d);
    if (g.oh * g.ow !== q.shape[2]) throw new RangeError(`fold: ${q.shape[2]} columns do not match an output of ${outputSize.join('×')} (${g.oh}·${g.ow} windows)`);
    return foldRaw(q, g);
  });
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Window step (default 1). */
  stride?: Pair;
  /** Zero padding per side, or 'valid' (0) or 'same' (output size = input size; stride 1 only). */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1). */
  groups?: number;
}

/** Per-side padding for 'same': the total dilation·(k − 1), the extra one after (PyTorch's rule). */
function samePad(k: number, d: number): [number, number] {
  const total = d * (k - 1);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * 2-d convolution (cross-correlation, as PyTorch) of `input` `[N, C, H, W]` with `weight`
 * `[O, C/groups, kh, kw]` and optional `bias` `[O]`: `[N, O, oh, ow]`.
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const fn = 'conv2d';
  checkTensor(fn, 'input', input);
  checkTensor(fn, 'weight', weight);
  if (weight.ndim !== 4) throw new RangeError(`${fn}: weight must be [out, in/groups, kh, kw], got shape ${fmtShape(weight.shape)}`);
  if (input.ndim !== 4) throw new RangeError(`${fn}: expected a 4-d input [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw typeError(fn, 'groups', 'a positive integer', groups);
  const [o, cg, kh, kw] = weight.shape;
  const c = input.shape[1];
  if (c !== cg * groups || o % groups !== 0) {
    throw new RangeError(`${fn}: the input has ${c} channels and weight ${fmtShape(weight.shape)} with groups ${groups} expects ${cg * groups} (and out channels divisible by groups)`);
  }
  const s = pair(fn, 'stride', opts.stride, 1, 1);
  const d = pair(fn, 'dilation', opts.dilation, 1, 1);
  let pad: [number, number, number, number];
  if (opts.padding === 'same') {
    if (s[0] !== 1 || s[1] !== 1) throw rangeError(fn, 'padding', "'same' only with stride 1 (as PyTorch)", opts.padding);
    pad = [...samePad(kh, d[0]), ...samePad(kw, d[1])];
  } else if (opts.padding === 'valid') {
    pad = [0, 0, 0, 0];
  } else {
    const p = pair(fn, 'padding', opts.padding, 0, 0);
    pad = [p[0], p[0], p[1], p[1]];
  }
  if (isBatched(weight) || (bias && isBatched(bias))) return perMemberConv(input, weight, bias ?? null, opts);
  return perImage(input, (x) => {
    const g = geometry(fn, x.shape, [kh, kw], pad, s, d);
    const cols = unfoldRaw(x, g, 0);
    const kk = cg * kh * kw;
    const w2 = reshape(weight, [o, kk]);
    const og = o / groups;
    const outs: Tensor[] = [];
    for (let gi = 0; gi < groups; gi++) {
      const wg = groups === 1 ? w2 : narrow(w2, 0, gi * og, og);
      const cgCols = groups === 1 ? cols : narrow(cols, 1, gi * kk, kk);
      outs.push(matmul(wg, cgCols));
    }
    let y = reshape(groups === 1 ? outs[0] : cat(outs, 1), [x.shape[0], o, g.oh, g.ow]);
    if (bias) y = add(y, reshape(bias, [1, o, 1, 1]));
    return y;
  });
}

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  /** Window step (default 1). */
  stride?: number;
  /** Zero padding per side, 'valid' or 'same'. */
  padding?: number | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1). */
  groups?: number;
}

/**
 * vmap's rule for a conv whose weight (or bias) differs per member (per-task weights, as in a
 * batched MAML/iMAML): one convolution per member on its physical slices (the loop is the rule:
 * the weights differ), stacked back into the batch.
 */
function perMemberConv(input: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): Tensor {
  const all = bias === null ? [input, weight] : [input, weight, bias];
  const { levels, sizes } = batchOf(all);
  const count = numelOf(sizes);
  const flat = (t: Tensor): Tensor => reshape(materializeBatched(t, levels, sizes, t.ndim), [count, ...t.shape]);
  const [px, pw] = [flat(input), flat(weight)];
  const pb = bias === null ? null : flat(bias);
  const outs: Tensor[] = [];
  for (let m = 0; m < count; m++) outs.push(conv2d(select(px, 0, m), select(pw, 0, m), pb === null ? null : select(pb, 0, m), opts));
  const y = stack(outs, 0);
  return batchedOf(reshape(y, [...sizes, ...y.shape.slice(1)]), levels);
}

/** 1-d convolution of `[N, C, L]` with weight `[O, C/groups, k]`: conv2d on a height-1 image. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  checkTensor('conv1d', 'input', input);
  checkTensor('conv1d', 'weight', weight);
  if (input.ndim !== 3 || weight.ndim !== 3) throw new RangeError(`conv1d: expected input [N, C, L] and weight [O, C/groups, k], got ${fmtShape(input.shape)} and ${fmtShape(weight.shape)}`);
  const padding = typeof opts.padding === 'number' ? ([0, opts.padding] as [number, number]) : opts.padding;
  const y = conv2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias, { stride: [1, opts.stride ?? 1], padding, dilation: [1, opts.dilation ?? 1], groups: opts.groups });
  return squeeze(y, 2);
}

/** Options of the pooling functions. */
export interface PoolOptions {
  /** Window step (default: the kernel size). */
  stride?: Pair;
  /** Padding per side (default 0; −∞ for max, 0 for average pooling). */
  padding?: Pair;
}

/** Options of {@link maxPool2d}. */
export interface MaxPoolOptions extends PoolOptions {
  /** Spacing between window taps (default 1). */
  dilation?: Pair;
}

/** Windows of every channel as [N·C, kh·kw, L], plus the geometry. */
function windows(fn: string, x: Tensor, kernelSize: Pair, opts: MaxPoolOptions, padValue: number): [Tensor, Im2colGeometry] {
  const k = pair(fn, 'kernelSize', kernelSize, 1, 1);
  const stride: [number, number] = opts.stride === undefined ? k : pair(fn, 'stride', opts.stride, 1, 1);
  const p = pair(fn, 'padding', opts.padding, 0, 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) throw new RangeError(`${fn}: padding ${p.join('×')} must be at most half the kernel ${k.join('×')} (as PyTorch)`);
  const d = pair(fn, 'dilation', opts.dilation, 1, 1);
  const [n, c, h, w] = x.shape;
  const flat = reshape(x, [n * c, 1, h, w]);
  const g = geometry(fn, flat.shape, k, [p[0], p[0], p[1], p[1]], stride, d);
  return [unfoldRaw(flat, g, padValue), g];
}

/** Max pooling of [N, C, H, W] (padding with −∞, as PyTorch). */
export function maxPool2d(input: Tensor, kernelSize: Pair, opts: MaxPoolOptions = {}): Tensor {
  checkTensor('maxPool2d', 'input', input);
  if (input.ndim !== 4) throw new RangeError(`maxPool2d: expected a 4-d input [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  return perImage(input, (x) => {
    const [cols, g] = windows('maxPool2d', x, kernelSize, opts, Number.NEGATIVE_INFINITY);
    return reshape(max(cols, 1).values, [x.shape[0], x.shape[1], g.oh, g.ow]);
  });
}

/** Average pooling of [N, C, H, W] (zero padding counted in the average, PyTorch's default). */
export function avgPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  checkTensor('avgPool2d', 'input', input);
  if (input.ndim !== 4) throw new RangeError(`avgPool2d: expected a 4-d input [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  return perImage(input, (x) => {
    const [cols, g] = windows('avgPool2d', x, kernelSize, opts, 0);
    return reshape(mean(cols, 1), [x.shape[0], x.shape[1], g.oh, g.ow]);
  });
}

/** The [out, size] matrix averaging PyTorch's adaptive bins [⌊i·size/out⌋, ⌈(i+1)·size/out⌉). */
function binMatrix(size: number, out: number, dtype: Tensor['dtype']): Tensor {
  const a = allocate(dtype, out * size);
  for (let i = 0; i < out; i++) {
    const lo = Math.floor((i * size) / out);
    const hi = Math.ceil(((i + 1) * size) / out);
    for (let j = lo; j < hi; j++) a[i * size + j] = 1 / (hi - lo);
  }
  return wrap(a, [out, size]);
}

/** Adaptive average pooling of [N, C, H, W] to `outputSize` (PyTorch's bins). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  checkTensor('adaptiveAvgPool2d', 'input', input);
  if (input.ndim !== 4) throw new RangeError(`adaptiveAvgPool2d: expected a 4-d input [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  const [oh, ow] = pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1, 1);
  const [, , h, w] = input.shape;
  if (oh === 1 && ow === 1) return mean(input, [2, 3], true);
  // Separable bins: rows then columns, two matrix products.
  const rows = matmul(binMatrix(h, oh, input.dtype), input);
  return matmul(rows, transpose2d(binMatrix(w, ow, input.dtype)));
}
