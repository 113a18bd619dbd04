/**
 * A tensor's values as safetensors stores them, and back: float32 F32, float64 F64, int32 I32,
 * int64 I64 (8-byte integers, as PyTorch writes them), bool BOOL. One mapping for `mg.save`,
 * `mg.load` and the distributed payloads.
 */
import { type DType, Int64Array, allocate } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { wrap } from '../ops/util';
import type { SafetensorsDtype, StoredTensor } from './safetensors';

const STORED: Record<DType, SafetensorsDtype> = { float32: 'F32', float64: 'F64', int32: 'I32', int64: 'I64', bool: 'BOOL' };

/** `t`'s values (copied) under the format's element type. */
export function storedOf(t: Tensor): StoredTensor {
  const shape = t.shape.slice();
  if (t.data instanceof Int64Array) return { dtype: 'I64', shape, data: BigInt64Array.from(t.data, (v) => BigInt(v)) };
  return { dtype: STORED[t.dtype], shape, data: t.data.slice() };
}

/**
 * A stored tensor as a metagrad tensor: F32/F64/I32/I64/BOOL as float32/float64/int32/int64/bool,
 * U8 and U32 as int32/int64 (metagrad has no unsigned dtypes). `fn` and `name` go into the error
 * for an I64 value beyond ±(2⁵³ − 1), which metagrad's int64 cannot hold exactly.
 */
export function tensorOfStored(fn: string, name: string, s: StoredTensor): Tensor {
  const shape = s.shape.slice();
  switch (s.dtype) {
    case 'F32': case 'F64': case 'I32':
      return wrap(s.data.slice() as Float32Array | Float64Array | Int32Array, shape);
    case 'BOOL': {
      const bad = (s.data as Uint8Array).findIndex((v) => v > 1);
      if (bad >= 0) throw new RangeError(`${fn}: tensor '${name}' (BOOL) holds the byte ${s.data[bad]} at position ${bad}; bool bytes are 0 or 1`);
      return wrap(s.data.slice() as Uint8Array, shape);
    }
    case 'U8': {
      const out = allocate('int32', s.data.length, fn);
      out.set(s.data as Uint8Array);
      return wrap(out, shape);
    }
    case 'U32': case 'I64': {
      const out = allocate('int64', s.data.length, fn);
      for (let i = 0; i < out.length; i++) {
        const v = Number(s.data[i]);
        if (!Number.isSafeInteger(v)) throw new RangeError(`${fn}: tensor '${name}' (${s.dtype}) holds ${String(s.data[i])}, beyond ±(2⁵³ − 1), which metagrad's int64 holds exactly`);
        out[i] = v;
      }
      return wrap(out, shape);
    }
  }
}
