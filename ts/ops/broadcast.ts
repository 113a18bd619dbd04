/**
 * Broadcasting as ops: `expand`/`broadcastTo` (materialise a broadcast copy) and `sumTo` (sum a
 * broadcast gradient back to a shape). Each is the other's backward, so both live here; the file
 * depends only on the shape views and the kernels, which keeps the op modules a DAG
 * (shape → broadcast → elementwise → reduce → matmul).
 */
import { record } from '../autograd/node';
import { rangeError } from '../errors';
import { allocate } from '../tensor/dtype';
import { BinaryOp, binaryInto } from '../tensor/kernels/elementwise';
import { ReduceOp, reduceAxes } from '../tensor/kernels/reduce';
import { broadcastStrides, fmtShape, numelOf, sameShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { reshape, shapeArgs } from './shape';
import { checkTensor, wrap } from './util';

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
  if (sameShape(a.shape, shape)) return a;
  const data = allocate(a.dtype, numelOf(shape), 'expand');
  const one = allocate(a.dtype, 1);
  one[0] = 1;
  binaryInto(BinaryOp.Mul, a.data, broadcastStrides(a.shape, shape), one, shape.map(() => 0), data, shape);
  return record('ExpandBackward0', [a], wrap(data, shape), (g) => [sumTo(g, a.shape)]);
}

/**
 * Sums a broadcast gradient back to `shape` (the backward of broadcasting): over the leading
 * dimensions `shape` lacks and those where it has size 1. Its own backward broadcasts again.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const { data, keptShape } = reduceAxes('sum', ReduceOp.Sum, g.data, g.shape, dims);
  const kept = record('SumBackward1', [g], wrap(data, keptShape), (gg) => [broadcastTo(gg, g.shape)]);
  return sameShape(keptShape, shape) ? kept : reshape(kept, shape.slice());
}
