/**
 * Trees of tensors (pytrees): a Tensor, an array of trees, or a plain object of trees. Tensors are
 * the leaves; any other value is kept in the structure and passes through untouched.
 */
import { typeError } from '../errors';
import { type Tensor, isTensor } from '../tensor/tensor';
import { isPlainObject } from '../objects';

/** A tree whose leaves are tensors. */
export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree } | unknown;

/** The structure of a tree with its leaves taken out, for {@link unflatten}. */
export type TreeSpec =
  | {
    /** A tensor leaf. */
    kind: 'leaf';
  }
  | {
    /** An array of subtrees. */
    kind: 'array';
    /** The subtrees' specs, in order. */
    children: TreeSpec[];
  }
  | {
    /** A plain object of subtrees. */
    kind: 'object';
    /** Its keys, in order. */
    keys: string[];
    /** The subtrees' specs, aligned with `keys`. */
    children: TreeSpec[];
  }
  | {
    /** Any other value, kept as is. */
    kind: 'other';
    /** The value. */
    value: unknown;
  };

/** The tensors of a tree in order (depth first, arrays by index, objects by key insertion order) and its spec. */
export function flatten(tree: unknown): [Tensor[], TreeSpec] {
  const leaves: Tensor[] = [];
  const rec = (x: unknown): TreeSpec => {
    if (isTensor(x)) {
      leaves.push(x);
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

/** Places `values` at the leaf positions of `spec`, in order. */
function rebuild(spec: TreeSpec, values: readonly unknown[]): unknown {
  let i = 0;
  const rec = (s: TreeSpec): unknown => {
    switch (s.kind) {
      case 'leaf':
        return values[i++];
      case 'other':
        return s.value;
      case 'array':
        return s.children.map(rec);
      case 'object': {
        const out: Record<string, unknown> = {};
        s.keys.forEach((k, j) => {
          out[k] = rec(s.children[j]);
        });
        return out;
      }
    }
  };
  return rec(spec);
}

/** Number of tensor leaves a spec holds. */
export function numLeaves(spec: TreeSpec): number {
  if (spec.kind === 'leaf') return 1;
  if (spec.kind === 'other') return 0;
  return spec.children.reduce((n, c) => n + numLeaves(c), 0);
}

/** Rebuilds a tree from a spec and leaves (the inverse of {@link flatten}). */
export function unflatten<T = unknown>(spec: TreeSpec, leaves: readonly Tensor[]): T {
  const want = numLeaves(spec);
  if (!Array.isArray(leaves) || leaves.length !== want) {
    throw typeError('tree.unflatten', 'leaves', `an array of ${want} tensors`, leaves);
  }
  return rebuild(spec, leaves) as T;
}

/** The tensors of a tree, in flatten order. */
export function leaves(tree: unknown): Tensor[] {
  return flatten(tree)[0];
}

/**
 * Applies `fn` to every tensor leaf; with more trees, `fn` receives the aligned leaves of each
 * (the trees must have the same structure).
 */
export function map<T = unknown>(fn: (...xs: Tensor[]) => unknown, tree: unknown, ...rest: unknown[]): T {
  if (typeof fn !== 'function') throw typeError('tree.map', 'fn', 'a function', fn);
  const [ls, spec] = flatten(tree);
  const others = rest.map((r, k) => {
    const [l] = flatten(r);
    if (l.length !== ls.length) {
      throw new RangeError(`tree.map: tree ${k + 1} has ${l.length} tensor leaves but the first tree has ${ls.length}`);
    }
    return l;
  });
  const mapped = ls.map((x, i) => fn(x, ...others.map((o) => o[i])));
  // Non-tensor results (e.g. null) are allowed in the leaf positions.
  return rebuild(spec, mapped) as T;
}

/** True when two trees have the same structure (tensor leaves in the same places). */
export function sameStructure(a: unknown, b: unknown): boolean {
  const [, sa] = flatten(a);
  const [, sb] = flatten(b);
  const eq = (x: TreeSpec, y: TreeSpec): boolean => {
    if (x.kind !== y.kind) return false;
    if (x.kind === 'leaf' || x.kind === 'other') return true;
    const yc = (y as typeof x).children;
    if (x.children.length !== yc.length) return false;
    if (x.kind === 'object' && x.keys.join('\u0000') !== (y as typeof x).keys.join('\u0000')) return false;
    return x.children.every((c, i) => eq(c, yc[i]));
  };
  return eq(sa, sb);
}
