/**
 * Bridges trees and the flat lists the built-in transformations work on. Null (or undefined)
 * counts as a leaf here, as TorchOpt's `none_is_leaf=True`: a parameter without a gradient keeps
 * its slot, so updates, parameters and state stay aligned.
 */
import { typeError } from '../errors';
import { type Tensor, isTensor } from '../tensor/tensor';
import { type TreeSpec, unflatten } from '../tree/tree';
import type { FlatContext, FlatTransformation, GradientTransformation, Leaf, OptState, UpdateOptions } from './types';
import { isPlainObject } from '../objects';

const FLAT = Symbol('metagrad.optim.flat');

/** The leaves of a tree (tensors and nulls) in `tree.flatten` order, and its spec. */
export function flattenLeaves(tree: unknown): [Leaf[], TreeSpec] {
  const leaves: Leaf[] = [];
  const rec = (x: unknown): TreeSpec => {
    if (isTensor(x) || x === null || x === undefined) {
      leaves.push(x ?? null);
      return { kind: 'leaf' };
    }
    if (Array.isArray(x)) return { kind: 'array', children: x.map(rec) };
    if (isPlainObject(x)) {
      const keys = Object.keys(x);
      return { kind: 'object', keys, children: keys.map((k) => rec(x[k])) };
    }
    return { kind: 'other', value: x };
  };
  const spec = rec(tree);
  return [leaves, spec];
}

/** Rebuilds a tree from {@link flattenLeaves}' spec; null leaves come back as null. */
export function unflattenLeaves(spec: TreeSpec, leaves: readonly Leaf[]): unknown {
  // tree.unflatten only places the given values, so null leaves pass through it unchanged.
  return unflatten(spec, leaves as readonly Tensor[]);
}

/** The spec of a flat list of `n` leaves (what an inner transformation of a mask sees). */
export function listSpec(n: number): TreeSpec {
  return { kind: 'array', children: Array.from({ length: n }, () => ({ kind: 'leaf' }) as TreeSpec) };
}

function checkUpdateOptions(fn: string, opts: unknown): UpdateOptions {
  if (opts === undefined) return {};
  if (!isPlainObject(opts)) throw typeError(fn, 'opts', 'an options object { params?, inplace? }', opts);
  for (const k of Object.keys(opts)) {
    if (k !== 'params' && k !== 'inplace') {
      throw new TypeError(`${fn}: unknown option '${k}'; the options are params, inplace`);
    }
  }
  if (opts.inplace !== undefined && typeof opts.inplace !== 'boolean') throw typeError(fn, 'inplace', 'a boolean', opts.inplace);
  return opts as UpdateOptions;
}

/** Runs a flat transformation's update on trees (the shared body of every built-in `update`). */
export function updateTree<S>(flat: FlatTransformation<S>, name: string, updates: unknown, state: S, options?: UpdateOptions): [unknown, S] {
  const fn = `${name}.update`;
  const opts = checkUpdateOptions(fn, options);
  const [u, spec] = flattenLeaves(updates);
  let params: Leaf[] | null = null;
  if (opts.params !== undefined && opts.params !== null) {
    params = flattenLeaves(opts.params)[0];
    if (params.length !== u.length) {
      throw new RangeError(`${fn}: params has ${params.length} leaves but updates has ${u.length}; they must have the same structure`);
    }
  }
  const ctx: FlatContext = { params, inplace: opts.inplace ?? true, spec, fn };
  const [out, next] = flat.update(u, state, ctx);
  return [unflattenLeaves(spec, out), next];
}

/** Wraps a flat transformation as a public tree-level one (which `chain` can unwrap again). */
export function fromFlat<S = OptState>(name: string, flat: FlatTransformation<S>): GradientTransformation<S> {
  const gt: GradientTransformation<S> = {
    init(params: unknown): S {
      const [leaves, spec] = flattenLeaves(params);
      return flat.init(leaves, spec);
    },
    update(updates: unknown, state: S, opts?: UpdateOptions): [unknown, S] {
      return updateTree(flat, name, updates, state, opts);
    },
  };
  Object.defineProperty(gt, FLAT, { value: { name, flat }, enumerable: false });
  return gt;
}

/** The flat form behind a built-in transformation, or null for a user-written one. */
export function flatOf(t: GradientTransformation): { name: string; flat: FlatTransformation } | null {
  const inner = (t as unknown as Record<symbol, { name: string; flat: FlatTransformation } | undefined>)[FLAT];
  return inner ?? null;
}

/** Checks that a state list has one entry per update leaf. */
export function checkAligned(ctx: FlatContext, what: string, list: unknown, n: number): void {
  if (!Array.isArray(list)) throw typeError(ctx.fn, 'state', 'the state returned by init/update of this transformation', list);
  if (list.length !== n) {
    throw new RangeError(
      `${ctx.fn}: the state's ${what} has ${list.length} leaves but updates has ${n}; call init with parameters of the same structure`,
    );
  }
}

/** Returns `state` as an object after checking it holds the given keys. */
export function checkState<T extends object>(ctx: FlatContext, state: unknown, keys: readonly string[]): T {
  if (!isPlainObject(state) || !keys.every((k) => k in state)) {
    throw typeError(ctx.fn, 'state', `the state returned by init/update of this transformation (an object with ${keys.join(', ')})`, state);
  }
  return state as T;
}
