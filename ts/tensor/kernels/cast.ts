/**
 * Conversions between dtypes. Eagerly they run in JavaScript, checking each value: an integer
 * dtype takes finite values within its range, truncated toward zero as PyTorch does; bool takes
 * "nonzero". While `mg.jit` records, a conversion is a recorded copy or cast, which the replay
 * runs as a plain C++ conversion; that equals the eager one only for values the target holds
 * exactly, so other conversions (a float to an integer or bool) are refused there.
 */
import { type DType, type TypedArray, dtypeOf, isFloating } from '../dtype';
import { TraceError, recorder } from '../trace';
import { copyInto } from './layout';

/** The largest magnitude an int64 tensor holds exactly (its storage is float64: see `Int64Array`). */
const INT64_EXACT = Number.MAX_SAFE_INTEGER;

/** The number `v` as stored in a `dtype` tensor; throws (naming `fn`) for values that dtype cannot hold. */
export function storedValue(fn: string, dtype: DType, v: number): number {
  if (isFloating(dtype)) return v;
  if (dtype === 'bool') return v !== 0 ? 1 : 0; // NaN is nonzero, as in PyTorch
  if (!Number.isFinite(v)) throw new RangeError(`${fn}: cannot convert ${v} to ${dtype} (integer dtypes hold finite values only)`);
  const t = Math.trunc(v);
  const [lo, hi] = dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [-INT64_EXACT, INT64_EXACT];
  if (t < lo || t > hi) {
    throw new RangeError(`${fn}: ${v} is out of range for ${dtype} (${dtype === 'int32' ? '−2³¹ … 2³¹ − 1' : 'metagrad holds int64 values exactly within ±(2⁵³ − 1)'})`);
  }
  return t === 0 ? 0 : t; // no −0 in an integer tensor
}

/** True when every `from` value is exactly a `to` value (no truncation, no "nonzero" test). */
function alwaysExact(from: DType, to: DType): boolean {
  return isFloating(to) || from === to || from === 'bool' || (!isFloating(from) && to !== 'bool');
}

/**
 * dst[i] = src[i] converted to dst's dtype (the arrays have one length). `exact` says the caller
 * knows every value is already one the target holds (an integer result, a 0/1 mask), so a
 * recording may hold the conversion whatever the dtypes.
 */
export function castInto(fn: string, src: TypedArray, dst: TypedArray, exact = false): void {
  const from = dtypeOf(src);
  const to = dtypeOf(dst);
  if (recorder !== null) {
    if (!exact && !alwaysExact(from, to)) {
      throw new TraceError(
        `jit: ${fn} converts ${from} to ${to} (truncating or testing "nonzero"), which a recording cannot hold; ` +
          'convert outside the jitted function, compare instead (x.ne(0) for bool), or call the function without jit',
      );
    }
    copyInto(src, dst);
    return;
  }
  if (alwaysExact(from, to) && !(from === 'int64' && to === 'int32')) {
    dst.set(src);
    return;
  }
  for (let i = 0; i < src.length; i++) dst[i] = storedValue(fn, to, src[i]);
}
