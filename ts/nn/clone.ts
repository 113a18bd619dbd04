/**
 * TorchOpt's `module_clone`: a copy of a module (or of a tree of tensors) whose tensors are the
 * originals (`'reference'`), graph-connected clones (`'copy'`, gradients flow back to the
 * originals) or detached copies (`'deepcopy'`, an independent module).
 */
import { typeError } from '../errors';
import { clone as cloneTensor, detach, requiresGrad_ } from '../ops/inplace';
import { type Tensor, isTensor } from '../tensor/tensor';
import { map as treeMap } from '../tree/tree';
import { Module } from './module';
import { type CopyMode, extractStateDict, recoverStateDict, replicator } from './state-dict';
import { isPlainObject } from '../objects';

/** Options of {@link moduleClone}. */
export interface ModuleCloneOptions {
  /** `'reference'` (default), `'copy'` or `'deepcopy'` (see {@link CopyMode}). */
  by?: CopyMode;
  /** Buffers become detached copies whatever `by` is (default false). */
  detachBuffers?: boolean;
  /** Accepted for TorchOpt compatibility and ignored (there is one device). */
  device?: unknown;
}

/**
 * A structural deep copy of a module object graph: modules, arrays, plain objects, Maps, Sets and
 * typed arrays are copied (same prototype, same property descriptors, shared sub-objects stay
 * shared); tensors in `keep` are kept as they are; other leaf tensors become detached copies with
 * the same `requiresGrad`, while non-leaf tensors and instances of other classes are shared.
 */
function structuralClone<T>(root: T, keep: Set<Tensor>): T {
  const memo = new Map<object, unknown>();
  const rec = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const seen = memo.get(v);
    if (seen !== undefined) return seen;
    let out: unknown;
    if (isTensor(v)) {
      if (keep.has(v) || !v.isLeaf) out = v;
      else out = requiresGrad_(cloneTensor(detach(v)), v.requiresGrad);
      memo.set(v, out);
      return out;
    }
    if (Array.isArray(v)) {
      const arr: unknown[] = [];
      memo.set(v, arr);
      for (const x of v) arr.push(rec(x));
      return arr;
    }
    if (v instanceof Map) {
      const m = new Map();
      memo.set(v, m);
      for (const [k, x] of v) m.set(rec(k), rec(x));
      return m;
    }
    if (v instanceof Set) {
      const s = new Set();
      memo.set(v, s);
      for (const x of v) s.add(rec(x));
      return s;
    }
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      out = (v as unknown as { slice(): unknown }).slice();
      memo.set(v, out);
      return out;
    }
    if (v instanceof Module || isPlainObject(v)) {
      const o: object = Object.create(Object.getPrototypeOf(v));
      memo.set(v, o);
      for (const key of Reflect.ownKeys(v)) {
        const desc = Object.getOwnPropertyDescriptor(v, key) as PropertyDescriptor;
        if ('value' in desc) desc.value = rec(desc.value);
        Object.defineProperty(o, key, desc);
      }
      return o;
    }
    return v;
  };
  return rec(root) as T;
}

/**
 * TorchOpt's `module_clone`. For a module: a structurally independent module of the same class
 * (sub-modules, arrays and bookkeeping copied) whose parameters and buffers are, by `by`:
 * - `'reference'`: the original tensors;
 * - `'copy'`: `t.clone()` of each, connected to the graph, so gradients reach the originals;
 * - `'deepcopy'`: detached copies with the same `requiresGrad` (Parameters stay Parameters).
 * For a tree of tensors: the same tree with each tensor replicated that way.
 */
export function moduleClone<T>(target: T, opts: ModuleCloneOptions = {}): T {
  const fn = 'moduleClone';
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  const replicate = replicator(fn, opts.by);
  const detachBuffers = opts.detachBuffers ?? false;
  if (typeof detachBuffers !== 'boolean') throw typeError(fn, 'detachBuffers', 'a boolean', detachBuffers);
  if (target instanceof Module) {
    const keep = new Set<Tensor>([...target.parameters(), ...target.buffers()]);
    const cloned = structuralClone(target, keep);
    const state = extractStateDict(target, { by: opts.by, withBuffers: true, detachBuffers });
    recoverStateDict(cloned, state);
    return cloned;
  }
  if (typeof target === 'object' && target !== null && !isTensor(target) && !Array.isArray(target) && !isPlainObject(target)) {
    throw typeError(fn, 'target', 'an nn.Module or a tree of tensors (a Tensor, an array or a plain object)', target);
  }
  return treeMap((t: Tensor) => replicate(t), target);
}
