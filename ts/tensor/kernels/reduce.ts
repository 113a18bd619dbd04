/** Reductions of a buffer viewed as [outer, len, inner] along the middle axis. */
import { type FloatArray, ReduceOp, native } from '../native';
import { useNative } from './dispatch';

export { ReduceOp };

/** out[o, i] = reduce_k a[o, k, i]. */
export function reduceInto(op: ReduceOp, a: FloatArray, out: FloatArray, outer: number, len: number, inner: number): void {
  if (outer === 0 || inner === 0) return; // no output: return at once however large the other sizes
  if (useNative('reduce', a.length)) {
    native.reduce(op, a, out, outer, len, inner);
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let base = o * len * inner + i;
      let acc = op === ReduceOp.Sum ? 0 : op === ReduceOp.Prod ? 1 : len > 0 ? a[base] : NaN;
      for (let k = 0; k < len; k++, base += inner) {
        const v = a[base];
        if (op === ReduceOp.Sum) acc += v;
        else if (op === ReduceOp.Prod) acc *= v;
        else if (Number.isNaN(v) || Number.isNaN(acc)) acc = NaN;
        else if (op === ReduceOp.Max ? v > acc : v < acc) acc = v;
      }
      out[o * inner + i] = acc;
    }
  }
}

/** Max/min with first-occurrence indices (NaN counts as the extreme, as in PyTorch). */
export function argReduceInto(
  op: ReduceOp.Max | ReduceOp.Min,
  a: FloatArray,
  out: FloatArray,
  indices: Int32Array,
  outer: number,
  len: number,
  inner: number,
): void {
  if (outer === 0 || inner === 0) return;
  if (useNative('reduce', a.length)) {
    native.argReduce(op, a, out, indices, outer, len, inner);
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = a[base];
      let at = 0;
      for (let k = 1; k < len && !Number.isNaN(best); k++) {
        const v = a[base + k * inner];
        if (Number.isNaN(v) || (op === ReduceOp.Max ? v > best : v < best)) {
          best = v;
          at = k;
        }
      }
      out[o * inner + i] = best;
      indices[o * inner + i] = at;
    }
  }
}
