/**
 * The safetensors file format (huggingface/safetensors), so checkpoints load in PyTorch with
 * `safetensors.torch.load_file`: an 8-byte little-endian unsigned header length N, N bytes of JSON
 * header `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }`
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes, offsets relative
 * to the end of the header. The reader checks everything the format requires, since a checkpoint
 * may be truncated or come from elsewhere.
 */

/** The element types written and read here (the format's names). */
export type SafetensorsDtype = 'F64' | 'F32' | 'I64' | 'I32' | 'U32' | 'U8' | 'BOOL';

/** The typed arrays that hold a stored tensor's values, one per {@link SafetensorsDtype}. */
export type SafetensorsArray = Float64Array | Float32Array | BigInt64Array | Int32Array | Uint32Array | Uint8Array;

const ARRAYS = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U32: Uint32Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

/** A tensor as stored: element type, shape and row-major data. */
export interface StoredTensor {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Shape ([] for a scalar). */
  shape: number[];
  /** Row-major values; its length is the product of `shape`. */
  data: SafetensorsArray;
}

/** A whole file: named tensors in file order and the string metadata. */
export interface SafetensorsContent {
  /** Tensors by name, in the order of their data in the file. */
  tensors: Map<string, StoredTensor>;
  /** `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
}

/** A file that is not valid safetensors. */
export class SafetensorsError extends Error {
  /** Always 'SafetensorsError'. */
  override name = 'SafetensorsError';
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Serializes tensors and metadata. The format allows no gaps between tensors, so, as the reference
 * writer does, tensors are laid out by element size, largest first (stable otherwise): with the
 * header padded to 8 bytes every tensor then starts aligned for its type.
 */
export function encodeSafetensors(tensors: Iterable<[string, StoredTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const given = [...tensors];
  for (const [i, e] of given.entries()) {
    const [name, t] = Array.isArray(e) ? e : [];
    if (typeof name !== 'string') throw new TypeError(`encodeSafetensors: tensors must be [name, StoredTensor] pairs; entry ${i} has no string name`);
    if (typeof t !== 'object' || t === null || !Object.hasOwn(ARRAYS, t.dtype) || !Array.isArray(t.shape)) {
      throw new TypeError(`encodeSafetensors: tensor '${name}' must be { dtype: ${Object.keys(ARRAYS).join(' | ')}, shape: number[], data }, got ${t === null ? 'null' : typeof t === 'object' ? `dtype ${JSON.stringify(t.dtype)}` : typeof t}`);
    }
  }
  const entries = given.sort((a, b) => ARRAYS[b[1].dtype].BYTES_PER_ELEMENT - ARRAYS[a[1].dtype].BYTES_PER_ELEMENT);
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const placed: [SafetensorsArray, number][] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new TypeError("safetensors: '__metadata__' cannot name a tensor");
    if (Object.hasOwn(header, name)) throw new TypeError(`safetensors: duplicate tensor name '${name}'`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new TypeError(`safetensors: tensor '${name}' has an invalid shape [${t.shape.join(', ')}]`);
    if (!(t.data instanceof ARRAYS[t.dtype])) throw new TypeError(`safetensors: tensor '${name}' is declared ${t.dtype} but holds a ${t.data.constructor.name}`);
    if (t.data.length !== numel(t.shape)) throw new RangeError(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    placed.push([t.data, offset]);
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded + offset);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  for (const [data, at] of placed) {
    // Typed arrays are little-endian on every platform Node supports (x86, ARM).
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 8 + padded + at);
  }
  return out;
}

function fail(msg: string): never {
  throw new SafetensorsError(`not a valid safetensors file: ${msg}`);
}

/** Parses a safetensors file; throws {@link SafetensorsError} saying what is wrong. */
export function decodeSafetensors(buf: Uint8Array): SafetensorsContent {
  if (buf.length < 8) fail(`${buf.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(buf.length - 8)) fail(`header length ${n64} exceeds the file size ${buf.length}`);
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const found: [string, StoredTensor, number, number][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !Object.hasOwn(ARRAYS, e.dtype)) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape`);
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has invalid data_offsets`);
    const [begin, end] = offs as [number, number];
    const C = ARRAYS[dtype];
    if (end < begin || end > dataLen) fail(`tensor '${name}' data [${begin}, ${end}) lies outside the ${dataLen} data bytes`);
    if (end - begin !== numel(shape) * C.BYTES_PER_ELEMENT) fail(`tensor '${name}' has ${end - begin} bytes for shape [${shape.join(', ')}] of ${dtype}`);
    // Copy: the data may be unaligned for the typed array, and the caller may keep it.
    const bytes = new Uint8Array(end - begin);
    bytes.set(buf.subarray(dataStart + begin, dataStart + end));
    found.push([name, { dtype, shape, data: new C(bytes.buffer) }, begin, end]);
  }
  // The format requires the tensors to cover the data section without holes or overlaps.
  found.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  let pos = 0;
  for (const [name, , begin, end] of found) {
    if (begin !== pos) fail(`tensor '${name}' starts at data byte ${begin}, expected ${pos} (tensors must be contiguous)`);
    pos = end;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} bytes after the last tensor (truncated or padded file?)`);
  return { tensors: new Map(found.map(([name, t]) => [name, t])), metadata };
}
