/**
 * `mg.save` / `mg.load`: trees of tensors and module state dicts in the safetensors format, so
 * that PyTorch reads them with `safetensors.torch.load_file` (and `module.load_state_dict` for a
 * module saved under its `stateDict()` names) and metagrad reads PyTorch's files.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { typeError } from '../errors';
import { Module } from '../nn/module';
import { isPlainObject } from '../objects';
import { detach } from '../ops/inplace';
import { isBatched } from '../tensor/batched';
import { type Tensor, isTensor } from '../tensor/tensor';
import { SafetensorsError, type StoredTensor, decodeSafetensors, encodeSafetensors } from './safetensors';
import { storedOf, tensorOfStored } from './stored-tensor';

/** Options of {@link save}. */
export interface SaveOptions {
  /** String metadata stored in the file's `__metadata__`. */
  metadata?: Record<string, string>;
}

/** What can be saved: a module (its state dict), a tensor, or a tree of tensors in objects and arrays. */
export type Saveable = Module | Tensor | { readonly [key: string]: unknown } | readonly unknown[];

/** The named tensors of a tree: dotted paths ("layers.0.weight"), a module by its state dict. */
function namedTensors(fn: string, tree: Saveable): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const seen = new Set<string>();
  const add = (name: string, t: Tensor): void => {
    if (seen.has(name)) throw new RangeError(`${fn}: two tensors would be saved under the name '${name}' (a key containing '.' collides with a nested path)`);
    seen.add(name);
    out.push([name, t]);
  };
  const rec = (x: unknown, name: string): void => {
    if (x instanceof Module) {
      const prefix = name === '' ? '' : `${name}.`;
      for (const [k, t] of Object.entries(x.stateDict())) add(prefix + k, t);
    } else if (isTensor(x)) {
      add(name === '' ? 'tensor' : name, x);
    } else if (Array.isArray(x)) {
      x.forEach((v, i) => rec(v, name === '' ? String(i) : `${name}.${i}`));
    } else if (isPlainObject(x)) {
      for (const [k, v] of Object.entries(x)) {
        if (k === '' || k === '__metadata__') throw new RangeError(`${fn}: the key ${JSON.stringify(k)} cannot name a tensor in a safetensors file`);
        rec(v, name === '' ? k : `${name}.${k}`);
      }
    } else {
      throw typeError(fn, name === '' ? 'tree' : `tree entry '${name}'`, 'a Tensor, an nn.Module, or a plain object/array of them', x);
    }
  };
  rec(tree, '');
  return out;
}

/**
 * Writes `tree` to `path` as safetensors: a module under its `stateDict()` names (PyTorch's), a
 * tree under dotted paths, each dtype under the format's name (float32 F32, float64 F64, int32 I32,
 * int64 I64, bool BOOL). The file is written to a temporary
 * name and renamed, so a crash never leaves a truncated file under `path`.
 */
export function save(tree: Saveable, path: string, opts: SaveOptions = {}): void {
  const fn = 'mg.save';
  if (typeof path !== 'string' || path === '') throw typeError(fn, 'path', 'a file path', path);
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  const metadata = opts.metadata ?? {};
  if (!isPlainObject(metadata)) throw typeError(fn, 'metadata', 'a plain object of strings', metadata);
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw typeError(fn, `metadata.${k}`, 'a string', v);
  const entries = namedTensors(fn, tree).map(([name, t]): [string, StoredTensor] => {
    if (isBatched(t)) throw new TypeError(`${fn}: '${name}' is a batched tensor inside vmap; save outside vmap`);
    return [name, storedOf(detach(t))];
  });
  const buf = encodeSafetensors(entries, metadata as Record<string, string>);
  const tmp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, path);
}

/** Options of {@link load}. */
export interface LoadOptions {
  /** Also return the file's metadata: `{ tensors, metadata }`. */
  metadata?: boolean;
}

/** A loaded file with its metadata. */
export interface Loaded {
  /** Tensors by name, in file order. */
  tensors: Record<string, Tensor>;
  /** The file's `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
}

/**
 * Reads a safetensors file: its tensors by name (a plain object, as `safetensors.torch.load_file`
 * returns a dict; give it to `module.loadStateDict`), or `{ tensors, metadata }` with
 * `{ metadata: true }`. F32, F64, I32, I64 and BOOL load as float32, float64, int32, int64 and bool;
 * U8 and U32 as int32 and int64.
 *
 * @throws SafetensorsError for a file that is not valid safetensors.
 */
export function load(path: string): Record<string, Tensor>;
export function load(path: string, opts: { metadata: true }): Loaded;
export function load(path: string, opts: LoadOptions = {}): Record<string, Tensor> | Loaded {
  const fn = 'mg.load';
  if (typeof path !== 'string' || path === '') throw typeError(fn, 'path', 'a file path', path);
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  let content;
  try {
    content = decodeSafetensors(fs.readFileSync(path));
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${fn}: ${path}: ${e.message}`);
    throw e;
  }
  const tensors: Record<string, Tensor> = {};
  for (const [name, s] of content.tensors) tensors[name] = tensorOfStored(fn, name, s);
  if (opts.metadata) return { tensors, metadata: content.metadata };
  return tensors;
}
