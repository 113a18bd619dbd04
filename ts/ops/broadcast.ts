/**
 * Broadcasting as ops: `expand`/`broadcastTo` (materialise a broadcast copy) and `sumTo` (sum a
 * broadcast gradient back to a shape). Each is the other's backward, so both live here; the file
 * depends only on the shape views and the kernels, which keeps the op modules a DAG
 * (shape → broadcast → elementwise → reduce → matmul).
 */
import { record } from '../autograd/node';
import { rangeError } from '../errors';
import { type FloatArray, allocateUninitialized, isFloating } from '../tensor/dtype';
import { castExact, to } from './cast';
import { BinaryOp, binaryInto } from '../tensor/kernels/elementwise';
import { ReduceOp, reduceAxes } from '../tensor/kernels/reduce';
import { broadcastStrides, fmtShape, numelOf, sameShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { batchedOf, isBatched, physicalOf } from '../tensor/batched';
import { alignBatched, reshape, shapeArgs } from './shape';
import { checkTensor, scalarOf, wrap } from './util';
import { copyRange } from '../tensor/kernels/layout';
import { isRecording } from '../tensor/trace';

/** Broadcasts to `shape` (-1 keeps a dimension), materialising the copy. */
export function expand(a: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const fn = 'expand';
  checkTensor(fn, 'input', a);
  const want = shapeArgs(fn, shape);
  if (want.length < a.ndim) throw rangeError(fn, 'shape', `at least ${a.ndim} dimensions`, want);
  const off = want.length - a.ndim;
  const target = want.map((s, i) => {
    const own = i >= off ? a.shape[i - off] : 1;
    if (s === -1) {
      if (i < off) throw rangeError(fn, 'shape', 'no -1 in a new leading dimension', want);
      return own;
    }
    if (s < 0) throw rangeError(fn, 'shape', 'sizes >= 0, or -1 to keep a dimension', want);
    if (own !== 1 && own !== s) {
      throw new RangeError(`${fn}: cannot expand shape ${fmtShape(a.shape)} to ${fmtShape(want)} (dimension ${i}: ${own} vs ${s})`);
    }
    return s;
  });
  if (sameShape(target, a.shape)) return a;
  return broadcastTo(a, target);
}

/** Materialises `a` broadcast to `shape` (already checked compatible). */
export function broadcastTo(a: Tensor, shape: readonly number[]): Tensor {
  if (isBatched(a)) {
    const k = a.levels.length;
    const p = alignBatched(a, a.levels, shape.length);
    return batchedOf(broadcastTo(p, [...p.shape.slice(0, k), ...shape]), a.levels);
  }
  if (sameShape(a.shape, shape)) return a;
  // Integer and bool values go through the float64 kernel (exact for them).
  if (!isFloating(a.dtype)) return castExact(broadcastTo(to(a, 'float64'), shape), a.dtype);
  const data = allocateUninitialized(a.dtype, numelOf(shape), 'expand'); // every element is written below
  // (A recording takes the one-kernel path: a replay runs one instruction instead of log2(n) copies; x·1 = x.)
  if (repeatsWhole(a.shape, shape) && a.numel > 0 && data.length >= a.numel && !isRecording()) {
    // New (or size-1) leading dims only: the result is a's buffer repeated, copied in doubling blocks.
    copyRange(a.data, 0, data, 0, a.numel);
    for (let filled = a.numel; filled < data.length; filled *= 2) copyRange(data, 0, data, filled, Math.min(filled, data.length - filled));
  } else {
    const one = scalarOf(1, a.dtype).data as FloatArray;
    binaryInto(BinaryOp.Mul, a.data as FloatArray, broadcastStrides(a.shape, shape), one, shape.map(() => 0), data, shape);
  }
  return record('ExpandBackward0', [a], wrap(data, shape), (g) => [sumTo(g, a.shape)]);
}

/**
 * Sums a broadcast gradient back to `shape` (the backward of broadcasting): over the leading
 * dimensions `shape` lacks and those where it has size 1. Its own backward broadcasts again.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (isBatched(g)) {
    const k = g.levels.length;
    const lead = g.value.shape.slice(0, k);
    const padded = [...new Array<number>(Math.max(g.ndim - shape.length, 0)).fill(1), ...shape];
    return batchedOf(reshape(sumTo(g.value, [...lead, ...padded]), [...lead, ...shape]), g.levels);
  }
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const { data, keptShape } = reduceAxes('sum', ReduceOp.Sum, g.data as FloatArray, g.shape, dims); // a gradient: floating
  const kept = record('SumBackward1', [g], wrap(data, keptShape), (gg) => [broadcastTo(gg, g.shape)]);
  return sameShape(keptShape, shape) ? kept : reshape(kept, shape.slice());
}

/**
 * `x`'s physical tensor with a leading dimension of full size for each of `levels` (`sizes`) and
 * logical rank `rank`: operands that are joined (cat, stack) need every member materialised.
 */
export function materializeBatched(x: Tensor, levels: readonly number[], sizes: readonly number[], rank: number): Tensor {
  const p = alignBatched(x, levels, rank);
  return broadcastTo(p, [...sizes, ...p.shape.slice(levels.length)]);
}

/** True when broadcasting `from` to `to` only adds leading dims (or fills size-1 leading ones): a whole-buffer repeat. */
function repeatsWhole(from: readonly number[], to: readonly number[]): boolean {
  let lead = from.length;
  // Skip from's leading size-1 dims; the rest must equal to's trailing dims exactly.
  let k = 0;
  while (k < from.length && from[k] === 1) k++;
  lead = to.length - (from.length - k);
  if (lead < 0) return false;
  for (let i = k; i < from.length; i++) if (from[i] !== to[lead + i - k]) return false;
  return true;
}

/** `x` batched over all of `levels` (of `sizes`): itself when it is, else its members repeated. */
export function batchedOver(x: Tensor, levels: readonly number[], sizes: readonly number[]): Tensor {
  if (physicalOf(x)[1].length === levels.length) return x;
  return batchedOf(materializeBatched(x, levels, sizes, x.ndim), levels);
}
