/**
 * Data movement kernels: copies and casts, fills, permutations, strided slices, gathers and
 * scatters. They
 * run in JavaScript; each is recorded for `mg.jit`, whose replay has a native form of each.
 * Eager calls (no recorder) run the loop directly, without building an instruction.
 */
import type { FloatArray } from '../native';
import type { TypedArray } from '../dtype';
import { Instr, type RawBuffer, TraceError, bufType, recorder } from '../trace';

/**
 * dst[i] = src[i] for i < src.length, converting between element types as a typed array's `set`
 * does (callers convert only values the target holds exactly: see `kernels/cast.ts`).
 */
export function copyInto(src: RawBuffer, dst: TypedArray): void {
  if (recorder === null) {
    dst.set(src);
    return;
  }
  const code = bufType(src) === bufType(dst) ? Instr.Copy : Instr.Cast;
  recorder.record(code, 'copy', [src, dst, src.length], [dst], src.length === dst.length, () => dst.set(src));
}

/**
 * dst[dstOffset + i] = src[srcOffset + i] for i < n (one dtype; the ranges may overlap, as with
 * copyWithin). Offsets instead of subarray views keep the recorder's lookups exact.
 */
export function copyRange(src: TypedArray, srcOffset: number, dst: TypedArray, dstOffset: number, n: number): void {
  if (n === 0) return;
  if (recorder === null) copyRangeJs(src, srcOffset, dst, dstOffset, n);
  else recorder.record(Instr.Copy, 'copy', [[src, srcOffset], [dst, dstOffset], n], [dst], false, () => copyRangeJs(src, srcOffset, dst, dstOffset, n));
}

function copyRangeJs(src: TypedArray, srcOffset: number, dst: TypedArray, dstOffset: number, n: number): void {
  if (src === dst) dst.copyWithin(dstOffset, srcOffset, srcOffset + n);
  else dst.set(src.subarray(srcOffset, srcOffset + n), dstOffset);
}

/** dst[i] = value for every i. */
export function fillInto(dst: TypedArray, value: number): void {
  if (recorder === null) {
    dst.fill(value);
    return;
  }
  recorder.record(Instr.Fill, 'fill', [dst, dst.length, recorder.constantIndex(value)], [dst], true, () => dst.fill(value));
}

/** Copies `a` (of `shape`) permuted by `perm` into `out` (row-major in the permuted shape). */
export function permuteInto(a: TypedArray, shape: readonly number[], perm: readonly number[], out: TypedArray): void {
  if (out.length === 0) return; // no output: return at once however large the other sizes
  if (recorder !== null) {
    if (shape.length > 8) throw new TraceError(`jit: permute of a ${shape.length}-dimensional tensor cannot be replayed (at most 8 dimensions)`);
    recorder.record(Instr.Permute, 'permute', [a, out, shape.length, ...shape, ...perm], [out], true, () => permuteJs(a, shape, perm, out));
    return;
  }
  permuteJs(a, shape, perm, out);
}

function permuteJs(a: TypedArray, shape: readonly number[], perm: readonly number[], out: TypedArray): void {
  const nd = shape.length;
  const inStrides = new Array<number>(nd);
  let s = 1;
  for (let d = nd - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  // Fast path: a 2-d transpose.
  if (nd === 2 && perm[0] === 1) {
    const [r, c] = shape;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
    return;
  }
  const idx = new Array<number>(nd).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = a[src];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/**
 * Copies a block along one axis: `a` viewed as [outer, aLen, inner]; for each outer, rows
 * `start, start+step, …` (count of them) go to `out` viewed as [outer, outLen, inner] at `outStart`.
 */
export function sliceCopy(
  a: TypedArray,
  out: TypedArray,
  outer: number,
  inner: number,
  aLen: number,
  start: number,
  step: number,
  count: number,
  outLen: number,
  outStart: number,
): void {
  if (outer === 0 || inner === 0 || count === 0) return;
  if (recorder !== null) {
    recorder.record(Instr.Slice, 'slice', [a, out, outer, inner, aLen, start, step, count, outLen, outStart, 0], [out], outStart === 0 && count === outLen,
      () => sliceJs(a, out, outer, inner, aLen, start, step, count, outLen, outStart));
    return;
  }
  sliceJs(a, out, outer, inner, aLen, start, step, count, outLen, outStart);
}

function sliceJs(a: TypedArray, out: TypedArray, outer: number, inner: number, aLen: number, start: number, step: number, count: number, outLen: number, outStart: number): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < count; c++) {
      const src = (o * aLen + start + c * step) * inner;
      const dst = (o * outLen + outStart + c) * inner;
      if (inner === 1) out[dst] = a[src];
      else out.set(a.subarray(src, src + inner), dst);
    }
  }
}

/**
 * The reverse of {@link sliceCopy}: `a` viewed as [outer, count, inner] goes to rows
 * `start, start+step, …` of `out` viewed as [outer, outLen, inner] (the slice's backward; the
 * other rows keep their values).
 */
export function sliceScatter(a: TypedArray, out: TypedArray, outer: number, inner: number, start: number, step: number, count: number, outLen: number): void {
  if (outer === 0 || inner === 0 || count === 0) return;
  const run = (): void => {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const src = (o * count + c) * inner;
        out.set(a.subarray(src, src + inner), (o * outLen + start + c * step) * inner);
      }
    }
  };
  if (recorder === null) run();
  else recorder.record(Instr.Slice, 'sliceScatter', [a, out, outer, inner, count, start, step, count, outLen, 0, 1], [out], step === 1 && start === 0 && count === outLen, run);
}

/** out[o, c, :] = a[o, idx[c], :]: `a` viewed as [outer, rows, inner], `out` as [outer, idx.length, inner]. */
export function gatherRowsInto(a: TypedArray, idx: Int32Array, out: TypedArray, outer: number, inner: number, rows: number): void {
  const count = idx.length;
  if (outer === 0 || inner === 0 || count === 0) return;
  const run = (): void => {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const src = (o * rows + idx[c]) * inner;
        out.set(a.subarray(src, src + inner), (o * count + c) * inner);
      }
    }
  };
  if (recorder === null) run();
  else recorder.record(Instr.Gather, 'indexSelect', [a, idx, out, outer, inner, rows, count], [out], true, run, 'indexSelect: an index is out of range (found when mg.jit replayed it)');
}

/** out[o, idx[c], :] += a[o, c, :]: the backward of {@link gatherRowsInto}. */
export function indexAddInto(a: FloatArray, idx: Int32Array, out: FloatArray, outer: number, inner: number, rows: number): void {
  const count = idx.length;
  if (outer === 0 || inner === 0 || count === 0) return;
  const run = (): void => {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const dst = (o * rows + idx[c]) * inner;
        const src = (o * count + c) * inner;
        for (let k = 0; k < inner; k++) out[dst + k] += a[src + k];
      }
    }
  };
  if (recorder === null) run();
  else recorder.record(Instr.IndexAdd, 'indexAdd', [a, idx, out, outer, inner, rows, count], [out], false, run, 'indexAdd: an index is out of range (found when mg.jit replayed it)');
}

/**
 * The one-hot mask of arg indices: `out` viewed as [outer, len, inner] is 1 at
 * (o, idx[o, i], i) and 0 elsewhere (every element is written).
 */
export function oneHotInto(idx: Int32Array, out: FloatArray, outer: number, len: number, inner: number): void {
  if (idx.length === 0) return; // (no loop: outer alone may be astronomically large when inner is 0)
  const run = (): void => {
    out.fill(0);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out[(o * len + idx[o * inner + i]) * inner + i] = 1;
  };
  if (recorder === null) run();
  else recorder.record(Instr.OneHot, 'oneHot', [idx, out, outer, len, inner], [out], true, run, 'max/min: an arg index is out of range (found when mg.jit replayed it)');
}
