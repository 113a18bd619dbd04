/** Selecting and joining: narrow/slice/select along a dim, indexSelect, cat and stack. */
import { record } from '../autograd/node';
import { rangeError, typeError } from '../errors';
import { type FloatArray, allocate, promoteTypes } from '../tensor/dtype';
import { gatherRowsInto, indexAddInto, sliceCopy, sliceScatter } from '../tensor/kernels/layout';
import { hostRead } from '../tensor/trace';
import { fmtShape, normalizeDim, numelOf } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { to } from './cast';
import { reshapeRecorded, unsqueeze } from './shape';
import { checkTensor, wrap } from './util';
import { batchOf, batchedOf, isBatched } from '../tensor/batched';
import { materializeBatched } from './broadcast';

function outerInner(shape: readonly number[], d: number): [number, number] {
  return [numelOf(shape.slice(0, d)), numelOf(shape.slice(d + 1))];
}

/** The normalised dim of a selection; a 0-d tensor has no dimension to select from (as in PyTorch). */
function dimOf(fn: string, a: Tensor, dim: number): number {
  if (a.ndim === 0) throw new RangeError(`${fn}: cannot be applied to a 0-d tensor (shape []); reshape it to [1] first`);
  return normalizeDim(fn, dim, a.ndim);
}

/**
 * Every `step`-th entry of `dim` from `start`, `count` of them. The primitive behind narrow,
 * slice and select; its backward is {@link stridedScatter}.
 */
export function strided(a: Tensor, dim: number, start: number, count: number, step: number): Tensor {
  if (isBatched(a)) return batchedOf(strided(a.value, dim + a.levels.length, start, count, step), a.levels);
  const [outer, inner] = outerInner(a.shape, dim);
  const shape = a.shape.slice();
  shape[dim] = count;
  const out = allocate(a.dtype, numelOf(shape));
  sliceCopy(a.data, out, outer, inner, a.shape[dim], start, step, count, count, 0);
  return record('SliceBackward0', [a], wrap(out, shape), (g) => [stridedScatter(g, a.shape, dim, start, step)]);
}

/** Zeros of `shape` with `g` placed at the strided positions of `dim` (the backward of {@link strided}). */
export function stridedScatter(g: Tensor, shape: readonly number[], dim: number, start: number, step: number): Tensor {
  const [outer, inner] = outerInner(shape, dim);
  const out = allocate(g.dtype, numelOf(shape));
  const count = g.shape[dim];
  // Loops run only over elements that exist: outer alone may be huge when another size is 0.
  if (g.numel > 0) sliceScatter(g.data, out, outer, inner, start, step, count, shape[dim]);
  return record('SliceScatterBackward0', [g], wrap(out, shape), (gg) => [strided(gg, dim, start, count, step)]);
}

/** `length` entries of `dim` starting at `start` (PyTorch's narrow). */
export function narrow(a: Tensor, dim: number, start: number, length: number): Tensor {
  const fn = 'narrow';
  checkTensor(fn, 'input', a);
  const d = dimOf(fn, a, dim);
  const size = a.shape[d];
  if (!Number.isInteger(start)) throw rangeError(fn, 'start', `an integer in [${-size}, ${size}]`, start);
  const s = start < 0 ? start + size : start;
  if (s < 0 || s > size) throw rangeError(fn, 'start', `an integer in [${-size}, ${size}]`, start);
  if (!Number.isInteger(length) || length < 0 || s + length > size) {
    throw rangeError(fn, 'length', `an integer in [0, ${size - s}] for dimension ${d} of size ${size}`, length);
  }
  return strided(a, d, s, length, 1);
}

/** Python-style slice `a[start:end:step]` along `dim` (default dim 0); negative and out-of-range bounds clamp as in Python. */
export function slice(a: Tensor, start?: number, end?: number, step = 1, dim = 0): Tensor {
  const fn = 'slice';
  checkTensor(fn, 'input', a);
  const d = dimOf(fn, a, dim);
  const size = a.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw rangeError(fn, 'step', 'a positive integer', step);
  const clampIdx = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v)) throw typeError(fn, 'start/end', 'integers', v);
    const w = v < 0 ? v + size : v;
    return Math.min(Math.max(w, 0), size);
  };
  const s = clampIdx(start, 0);
  const e = clampIdx(end, size);
  const count = e > s ? Math.ceil((e - s) / step) : 0;
  return strided(a, d, s, count, step);
}

/** The entry `index` of `dim`, removing that dim (PyTorch's select). */
export function select(a: Tensor, dim: number, index: number): Tensor {
  const fn = 'select';
  checkTensor(fn, 'input', a);
  const d = dimOf(fn, a, dim);
  const size = a.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw rangeError(fn, 'index', `an integer in [${-size}, ${size - 1}] for dimension ${d} of size ${size}`, index);
  }
  const i = index < 0 ? index + size : index;
  const shape = a.shape.filter((_, k) => k !== d);
  return reshapeRecorded(strided(a, d, i, 1, 1), shape, 'SelectBackward0');
}

/** `a[i]`: the entry `i` of the first dimension. */
export function index(a: Tensor, i: number): Tensor {
  return select(a, 0, i);
}

function checkIndices(fn: string, indices: unknown, size: number): number[] {
  const list = isTensor(indices) ? Array.from(hostRead(fn, indices.data)) : indices;
  if (!Array.isArray(list) || !list.every((v) => Number.isInteger(v))) throw typeError(fn, 'index', 'an array (or tensor) of integers', indices);
  return list.map((v: number) => {
    if (v < -size || v >= size) throw rangeError(fn, 'index', `entries in [${-size}, ${size - 1}]`, v);
    return v < 0 ? v + size : v;
  });
}

/** Entries `indices` of `dim`, in that order (repeats allowed). */
export function indexSelect(a: Tensor, dim: number, indices: number[] | Tensor): Tensor {
  const fn = 'indexSelect';
  checkTensor(fn, 'input', a);
  const d = dimOf(fn, a, dim);
  if (isBatched(indices)) return perMemberIndexSelect(a, d, indices);
  const idx = checkIndices(fn, indices, a.shape[d]);
  if (isBatched(a)) return batchedOf(gatherRows(a.value, d + a.levels.length, idx), a.levels);
  return gatherRows(a, d, idx);
}

function gatherRows(a: Tensor, d: number, idx: number[]): Tensor {
  const [outer, inner] = outerInner(a.shape, d);
  const shape = a.shape.slice();
  shape[d] = idx.length;
  const out = allocate(a.dtype, numelOf(shape), 'indexSelect');
  if (out.length > 0) gatherRowsInto(a.data, Int32Array.from(idx), out, outer, inner, a.shape[d]);
  return record('IndexSelectBackward0', [a], wrap(out, shape), (g) => [indexAdd(g, a.shape, d, idx)]);
}

/**
 * vmap's rule for indexSelect with indices that differ per member: each member gathers its own
 * rows (the loop over members is the rule: the gathers differ), stacked back into the batch.
 */
function perMemberIndexSelect(a: Tensor, d: number, indices: Tensor): Tensor {
  const { levels, sizes } = batchOf([a, indices]);
  const count = numelOf(sizes);
  const pa = reshapeRecorded(materializeBatched(a, levels, sizes, a.ndim), [count, ...a.shape]);
  const pi = materializeBatched(indices, levels, sizes, indices.ndim);
  const per = pi.numel / count;
  const rows: Tensor[] = [];
  for (let m = 0; m < count; m++) {
    const idx = checkIndices('indexSelect', Array.from(hostRead('indexSelect', pi.data).subarray(m * per, (m + 1) * per)), a.shape[d]);
    rows.push(gatherRows(strided(pa, 0, m, 1, 1), d + 1, idx));
  }
  const out = join('indexSelect', 'CatBackward0', rows, 0);
  return batchedOf(reshapeRecorded(out, [...sizes, ...out.shape.slice(1)]), levels);
}

/** Zeros of `shape` plus `g`'s rows added at `idx` along `d` (the backward of indexSelect). */
function indexAdd(g: Tensor, shape: readonly number[], d: number, idx: number[]): Tensor {
  const [outer, inner] = outerInner(shape, d);
  const out = allocate(g.dtype, numelOf(shape), 'indexAdd');
  if (g.numel > 0) indexAddInto(g.data as FloatArray, Int32Array.from(idx), out as FloatArray, outer, inner, shape[d]); // a gradient: floating
  return record('IndexAddBackward0', [g], wrap(out, shape), (gg) => [gatherRows(gg, d, idx)]);
}

/** Concatenates along `dim`; dtypes promote to float64 if mixed. */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return join('cat', 'CatBackward0', tensors, dim);
}

/** cat's body; stack reuses it under its own name (PyTorch's StackBackward0). */
function join(fn: string, name: string, tensors: Tensor[], dim: number): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError(fn, 'tensors', 'a non-empty array of Tensors', tensors);
  tensors.forEach((t, i) => {
    checkTensor(fn, `tensors[${i}]`, t);
    if (t.ndim === 0) throw new RangeError(`${fn}: tensors[${i}] is 0-d and cannot be concatenated; use stack, or reshape it to [1]`);
  });
  // PyTorch's promotion across the operands (the casts between floats are differentiable).
  const dtype = tensors.map((t) => t.dtype).reduce((p, q) => promoteTypes(p, q));
  const list = tensors.map((t) => to(t, dtype));
  const ref = list[0];
  const d = normalizeDim(fn, dim, ref.ndim);
  if (list.some(isBatched)) {
    // Every member needs every operand: unbatched ones are repeated along the batch dims.
    const { levels, sizes } = batchOf(list);
    list.forEach((t, i) => {
      if (t.ndim !== ref.ndim) throw new RangeError(`${fn}: tensors[${i}] has shape ${fmtShape(t.shape)}, which does not match ${fmtShape(ref.shape)} outside dimension ${d}`);
    });
    return batchedOf(join(fn, name, list.map((t) => materializeBatched(t, levels, sizes, ref.ndim)), d + levels.length), levels);
  }
  list.forEach((t, i) => {
    if (t.ndim !== ref.ndim || t.shape.some((s, k) => k !== d && s !== ref.shape[k])) {
      throw new RangeError(`${fn}: tensors[${i}] has shape ${fmtShape(t.shape)}, which does not match ${fmtShape(ref.shape)} outside dimension ${d}`);
    }
  });
  const total = list.reduce((s, t) => s + t.shape[d], 0);
  const shape = ref.shape.slice();
  shape[d] = total;
  const [outer, inner] = outerInner(shape, d);
  const out = allocate(dtype, numelOf(shape), fn);
  const offsets: number[] = [];
  let off = 0;
  for (const t of list) {
    offsets.push(off);
    sliceCopy(t.data, out, outer, inner, t.shape[d], 0, 1, t.shape[d], total, off);
    off += t.shape[d];
  }
  return record(name, list, wrap(out, shape), (g, needs) =>
    list.map((t, i) => (needs[i] ? strided(g, d, offsets[i], t.shape[d], 1) : null)),
  );
}

/** Stacks equally shaped tensors along a new dimension `dim`. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  const fn = 'stack';
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError(fn, 'tensors', 'a non-empty array of Tensors', tensors);
  tensors.forEach((t, i) => {
    checkTensor(fn, `tensors[${i}]`, t);
    if (fmtShape(t.shape) !== fmtShape(tensors[0].shape)) {
      throw new RangeError(`${fn}: tensors[${i}] has shape ${fmtShape(t.shape)} but tensors[0] has shape ${fmtShape(tensors[0].shape)}`);
    }
  });
  const d = normalizeDim(fn, dim, tensors[0].ndim + 1);
  return join(fn, 'StackBackward0', tensors.map((t) => unsqueeze(t, d)), d);
}
