/** Reductions: sum, mean, max/min (over a dim or everything), logsumexp. */
import { record } from '../autograd/node';
import { rangeError, typeError } from '../errors';
import { type FloatArray, allocate, allocateIndices, isFloating, requireFloating } from '../tensor/dtype';
import { castExact, to } from './cast';
import { copyInto, oneHotInto } from '../tensor/kernels/layout';
import { BinaryOp, binaryScalarInto, zeroNonFiniteInto } from '../tensor/kernels/elementwise';
import { ReduceOp, argReduceInto, reduceAxes } from '../tensor/kernels/reduce';
import { normalizeDim, numelOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { add, eqMask, div, exp, log, mul, sub } from './elementwise';
import { broadcastTo } from './broadcast';
import { reshape } from './shape';
import { detach } from './inplace';
import { checkTensor, scalarOf, wrap } from './util';
import { batchedOf, isBatched } from '../tensor/batched';

/** Dims argument: one dim, a list, or undefined for all. */
export type Dims = number | number[] | undefined;

function normalizeDims(fn: string, dims: Dims, ndim: number): number[] {
  if (dims === undefined) return [...Array(ndim).keys()];
  const list = Array.isArray(dims) ? dims : [dims];
  if (!Array.isArray(dims) && typeof dims !== 'number') throw typeError(fn, 'dim', 'an integer or an array of integers', dims);
  const out = list.map((d) => normalizeDim(fn, d, ndim));
  const dup = out.find((d, i) => out.indexOf(d) !== i);
  if (dup !== undefined) throw rangeError(fn, 'dim', 'distinct dimensions', dims);
  // A 0-d tensor has nothing to reduce: dim 0 / -1 leave it as is (as in PyTorch).
  return ndim === 0 ? [] : out.sort((x, y) => x - y);
}

/** Raw reduction of `dims` (sorted) with keepdim shape; no autograd. */
function reduceRaw(fn: string, op: ReduceOp, a: Tensor, dims: number[]): { data: Float32Array | Float64Array; keptShape: number[] } {
  return reduceAxes(fn, op, requireFloatData(fn, a), a.shape, dims);
}

/** `a`'s values for a float kernel (an integer or bool input is refused, naming `fn`). */
function requireFloatData(fn: string, a: Tensor): FloatArray {
  requireFloating(fn, 'input', a.dtype);
  return a.data as FloatArray;
}

/** The shape after reducing `dims` with or without keepdim. */
function outShape(keptShape: number[], dims: number[], keepdim: boolean): number[] {
  return keepdim ? keptShape : keptShape.filter((_, i) => !dims.includes(i));
}

/** Sum over `dim` (all dims when omitted); an integer or bool input sums to int64, as in PyTorch. */
export function sum(a: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor('sum', 'input', a);
  // Exact in float64 (the values are integers within ±2⁵³).
  if (!isFloating(a.dtype)) return castExact(sum(to(a, 'float64'), dim, keepdim), 'int64');
  const dims = normalizeDims('sum', dim, a.ndim);
  if (isBatched(a)) return batchedOf(sum(a.value, dims.map((d) => d + a.levels.length), keepdim), a.levels);
  const { data, keptShape } = reduceRaw('sum', ReduceOp.Sum, a, dims);
  const out = wrap(data, outShape(keptShape, dims, keepdim));
  // PyTorch names the full reduction SumBackward0 and the one over dims SumBackward1.
  return record(dim === undefined ? 'SumBackward0' : 'SumBackward1', [a], out, (g) => [broadcastTo(reshape(g, keptShape), a.shape)]);
}

/** Mean over `dim` (all dims when omitted). */
export function mean(a: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor('mean', 'input', a);
  requireFloating('mean', 'input', a.dtype);
  const dims = normalizeDims('mean', dim, a.ndim);
  if (isBatched(a)) return batchedOf(mean(a.value, dims.map((d) => d + a.levels.length), keepdim), a.levels);
  const count = dims.reduce((c, d) => c * a.shape[d], 1);
  const { data, keptShape } = reduceRaw('mean', ReduceOp.Sum, a, dims);
  binaryScalarInto(BinaryOp.Div, data, scalarOf(count, a.dtype).data as FloatArray, data, false);
  const out = wrap(data, outShape(keptShape, dims, keepdim));
  // One node (PyTorch's MeanBackward0/1) rather than sum then div, so gradFn names match.
  return record(dim === undefined ? 'MeanBackward0' : 'MeanBackward1', [a], out, (g) => [div(broadcastTo(reshape(g, keptShape), a.shape), count)]);
}

/** Result of max/min over a dim: values and (non-differentiable) int64 indices. */
export interface ValuesIndices {
  /** The reduced values. */
  values: Tensor;
  /** Positions of the values along the reduced dimension (an int64 tensor). */
  indices: Tensor;
}

function argExtreme(fn: string, op: ReduceOp.Max | ReduceOp.Min, a: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normalizeDim(fn, dim, a.ndim);
  if (!isFloating(a.dtype)) {
    // Integer and bool values are exact in float64; the values keep the input's dtype.
    const r = argExtreme(fn, op, to(a, 'float64'), dim, keepdim);
    return { values: castExact(r.values, a.dtype), indices: r.indices };
  }
  if (isBatched(a)) {
    if (a.ndim === 0) return argExtreme(fn, op, reshape(a, [1]), 0, false);
    const r = argExtreme(fn, op, a.value, d + a.levels.length, keepdim);
    return { values: batchedOf(r.values, a.levels), indices: batchedOf(r.indices, a.levels) };
  }
  const shape = a.ndim === 0 ? [] : a.shape;
  const outer = numelOf(shape.slice(0, d));
  const len = a.ndim === 0 ? 1 : shape[d];
  if (len === 0) throw new RangeError(`${fn}: cannot reduce over a zero-size dimension ${d}`);
  const inner = numelOf(shape.slice(d + 1));
  const values = allocate(a.dtype, outer * inner, fn);
  const idx = allocateIndices(outer * inner, fn);
  argReduceInto(op, a.data as FloatArray, values, idx, outer, len, inner);
  const kept = a.ndim === 0 ? [] : shape.map((s, i) => (i === d ? 1 : s));
  const oshape = keepdim ? kept : kept.filter((_, i) => i !== d || a.ndim === 0);
  const indices = wrap(allocate('int64', idx.length, fn), oshape);
  copyInto(idx, indices.data);
  // One-hot mask of the chosen positions: the gradient flows to them only.
  const mask = allocate(a.dtype, a.numel, fn);
  oneHotInto(idx, mask, outer, len, inner);
  const maskT = wrap(mask, a.shape);
  const v = record(op === ReduceOp.Max ? 'MaxBackward0' : 'MinBackward0', [a], wrap(values, oshape), (g) => [
    mul(broadcastTo(reshape(g, kept), a.shape), maskT),
  ]);
  return { values: v, indices };
}

function fullExtreme(fn: string, op: ReduceOp.Max | ReduceOp.Min, a: Tensor): Tensor {
  if (!isFloating(a.dtype)) return castExact(fullExtreme(fn, op, to(a, 'float64')), a.dtype);
  if (isBatched(a)) return batchedFullExtreme(fn, op, a.value, a.levels.length, a.levels);
  if (a.numel === 0) throw new RangeError(`${fn}: cannot reduce an empty tensor`);
  const dims = [...Array(a.ndim).keys()];
  const { data } = reduceRaw(fn, op, a, dims);
  const out = wrap(data, []);
  // Ties share the gradient evenly, as in PyTorch's amax/amin.
  return record(op === ReduceOp.Max ? 'MaxBackward1' : 'MinBackward1', [a], out, (g) => {
    const m = eqMask(a, detach(out));
    return [mul(div(m, sum(m)), g)];
  });
}

/** Maximum over everything (a 0-d tensor) or, with `dim`, `{ values, indices }` along it. */
export function max(a: Tensor): Tensor;
export function max(a: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(a: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  checkTensor('max', 'input', a);
  return dim === undefined ? fullExtreme('max', ReduceOp.Max, a) : argExtreme('max', ReduceOp.Max, a, dim, keepdim);
}

/** Minimum over everything (a 0-d tensor) or, with `dim`, `{ values, indices }` along it. */
export function min(a: Tensor): Tensor;
export function min(a: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(a: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  checkTensor('min', 'input', a);
  return dim === undefined ? fullExtreme('min', ReduceOp.Min, a) : argExtreme('min', ReduceOp.Min, a, dim, keepdim);
}

/**
 * Index of the maximum along `dim` (of the flattened tensor when omitted; the first one on ties),
 * as an int64 tensor. Not differentiable.
 */
export function argmax(a: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor('argmax', 'input', a);
  if (a.dtype === 'bool') throw new TypeError("argmax: bool input is not supported (as in PyTorch); cast it with .to('int64')");
  if (dim === undefined) return detach(argExtreme('argmax', ReduceOp.Max, reshape(a, [a.numel]), 0, false).indices);
  return detach(argExtreme('argmax', ReduceOp.Max, a, dim, keepdim).indices);
}

/** Index of the minimum along `dim`; see {@link argmax}. */
export function argmin(a: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor('argmin', 'input', a);
  if (a.dtype === 'bool') throw new TypeError("argmin: bool input is not supported (as in PyTorch); cast it with .to('int64')");
  if (dim === undefined) return detach(argExtreme('argmin', ReduceOp.Min, reshape(a, [a.numel]), 0, false).indices);
  return detach(argExtreme('argmin', ReduceOp.Min, a, dim, keepdim).indices);
}

/** log Σ exp(a) over `dim`, computed stably. */
export function logsumexp(a: Tensor, dim: Dims, keepdim = false): Tensor {
  checkTensor('logsumexp', 'input', a);
  const dims = normalizeDims('logsumexp', dim, a.ndim);
  if (isBatched(a)) return batchedOf(logsumexp(a.value, dims.map((d) => d + a.levels.length), keepdim), a.levels);
  requireFloating('logsumexp', 'input', a.dtype);
  const raw = reduceRaw('logsumexp', ReduceOp.Max, a, dims);
  const m = wrap(raw.data, raw.keptShape);
  zeroNonFiniteInto(m.data as FloatArray);
  // Forward on constants; one recorded node (PyTorch's LogsumexpBackward0) whose rule
  // g·exp(a − out) reads the connected output, so higher derivatives stay exact.
  const kept = add(log(sum(exp(sub(detach(a), m)), dims, true)), m);
  const out = wrap(kept.data, outShape(raw.keptShape, dims, keepdim));
  return record('LogsumexpBackward0', [a], out, (g) => [
    mul(broadcastTo(reshape(g, raw.keptShape), a.shape), exp(sub(a, reshape(out, raw.keptShape)))),
  ], [out]);
}


/**
 * vmap's rule for max()/min() over everything: one extreme per member (the physical tensor's
 * trailing dims), ties sharing the gradient evenly as in the unbatched op.
 */
function batchedFullExtreme(fn: string, op: ReduceOp.Max | ReduceOp.Min, p: Tensor, k: number, levels: readonly number[]): Tensor {
  const lead = p.shape.slice(0, k);
  if (numelOf(p.shape.slice(k)) === 0) throw new RangeError(`${fn}: cannot reduce an empty tensor`);
  const dims = [...Array(p.ndim - k).keys()].map((d) => d + k);
  const { data, keptShape } = reduceRaw(fn, op, p, dims);
  const out = wrap(data, lead);
  const v = record(op === ReduceOp.Max ? 'MaxBackward1' : 'MinBackward1', [p], out, (g) => {
    const m = eqMask(p, reshape(detach(out), keptShape));
    return [mul(div(m, sum(m, dims, true)), reshape(g, keptShape))];
  });
  return batchedOf(v, levels);
}
