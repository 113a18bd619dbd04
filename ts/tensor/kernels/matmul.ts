/** Batched matrix multiply and row-wise softmax kernels. */
import { type FloatArray, native } from '../native';
import { useNative } from './dispatch';

/**
 * out[b] = op(A[b]) · op(B[b]) with op a transpose when the flag is set; [m, k] · [k, n] after op.
 * A batch stride of 0 broadcasts that operand over the batch.
 */
export function matmulInto(
  a: FloatArray,
  b: FloatArray,
  out: FloatArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  aStride: number,
  bStride: number,
): void {
  if (batch === 0 || m === 0 || n === 0) return; // no output: return at once however large k is
  if (batch > 1 && bStride === 0 && !transA && aStride === m * k) {
    // A shared right operand: the batches of A stack into one taller product (one GEMM, not `batch`).
    matmulInto(a, b, out, 1, batch * m, k, n, false, transB, 0, 0);
    return;
  }
  if (useNative('matmul', batch * m * k * n)) {
    native.matmul(a, b, out, batch, m, k, n, transA, transB, aStride, bStride);
    return;
  }
  // a(i, p) and b(p, j) element offsets under the transpose flags.
  const ai = transA ? 1 : k;
  const ap = transA ? m : 1;
  const bp = transB ? 1 : n;
  const bj = transB ? k : 1;
  for (let t = 0; t < batch; t++) {
    const ao = t * aStride;
    const bo = t * bStride;
    const oo = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ao + i * ai + p * ap] * b[bo + p * bp + j * bj];
        out[oo + i * n + j] = s;
      }
    }
  }
}

/** Row-wise softmax (or log-softmax) of a viewed as [rows, cols]. */
export function softmaxInto(a: FloatArray, out: FloatArray, rows: number, cols: number, log: boolean): void {
  if (rows === 0 || cols === 0) return;
  if (useNative('softmax', a.length)) {
    native.softmax(a, out, rows, cols, log);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, a[o + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(a[o + c] - mx);
    if (log) {
      // (x − max) − log Σ, as the native kernel: x − (max + log Σ) loses digits when max is large.
      const ls = Math.log(s);
      for (let c = 0; c < cols; c++) out[o + c] = a[o + c] - mx - ls;
    } else {
      for (let c = 0; c < cols; c++) out[o + c] = Math.exp(a[o + c] - mx) / s;
    }
  }
}
