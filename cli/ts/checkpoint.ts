/**
 * Checkpoints: safetensors files written atomically (a temporary file in the same directory,
 * fsync'd, then renamed over the target), so a crash or a signal at any moment leaves either the
 * previous checkpoint or the new one, never a torn file. Helpers here store tensors, optimizer
 * states (trees of tensors and plain values) and generator states.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, type SafetensorsContent, type StoredTensor, type Tensor, decodeSafetensors, encodeSafetensors, tensor, tree } from 'metagrad';
import { CliError } from './errors';

/** Writes `data` to `file` atomically. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Metadata key of the SHA-256 digest (hex) of a file's tensor data. */
export const DIGEST_KEY = 'sha256';

/** The bytes after the header: every tensor's data, in file order. */
function dataSection(buf: Uint8Array): Uint8Array {
  const headerLength = Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true));
  return buf.subarray(8 + headerLength);
}

const digestOf = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Writes a safetensors file atomically, with the SHA-256 digest of its tensor data in the
 * metadata, so that a flipped bit is caught when the file is read back.
 */
export function saveSafetensors(file: string, tensors: Iterable<[string, StoredTensor]>, metadata: Record<string, string> = {}): void {
  const list = [...tensors];
  // The data section does not depend on the header, so a first encoding gives its digest.
  const digest = digestOf(dataSection(encodeSafetensors(list, metadata)));
  writeFileAtomic(file, encodeSafetensors(list, { ...metadata, [DIGEST_KEY]: digest }));
}

/** Reads a safetensors file; a missing or invalid file is a {@link CliError} naming it. */
export function loadSafetensors(file: string): SafetensorsContent {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read checkpoint ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let content: SafetensorsContent;
  try {
    content = decodeSafetensors(buf);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
  const want = content.metadata[DIGEST_KEY];
  if (want !== undefined && digestOf(dataSection(buf)) !== want) {
    throw new CliError(`${file}: the tensor data does not match its SHA-256 checksum; the file is corrupt (restore it from a copy or start a new run)`);
  }
  return content;
}

/** A float32/float64 tensor as stored. */
export function storedOf(t: Tensor): StoredTensor {
  const data = t.data.slice();
  return data instanceof Float64Array ? { dtype: 'F64', shape: [...t.shape], data } : { dtype: 'F32', shape: [...t.shape], data: data as Float32Array };
}

/** A stored float tensor as a Tensor of the given shape, or a {@link CliError} naming the mismatch. */
export function tensorOf(file: string, name: string, s: StoredTensor | undefined, shape: readonly number[]): Tensor {
  if (s === undefined) throw new CliError(`${file}: tensor '${name}' is missing`);
  if ((s.dtype !== 'F32' && s.dtype !== 'F64') || s.shape.join(',') !== shape.join(',')) {
    throw new CliError(`${file}: tensor '${name}' is ${s.dtype} [${s.shape.join(', ')}], expected F32 or F64 [${shape.join(', ')}]`);
  }
  const data = s.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new CliError(`${file}: tensor '${name}' holds a non-finite value (${data[i]} at flat index ${i}); the run it came from diverged or the file is damaged`);
  }
  return tensor(data, { shape: [...shape] });
}

/**
 * An optimizer state as tensors named `${prefix}${i}` plus a JSON description of the rest of the
 * tree (counts, nulls, structure), for {@link restoreTree}.
 */
export function storeTree(prefix: string, state: unknown): { tensors: [string, StoredTensor][]; spec: string } {
  const [leaves, spec] = tree.flatten(state);
  return { tensors: leaves.map((t, i) => [`${prefix}${i}`, storedOf(t)]), spec: JSON.stringify(spec) };
}

/** The inverse of {@link storeTree}; shapes come from a freshly initialised state `like`. */
export function restoreTree(file: string, content: SafetensorsContent, prefix: string, spec: string | undefined, like: unknown): unknown {
  if (spec === undefined) throw new CliError(`${file}: metadata lacks the optimizer state`);
  const [fresh] = tree.flatten(like);
  let parsed: tree.TreeSpec;
  try {
    parsed = JSON.parse(spec) as tree.TreeSpec;
  } catch {
    throw new CliError(`${file}: the optimizer state metadata is not JSON`);
  }
  const leaves = fresh.map((t, i) => tensorOf(file, `${prefix}${i}`, content.tensors.get(`${prefix}${i}`), t.shape));
  try {
    return tree.unflatten(parsed, leaves);
  } catch (e) {
    throw new CliError(`${file}: the optimizer state does not fit this optimizer (${(e as Error).message})`);
  }
}

/** A generator's full state as base64 text (metadata values must be strings). */
export function encodeGeneratorState(g: Generator): string {
  const s = g.getState();
  return Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('base64');
}

/** A generator restored from {@link encodeGeneratorState}. */
export function decodeGeneratorState(file: string, text: string | undefined, what: string): Generator {
  if (text === undefined) throw new CliError(`${file}: metadata lacks the ${what} generator state`);
  const bytes = Buffer.from(text, 'base64');
  const words = new Uint32Array(bytes.length / 4);
  new Uint8Array(words.buffer).set(bytes.subarray(0, words.length * 4));
  try {
    return new Generator().setState(words);
  } catch {
    throw new CliError(`${file}: the ${what} generator state is corrupt`);
  }
}
