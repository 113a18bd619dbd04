/** Data movement kernels: permutations, strided slices and concatenation. */
import type { FloatArray } from '../native';

/** Copies `a` (of `shape`) permuted by `perm` into `out` (row-major in the permuted shape). */
export function permuteInto(a: FloatArray, shape: readonly number[], perm: readonly number[], out: FloatArray): void {
  if (out.length === 0) return; // no output: return at once however large the other sizes
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
 * With `scatter` the direction is reversed and values are added (the slice's backward).
 */
export function sliceCopy(
  a: FloatArray,
  out: FloatArray,
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
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < count; c++) {
      const src = (o * aLen + start + c * step) * inner;
      const dst = (o * outLen + outStart + c) * inner;
      if (inner === 1) out[dst] = a[src];
      else out.set(a.subarray(src, src + inner), dst);
    }
  }
}
