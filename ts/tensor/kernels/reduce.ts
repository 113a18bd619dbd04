/** Reductions of a buffer viewed as [outer, len, inner] along the middle axis. */
import { allocate } from '../dtype';
import { type FloatArray, ReduceOp, native } from '../native';
import { numelOf } from '../shape';
import { useNative } from './dispatch';
import { Instr, recorder } from '../trace';

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

/**
 * Reduces `a` (of `shape`) over `dims` (sorted), one axis at a time from the last so the earlier
 * ones keep their positions; returns the values and the keepdim shape. `fn` names the op in an
 * allocation error.
 */
export function reduceAxes(fn: string, op: ReduceOp, a: FloatArray, shape: readonly number[], dims: readonly number[]): { data: FloatArray; keptShape: number[] } {
  let data = a;
  const kept = shape.slice();
  const dtype = a instanceof Float64Array ? 'float64' : 'float32';
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i];
    const outer = numelOf(kept.slice(0, d));
    const len = kept[d];
    const inner = numelOf(kept.slice(d + 1));
    const out = allocate(dtype, outer * inner, fn) as FloatArray;
    reduceInto(op, data, out, outer, len, inner);
    data = out;
    kept[d] = 1;
  }
  if (dims.length === 0) data = data.slice();
  return { data, keptShape: kept };
}

/** out[r] = Σ_i a[r·n + i]·b[r·n + i] for r < out.length, accumulated in float64 in index order. */
export function dotRowsInto(a: FloatArray, b: FloatArray, out: FloatArray): void {
  const rows = out.length;
  const n = rows === 0 ? 0 : a.length / rows;
  const run = (): void => {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let i = r * n, end = i + n; i < end; i++) acc += a[i] * b[i];
      out[r] = acc;
    }
  };
  if (recorder === null) run();
  else recorder.record(Instr.Dot, 'dot', [a, b, out, rows, n], [out], true, run);
}
