/** Shape ops: reshape/view, transpose/permute, unsqueeze/squeeze (views, no arithmetic). Forward and backward side by side. */
import { record } from '../autograd/node';
import { rangeError, typeError } from '../errors';
import { allocate } from '../tensor/dtype';
import { permuteInto } from '../tensor/kernels/layout';
import { fmtShape, inferShape, normalizeDim, numelOf, sameShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { batchedOf, isBatched, physicalOf } from '../tensor/batched';
import { checkTensor, wrap } from './util';

/** Accepts `f(2, 3)` and `f([2, 3])`. */
export function shapeArgs(fn: string, args: readonly (number | readonly number[])[]): number[] {
  const shape = args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
  if (!shape.every((s) => typeof s === 'number' && Number.isInteger(s))) throw typeError(fn, 'shape', 'integers', shape);
  return shape.slice();
}

/** A tensor with the same data in a new shape (one dimension may be -1). Shares storage. */
export function reshape(a: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  return reshapeAs('reshape', a, shape);
}

function reshapeAs(fn: string, a: Tensor, shape: (number | readonly number[])[]): Tensor {
  checkTensor(fn, 'input', a);
  const target = inferShape(fn, shapeArgs(fn, shape), a.numel, a.shape);
  if (sameShape(target, a.shape)) return a.gradFn === null && !a.requiresGrad ? a : reshapeRecorded(a, target);
  return reshapeRecorded(a, target);
}

/** A view of `a` in `target` shape; `name` is the gradFn name PyTorch shows for the op that asked for it. */
export function reshapeRecorded(a: Tensor, target: number[], name = 'ViewBackward0'): Tensor {
  if (isBatched(a)) return batchedOf(reshapeRecorded(a.value, [...a.value.shape.slice(0, a.levels.length), ...target], name), a.levels);
  const out = new Tensor(a.data, target, false, a._version);
  return record(name, [a], out, (g) => [reshape(g, a.shape)]);
}

/** Alias of {@link reshape} (storage is always contiguous, so every view is valid). */
export function view(a: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  return reshapeAs('view', a, shape);
}

/** Flattens dims startDim..endDim into one. */
export function flatten(a: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', 'input', a);
  if (a.ndim === 0) return reshape(a, [1]);
  const s = normalizeDim('flatten', startDim, a.ndim);
  const e = normalizeDim('flatten', endDim, a.ndim);
  if (s > e) throw rangeError('flatten', 'startDim', `<= endDim (${e})`, startDim);
  const shape = [...a.shape.slice(0, s), numelOf(a.shape.slice(s, e + 1)), ...a.shape.slice(e + 1)];
  return reshape(a, shape);
}

/** Permutes the dimensions. */
export function permute(a: Tensor, ...dims: (number | readonly number[])[]): Tensor {
  const fn = 'permute';
  checkTensor(fn, 'input', a);
  const perm = shapeArgs(fn, dims).map((d) => normalizeDim(fn, d, a.ndim));
  if (perm.length !== a.ndim || new Set(perm).size !== perm.length) {
    throw rangeError(fn, 'dims', `a permutation of ${a.ndim} dimensions`, dims);
  }
  return permuteNamed(a, perm, 'PermuteBackward0');
}

/** Permutes by a checked `perm`, recording under `name` (transpose and t() share the kernel). */
function permuteNamed(a: Tensor, perm: number[], name: string): Tensor {
  if (isBatched(a)) {
    const k = a.levels.length;
    return batchedOf(permuteNamed(a.value, [...Array(k).keys(), ...perm.map((p) => p + k)], name), a.levels);
  }
  if (perm.every((p, i) => p === i)) return a;
  const shape = perm.map((p) => a.shape[p]);
  const data = allocate(a.dtype, a.numel);
  permuteInto(a.data, a.shape, perm, data);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return record(name, [a], wrap(data, shape), (g) => [permute(g, inverse)]);
}

/** Swaps two dimensions. */
export function transpose(a: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor('transpose', 'input', a);
  const d0 = normalizeDim('transpose', dim0, a.ndim);
  const d1 = normalizeDim('transpose', dim1, a.ndim);
  const perm = [...Array(a.ndim).keys()];
  perm[d0] = d1;
  perm[d1] = d0;
  return permuteNamed(a, perm, 'TransposeBackward0');
}

/** Transpose of a tensor with at most 2 dimensions (PyTorch's `t()`). */
export function t(a: Tensor): Tensor {
  checkTensor('t', 'input', a);
  if (a.ndim > 2) throw new RangeError(`t: expects a tensor with <= 2 dimensions, got shape ${fmtShape(a.shape)}; use transpose(d0, d1)`);
  return a.ndim < 2 ? a : permuteNamed(a, [1, 0], 'TBackward0');
}

/** Inserts a size-1 dimension at `dim`. */
export function unsqueeze(a: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', 'input', a);
  const d = normalizeDim('unsqueeze', dim, a.ndim + 1);
  return reshapeRecorded(a, [...a.shape.slice(0, d), 1, ...a.shape.slice(d)], 'UnsqueezeBackward0');
}

/** Removes size-1 dimensions (all of them, or only `dim`). */
export function squeeze(a: Tensor, dim?: number): Tensor {
  checkTensor('squeeze', 'input', a);
  if (dim === undefined) return reshapeRecorded(a, a.shape.filter((s) => s !== 1), 'SqueezeBackward0');
  const d = normalizeDim('squeeze', dim, a.ndim);
  if (a.ndim === 0 || a.shape[d] !== 1) return a;
  return reshapeRecorded(a, [...a.shape.slice(0, d), ...a.shape.slice(d + 1)], 'SqueezeBackward1');
}


/**
 * vmap's layout for an operand of a member-by-member op: `x`'s physical tensor with one leading
 * dimension per entry of `levels` (size 1 where `x` is not batched over it) and its logical
 * dimensions padded on the left with ones to `rank`, so that ordinary broadcasting pairs member i
 * with member i. `levels` must hold x's own (sorted ascending).
 */
export function alignBatched(x: Tensor, levels: readonly number[], rank: number): Tensor {
  const [p, own] = physicalOf(x);
  const logical = p.shape.slice(own.length);
  const target = [...levels.map((l) => (own.includes(l) ? p.shape[own.indexOf(l)] : 1)), ...new Array<number>(Math.max(rank - logical.length, 0)).fill(1), ...logical];
  return sameShape(target, p.shape) ? p : reshapeRecorded(p, target);
}
