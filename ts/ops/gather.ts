/**
 * `gather`, `scatterAdd` and `topk` (PyTorch's semantics along one dim). gather's backward is a
 * scatter-add of the gradient at the same indices and scatter-add's backward is a gather, so
 * derivatives of any order are exact. Indices are int64/int32 tensors (float tensors of integer
 * values are accepted too) or nested arrays; they are read on the host and checked. Inside vmap the
 * members' operands (indices too) are stacked on leading dims and one call along the shifted dim
 * gives each member its own result: gather, scatter-add and topk act per leading index.
 */
import { record } from '../autograd/node';
import { typeError } from '../errors';
import { allocate, requireFloating } from '../tensor/dtype';
import { batchOf, batchedOf, isBatched } from '../tensor/batched';
import { materializeBatched } from './broadcast';
import { fmtShape, normalizeDim, numelOf, stridesOf } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { add } from './elementwise';
import { tensor } from './creation';
import { checkTensor, wrap } from './util';
import { reshape } from './shape';

/** Integer indices with their shape, checked against the size of `dim`. */
function indexArray(fn: string, index: Tensor | number[] | number[][], size: number): { values: Int32Array; shape: number[] } {
  const t = isTensor(index) ? index : tensor(index as number[], { dtype: 'float64' });
  if (t.dtype === 'bool') throw new TypeError(`${fn}: argument 'index' must be an int64 or int32 tensor of indices, got a bool tensor (masks select with mg.where)`);
  const raw = hostRead(fn, t.data);
  const values = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (!Number.isInteger(v) || v < -size || v >= size) throw new RangeError(`${fn}: index ${v} at flat position ${i} is out of range for a dimension of size ${size}`);
    values[i] = v < 0 ? v + size : v;
  }
  return { values, shape: t.shape.slice() };
}

/** For each position of `shape`, the flat offset in `target` with coordinate `dim` replaced by idx. */
function offsets(shape: readonly number[], target: readonly number[], dim: number, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  const ts = stridesOf(target);
  const coord = new Array<number>(shape.length).fill(0);
  for (let p = 0; p < idx.length; p++) {
    let off = 0;
    for (let k = 0; k < shape.length; k++) off += (k === dim ? idx[p] : coord[k]) * ts[k];
    out[p] = off;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++coord[k] < shape[k]) break;
      coord[k] = 0;
    }
  }
  return out;
}

function checkShapes(fn: string, input: readonly number[], index: readonly number[], dim: number): void {
  if (index.length !== input.length || index.some((s, k) => k !== dim && s > input[k])) {
    throw new RangeError(`${fn}: index of shape ${fmtShape(index)} must have the input's rank (${input.length}) and no dim larger than the input's ${fmtShape(input)} outside dim ${dim}`);
  }
}

function gatherRaw(a: Tensor, d: number, idx: Int32Array, ishape: number[], offs: Int32Array): Tensor {
  const out = allocate(a.dtype, idx.length, 'gather');
  const x = hostRead('gather', a.data);
  for (let p = 0; p < offs.length; p++) out[p] = x[offs[p]];
  return record('GatherBackward0', [a], wrap(out, ishape), (g) => [scatterAddRaw(null, a.shape, d, idx, ishape, offs, g)]);
}

function scatterAddRaw(base: Tensor | null, shape: readonly number[], d: number, idx: Int32Array, ishape: number[], offs: Int32Array, src: Tensor): Tensor {
  const out = allocate(src.dtype, numelOf(shape), 'scatterAdd');
  const s = hostRead('scatterAdd', src.data);
  for (let p = 0; p < offs.length; p++) out[offs[p]] += s[p];
  const scattered = record('ScatterAddBackward0', [src], wrap(out, shape.slice()), (g) => [gatherRaw(g, d, idx, ishape, offs)]);
  return base === null ? scattered : add(base, scattered);
}

/**
 * vmap's rule for the ops here: every operand materialised with the batch dims of the union of
 * their levels in front, `op` applied to the physical tensors along `dim` + (number of batch
 * dims), the result batched again. `ranks` are the operands' logical ranks.
 */
function perMember(operands: readonly Tensor[], op: (physical: Tensor[], batchDims: number) => Tensor): Tensor {
  const { levels, sizes } = batchOf(operands);
  const physical = operands.map((x) => materializeBatched(x, levels, sizes, x.ndim));
  return batchedOf(op(physical, levels.length), levels);
}

/** An index argument as a tensor (arrays become float64 tensors of their values). */
function indexTensor(index: Tensor | number[] | number[][]): Tensor {
  return isTensor(index) ? index : tensor(index as number[], { dtype: 'float64' });
}

/** out[…, i, …] = input[…, index[…, i, …], …] along `dim` (PyTorch's `gather`); shape of `index`. */
export function gather(input: Tensor, dim: number, index: Tensor | number[] | number[][]): Tensor {
  const fn = 'gather';
  checkTensor(fn, 'input', input);
  const d = normalizeDim(fn, dim, input.ndim);
  if (isBatched(input) || isBatched(index)) {
    const idx = indexTensor(index);
    checkShapes(fn, input.shape, idx.shape, d);
    return perMember([input, idx], ([x, i], b) => gather(x, d + b, i));
  }
  const { values, shape } = indexArray(fn, index, input.shape[d]);
  checkShapes(fn, input.shape, shape, d);
  return gatherRaw(input, d, values, shape, offsets(shape, input.shape, d, values));
}

/** input + src's entries added at `index` along `dim` (PyTorch's out-of-place `scatter_add`). */
export function scatterAdd(input: Tensor, dim: number, index: Tensor | number[] | number[][], src: Tensor): Tensor {
  const fn = 'scatterAdd';
  checkTensor(fn, 'input', input);
  checkTensor(fn, 'src', src);
  const d = normalizeDim(fn, dim, input.ndim);
  if (isBatched(input) || isBatched(src) || isBatched(index)) {
    const idx = indexTensor(index);
    checkShapes(fn, input.shape, idx.shape, d);
    return perMember([input, idx, src], ([x, i, y], b) => scatterAdd(x, d + b, i, y));
  }
  const { values, shape } = indexArray(fn, index, input.shape[d]);
  checkShapes(fn, input.shape, shape, d);
  if (src.ndim !== shape.length || src.shape.some((s, k) => s < shape[k])) throw new RangeError(`${fn}: src of shape ${fmtShape(src.shape)} must cover the index's shape ${fmtShape(shape)}`);
  // Only src's leading block of the index's shape is used, as PyTorch.
  const used = src.shape.every((s, k) => s === shape[k]) ? src : gatherBlock(src, shape);
  return scatterAddRaw(input, input.shape, d, values, shape, offsets(shape, input.shape, d, values), used);
}

/** The leading block of `src` of `shape` (differentiable, as a gather of its own positions). */
function gatherBlock(src: Tensor, shape: number[]): Tensor {
  const n = numelOf(shape);
  const offs = new Int32Array(n);
  const ss = stridesOf(src.shape);
  const coord = new Array<number>(shape.length).fill(0);
  for (let p = 0; p < n; p++) {
    offs[p] = coord.reduce((o, c, k) => o + c * ss[k], 0);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++coord[k] < shape[k]) break;
      coord[k] = 0;
    }
  }
  // Along dim 0 with the positions' first coordinates: reuse gather's machinery through offsets.
  const idx = new Int32Array(n);
  for (let p = 0; p < n; p++) idx[p] = Math.floor(offs[p] / ss[0]);
  return gatherRaw(src, 0, idx, shape, offs);
}

/** Result of {@link topk}. */
export interface TopK {
  /** The k largest (or smallest) values along the dim, sorted. */
  values: Tensor;
  /** Their positions (an int64 tensor). */
  indices: Tensor;
}

/** The k largest (`largest: false`: smallest) entries along `dim` (default last), sorted; values are differentiable. */
export function topk(input: Tensor, k: number, dim = -1, opts: { largest?: boolean } = {}): TopK {
  const fn = 'topk';
  checkTensor(fn, 'input', input);
  const d = normalizeDim(fn, dim, Math.max(1, input.ndim));
  if (isBatched(input)) {
    // A 0-d member is treated as [1], as below.
    const x = input.ndim === 0 ? reshape(input, [1]) : input;
    const { levels, sizes } = batchOf([x]);
    const r = topk(materializeBatched(x, levels, sizes, x.ndim), k, d + levels.length, opts);
    return { values: batchedOf(r.values, levels), indices: batchedOf(r.indices, levels) };
  }
  const shape = input.ndim === 0 ? [1] : input.shape;
  const len = shape[d];
  if (!Number.isInteger(k) || k < 0 || k > len) throw typeError(fn, 'k', `an integer in [0, ${len}]`, k);
  const largest = opts.largest ?? true;
  const outer = numelOf(shape.slice(0, d));
  const inner = numelOf(shape.slice(d + 1));
  const x = hostRead(fn, input.data);
  requireFloating(fn, 'input', input.dtype);
  const oshape = shape.slice();
  oshape[d] = k;
  const idx = allocate('int64', numelOf(oshape), fn);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const pos = Array.from({ length: len }, (_, j) => j);
      const at = (j: number): number => x[(o * len + j) * inner + i];
      // NaN counts as the largest, as PyTorch; ties keep the lower index first.
      pos.sort((p, q) => {
        const [a, b] = [at(p), at(q)];
        const c = Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b;
        return (largest ? -c : c) || p - q;
      });
      for (let j = 0; j < k; j++) idx[(o * k + j) * inner + i] = pos[j];
    }
  }
  const indices = wrap(idx, oshape);
  const src = input.ndim === 0 ? reshape(input, [1]) : input;
  return { values: gather(src, d, indices), indices };
}
