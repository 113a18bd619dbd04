/** Dtypes (floating, integer, bool), their typed arrays, the default dtype and type promotion. */
import { typeError } from '../errors';

/** A floating-point dtype: the only kind that autograd, the kernels and the layers compute in. */
export type FloatDType = 'float32' | 'float64';

/** An integer dtype, for labels and indices. */
export type IntDType = 'int32' | 'int64';

/** Element type of a tensor: floating, integer, or `bool` (masks and comparison results). */
export type DType = FloatDType | IntDType | 'bool';

/** Storage of a floating-point tensor. */
export type FloatArray = Float32Array | Float64Array;

/**
 * Storage of an `int64` tensor: a Float64Array whose values are integers, exact within ±2⁵³
 * (JavaScript's safe integers, far beyond any label or index), so its elements read as numbers
 * like every other dtype's rather than as BigInts. Values outside that range are refused where
 * they enter (creation, casts, loading a file).
 */
export class Int64Array extends Float64Array {}

/**
 * Storage of a tensor: a row-major contiguous typed array (an {@link Int64Array} for `int64`, a
 * `Uint8Array` of 0 and 1 for `bool`).
 */
export type TypedArray = FloatArray | Int32Array | Uint8Array;

/** All dtypes, ordered by PyTorch's promotion (bool < int32 < int64 < float32 < float64). */
const ORDER: readonly DType[] = ['bool', 'int32', 'int64', 'float32', 'float64'];

/** Bytes per element. */
export function itemSize(dtype: DType): number {
  return dtype === 'float64' || dtype === 'int64' ? 8 : dtype === 'bool' ? 1 : 4;
}

/** True for float32 and float64. */
export function isFloating(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

let defaultDtype: FloatDType = 'float32';

/** Sets the dtype used when none is given (PyTorch's `torch.set_default_dtype`). */
export function setDefaultDtype(dtype: FloatDType): void {
  defaultDtype = checkFloatDtype('setDefaultDtype', 'dtype', dtype);
}

/** The floating dtype used when none is given. */
export function getDefaultDtype(): FloatDType {
  return defaultDtype;
}

/** Validates a dtype argument (any dtype). */
export function checkDtype(fn: string, arg: string, dtype: unknown): DType {
  if (typeof dtype !== 'string' || !ORDER.includes(dtype as DType)) {
    throw typeError(fn, arg, "'float32', 'float64', 'int32', 'int64' or 'bool'", dtype);
  }
  return dtype as DType;
}

/** Validates a dtype argument that must be floating (parameters, random draws, the default). */
export function checkFloatDtype(fn: string, arg: string, dtype: unknown): FloatDType {
  if (dtype !== 'float32' && dtype !== 'float64') throw typeError(fn, arg, "'float32' or 'float64'", dtype);
  return dtype;
}

/**
 * Throws unless `dtype` is floating: `fn` needs a floating-point `arg` (a gradient, a random
 * draw, a transcendental kernel); the message says how to cast.
 */
export function requireFloating(fn: string, arg: string, dtype: DType): FloatDType {
  if (isFloating(dtype)) return dtype;
  throw new TypeError(`${fn}: argument '${arg}' must be a floating-point tensor (float32 or float64), got ${dtype}; cast it with .to('${defaultDtype}')`);
}

/** Machine epsilon of a dtype (the gap between 1 and the next larger number). */
export function machineEpsilon(dtype: FloatDType): number {
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
  return view(dtype, slab, at, n);
}

/** A typed array of `dtype` over `n` elements of `buffer` from byte `at`. */
function view(dtype: DType, buffer: ArrayBuffer, at: number, n: number): TypedArray {
  switch (dtype) {
    case 'float64': return new Float64Array(buffer, at, n);
    case 'float32': return new Float32Array(buffer, at, n);
    case 'int32': return new Int32Array(buffer, at, n);
    case 'int64': return new Int64Array(buffer, at, n);
    case 'bool': return new Uint8Array(buffer, at, n);
  }
}

/** Called with every buffer allocated while `mg.jit` records (see tensor/trace.ts). */
let allocationHook: ((a: TypedArray, by: string) => void) | null = null;

/** Installs (or, with null, removes) the allocation hook of a recording. @internal */
export function setAllocationHook(hook: ((a: TypedArray, by: string) => void) | null): void {
  allocationHook = hook;
}

/** A zero-filled buffer of `n` elements; `fn` names the operation in the error for a size too large. */
export function allocate<D extends DType>(dtype: D, n: number, fn = 'allocate'): ArrayOf<D> {
  const a = allocateZeroed(dtype, n, fn);
  if (allocationHook !== null) allocationHook(a, fn);
  return a as ArrayOf<D>;
}

/** The typed array that holds a dtype. */
export type ArrayOf<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : D extends FloatDType ? FloatArray
  : D extends 'int32' ? Int32Array : D extends 'int64' ? Int64Array : D extends 'bool' ? Uint8Array : TypedArray;

/** A zero-filled Int32Array (indices) of `n` elements. */
export function allocateIndices(n: number, fn = 'allocate'): Int32Array {
  const a = new Int32Array(n);
  if (allocationHook !== null) allocationHook(a, fn);
  return a;
}

function allocateZeroed(dtype: DType, n: number, fn: string): TypedArray {
  if (!(n <= MAX_ELEMENTS)) {
    throw new RangeError(
      `${fn}: a ${dtype} tensor of ${n} elements (${(n * itemSize(dtype)).toExponential(2)} bytes) is too large; at most ${MAX_ELEMENTS} elements can be allocated`,
    );
  }
  const bytes = n * itemSize(dtype);
  if (bytes > ON_HEAP_BYTES && bytes <= SLAB_MAX_BYTES) return fromSlab(dtype, n, bytes);
  try {
    // The constructors themselves: a small typed array keeps its values on V8's heap, where a
    // view of a fresh ArrayBuffer would cost a malloc (see fromSlab).
    switch (dtype) {
      case 'float64': return new Float64Array(n);
      case 'float32': return new Float32Array(n);
      case 'int32': return new Int32Array(n);
      case 'int64': return new Int64Array(n);
      case 'bool': return new Uint8Array(n);
    }
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
export function allocateUninitialized<D extends DType>(dtype: D, n: number, fn = 'allocate'): ArrayOf<D> {
  const bytes = n * itemSize(dtype);
  // While recording, every buffer starts as zeros (the recorder tracks what it holds).
  if (!(bytes >= UNINITIALIZED_FROM_BYTES) || !(n <= MAX_ELEMENTS) || allocationHook !== null) return allocate(dtype, n, fn);
  try {
    const buf = Buffer.allocUnsafeSlow(bytes);
    return view(dtype, buf.buffer as ArrayBuffer, buf.byteOffset, n) as ArrayOf<D>;
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
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int64Array) return 'int64';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

/**
 * PyTorch's promotion of two tensors' dtypes: the later in bool < int32 < int64 < float32 <
 * float64 (so int64 with float32 gives float32, as in PyTorch).
 */
export function promoteTypes<A extends DType, B extends DType>(a: A, b: B): A extends FloatDType ? FloatDType : B extends FloatDType ? FloatDType : DType;
export function promoteTypes(a: DType, b: DType): DType {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}
