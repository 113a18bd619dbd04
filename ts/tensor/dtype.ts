/** Floating-point dtypes, their typed arrays, the default dtype and type promotion. */
import { typeError } from '../errors';

/** Element type of a tensor. */
export type DType = 'float32' | 'float64';

/** Storage of a tensor: a row-major contiguous typed array. */
export type TypedArray = Float32Array | Float64Array;

let defaultDtype: DType = 'float32';

/** Sets the dtype used when none is given (PyTorch's `torch.set_default_dtype`). */
export function setDefaultDtype(dtype: DType): void {
  defaultDtype = checkDtype('setDefaultDtype', 'dtype', dtype);
}

/** The dtype used when none is given. */
export function getDefaultDtype(): DType {
  return defaultDtype;
}

/** Validates a dtype argument. */
export function checkDtype(fn: string, arg: string, dtype: unknown): DType {
  if (dtype !== 'float32' && dtype !== 'float64') throw typeError(fn, arg, "'float32' or 'float64'", dtype);
  return dtype;
}

/** Machine epsilon of a dtype (the gap between 1 and the next larger number). */
export function machineEpsilon(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -23 : 2 ** -52;
}

/** The largest number of elements a tensor can hold (V8's typed-array limit). */
const MAX_ELEMENTS = 2 ** 32;

/** Up to this many bytes V8 keeps a typed array's storage inside the object: cheap already. */
const ON_HEAP_BYTES = 64;
/** Buffers up to this size come from a shared slab (see {@link fromSlab}). */
const SLAB_MAX_BYTES = 2048;
const SLAB_BYTES = 32768;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A fresh, zeroed sub-range of a shared slab. A small typed array with its own ArrayBuffer costs
 * a malloc and external-memory accounting that triggers extra GCs (about 2 µs each in a loop of
 * 80-element allocations, against 0.08 µs for a view of a slab); the tiny tensors of meta-learning
 * inner loops allocate millions. Ranges are never reused, so a new slab's zeros are the fill; a
 * slab is freed by the GC when the last tensor viewing it dies (a long-lived small tensor pins at
 * most 32 KiB, like Node's Buffer pool). Ranges start on 32-byte boundaries for SIMD loads.
 */
function fromSlab(dtype: DType, n: number, bytes: number): TypedArray {
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed = (at + bytes + 31) & ~31;
  return dtype === 'float64' ? new Float64Array(slab, at, n) : new Float32Array(slab, at, n);
}

/** Called with every buffer allocated while `mg.jit` records (see tensor/trace.ts). */
let allocationHook: ((a: TypedArray | Int32Array, by: string) => void) | null = null;

/** Installs (or, with null, removes) the allocation hook of a recording. @internal */
export function setAllocationHook(hook: ((a: TypedArray | Int32Array, by: string) => void) | null): void {
  allocationHook = hook;
}

/** A zero-filled buffer of `n` elements; `fn` names the operation in the error for a size too large. */
export function allocate(dtype: DType, n: number, fn = 'allocate'): TypedArray {
  const a = allocateZeroed(dtype, n, fn);
  if (allocationHook !== null) allocationHook(a, fn);
  return a;
}

/** A zero-filled Int32Array (indices) of `n` elements. */
export function allocateIndices(n: number, fn = 'allocate'): Int32Array {
  const a = new Int32Array(n);
  if (allocationHook !== null) allocationHook(a, fn);
  return a;
}

function allocateZeroed(dtype: DType, n: number, fn: string): TypedArray {
  if (!(n <= MAX_ELEMENTS)) {
    throw new RangeError(
      `${fn}: a ${dtype} tensor of ${n} elements (${(n * (dtype === 'float64' ? 8 : 4)).toExponential(2)} bytes) is too large; at most ${MAX_ELEMENTS} elements can be allocated`,
    );
  }
  const bytes = n * (dtype === 'float64' ? 8 : 4);
  if (bytes > ON_HEAP_BYTES && bytes <= SLAB_MAX_BYTES) return fromSlab(dtype, n, bytes);
  try {
    return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  } catch (e) {
    throw new RangeError(`${fn}: could not allocate a ${dtype} tensor of ${n} elements (${(e as Error).message})`);
  }
}

/** From this many bytes an output buffer is worth allocating without zero-filling. */
const UNINITIALIZED_FROM_BYTES = 4096;

/**
 * Like {@link allocate} but the values are unspecified: for outputs that a kernel overwrites
 * entirely. From 4 KiB the buffer is Node's uninitialised allocation (`Buffer.allocUnsafeSlow`,
 * a dedicated ArrayBuffer, never a shared pool slab), which skips zero-filling and costs about a
 * third of a zeroed one at 128 KiB; smaller buffers are ordinary (zeroed) typed arrays.
 */
export function allocateUninitialized(dtype: DType, n: number, fn = 'allocate'): TypedArray {
  const bytes = n * (dtype === 'float64' ? 8 : 4);
  // While recording, every buffer starts as zeros (the recorder tracks what it holds).
  if (!(bytes >= UNINITIALIZED_FROM_BYTES) || !(n <= MAX_ELEMENTS) || allocationHook !== null) return allocate(dtype, n, fn);
  try {
    const buf = Buffer.allocUnsafeSlow(bytes);
    return dtype === 'float64' ? new Float64Array(buf.buffer, buf.byteOffset, n) : new Float32Array(buf.buffer, buf.byteOffset, n);
  } catch {
    return allocate(dtype, n, fn); // reports the failure with the usual message
  }
}

/**
 * True for a typed array whose ArrayBuffer was transferred away (postMessage, structuredClone
 * with transfer): it then reads as empty. Only arrays of length 0 can be detached, so the check
 * costs nothing for the rest.
 */
export function isDetached(a: TypedArray): boolean {
  if (a.length !== 0) return false;
  try {
    new Uint8Array(a.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** The dtype of a typed array. */
export function dtypeOf(data: TypedArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

/** PyTorch's promotion between floating dtypes: float64 wins. */
export function promoteTypes(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}
