/**
 * What travels through the queue: a tree of plain values (JSON) whose tensors and typed arrays
 * travel as one safetensors blob (base64, exact bits), never code. Decoding checks the schema and
 * the size limits before anything is built, since a payload may come from anywhere that can
 * write to the Redis server.
 */
import { MetagradError } from '../errors';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from '../io/safetensors';
import { type Tensor, isTensor } from '../tensor/tensor';
import { storedOf, tensorOfStored } from '../io/stored-tensor';

/** A payload as it is stored in a job. */
export interface EncodedPayload {
  /** The tree as JSON, with `{ "$tensor": k }` / `{ "$array": k }` where tensor or array k of the blob goes. */
  json: string;
  /** The tensors and typed arrays as a safetensors file, base64. */
  blob: string;
}

/** Limits on a decoded payload. */
export interface PayloadLimits {
  /** Largest payload accepted, in bytes of JSON plus blob (default 64 MiB). */
  maxBytes?: number;
  /** Deepest nesting of arrays and objects (default 64). */
  maxDepth?: number;
}

/** Raised when a payload is malformed or too large. */
export class PayloadError extends MetagradError {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 64;

type Leaf = Float32Array | Float64Array | Int32Array | Uint32Array;

function isLeafArray(v: unknown): v is Leaf {
  return v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint32Array;
}

/**
 * Encodes `value`: numbers, strings, booleans, null, arrays and plain objects as JSON; tensors
 * (any dtype, values only: no graph travels) and Float32/Float64/Int32/Uint32 arrays into
 * the blob. Anything else (functions, class instances, NaN-free JSON's gaps such as undefined in
 * arrays) is refused, naming where it is.
 */
export function encodePayload(value: unknown, limits: PayloadLimits = {}): EncodedPayload {
  const stored: [string, StoredTensor][] = [];
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const walk = (v: unknown, where: string, depth: number): unknown => {
    if (depth > maxDepth) throw new PayloadError(`distributed: the payload is nested deeper than ${maxDepth} levels at ${where}`);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      // JSON has no NaN or infinities: they travel in the blob.
      if (Number.isFinite(v)) return v;
      stored.push([String(stored.length), { dtype: 'F64', shape: [], data: Float64Array.of(v) }]);
      return { $number: stored.length - 1 };
    }
    if (isTensor(v)) {
      const t = v as Tensor;
      stored.push([String(stored.length), storedOf(t)]);
      return { $tensor: stored.length - 1 };
    }
    if (isLeafArray(v)) {
      const dtype = v instanceof Float32Array ? 'F32' : v instanceof Float64Array ? 'F64' : v instanceof Int32Array ? 'I32' : 'U32';
      stored.push([String(stored.length), { dtype, shape: [v.length], data: v.slice() }]);
      return { $array: stored.length - 1 };
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${where}[${i}]`, depth + 1));
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k.startsWith('$')) throw new PayloadError(`distributed: object keys may not start with '$' (found '${k}' at ${where})`);
        if (x === undefined) continue;
        out[k] = walk(x, `${where}.${k}`, depth + 1);
      }
      return out;
    }
    throw new PayloadError(`distributed: cannot send ${describe(v)} at ${where}; payloads hold numbers, strings, booleans, null, arrays, plain objects, tensors and typed arrays`);
  };
  const json = JSON.stringify(walk(value, 'payload', 0));
  const blob = Buffer.from(encodeSafetensors(stored)).toString('base64');
  checkSize(json, blob, limits);
  return { json, blob };
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'symbol') return 'a symbol';
  const name = (v as object).constructor?.name;
  return name ? `a ${name}` : 'an object without a prototype';
}

function checkSize(json: string, blob: string, limits: PayloadLimits): void {
  const max = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const bytes = json.length + blob.length;
  if (bytes > max) throw new PayloadError(`distributed: the payload has ${bytes} bytes, more than the limit of ${max} (raise maxBytes, or send less per job)`);
}

/** Decodes a payload written by {@link encodePayload}, checking its schema and limits; tensors come back as tensors (no grad). */
export function decodePayload(encoded: unknown, limits: PayloadLimits = {}): unknown {
  if (typeof encoded !== 'object' || encoded === null) throw new PayloadError('distributed: a payload must be an object { json, blob }');
  const { json, blob } = encoded as Record<string, unknown>;
  if (typeof json !== 'string' || typeof blob !== 'string') throw new PayloadError('distributed: a payload must have string fields json and blob');
  checkSize(json, blob, limits);
  let tree: unknown;
  let content: ReturnType<typeof decodeSafetensors>;
  try {
    tree = JSON.parse(json);
    content = decodeSafetensors(Buffer.from(blob, 'base64'));
  } catch (e) {
    throw new PayloadError(`distributed: a malformed payload (${(e as Error).message})`);
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const leaf = (k: unknown, where: string): StoredTensor => {
    const s = typeof k === 'number' ? content.tensors.get(String(k)) : undefined;
    if (s === undefined) throw new PayloadError(`distributed: a malformed payload (${where} refers to blob entry ${JSON.stringify(k)}, which does not exist)`);
    return s;
  };
  const walk = (v: unknown, where: string, depth: number): unknown => {
    if (depth > maxDepth) throw new PayloadError(`distributed: the payload is nested deeper than ${maxDepth} levels at ${where}`);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${where}[${i}]`, depth + 1));
    const o = v as Record<string, unknown>;
    if ('$tensor' in o) {
      const s = leaf(o.$tensor, where);
      if (s.dtype === 'U8' || s.dtype === 'U32') throw new PayloadError(`distributed: a malformed payload (the tensor at ${where} is ${s.dtype}, which no tensor dtype stores)`);
      return tensorOfStored('distributed', where, s);
    }
    if ('$array' in o) return leaf(o.$array, where).data;
    if ('$number' in o) return (leaf(o.$number, where).data as Float64Array)[0];
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = walk(x, `${where}.${k}`, depth + 1);
    return out;
  };
  return walk(tree, 'payload', 0);
}

