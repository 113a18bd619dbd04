/**
 * Masking: apply an inner transformation to some leaves only (TorchOpt's `transform.masked`), e.g.
 * no weight decay on biases. The mask is a tree of booleans shaped like the parameters (a boolean
 * may stand for a whole subtree), or a function from the parameters/updates tree to such a tree.
 */
import { typeError } from '../../errors';
import { type TreeSpec } from '../../tree/tree';
import { checkState, flatOf, fromFlat, listSpec, unflattenLeaves } from '../flat';
import type { FlatContext, FlatTransformation, GradientTransformation, Leaf, OptState } from '../types';
import { isPlainObject } from '../../objects';

/** A mask: a tree of booleans like the parameters, or a function of the parameters/updates tree returning one. */
export type Mask = unknown;

/** State of {@link masked}. */
export interface MaskedState {
  /** The inner transformation's state (over the masked-in leaves only). */
  innerState: OptState;
}

/** One boolean per leaf of `spec`, read from a mask tree (a boolean covers a whole subtree). */
function maskFlags(fn: string, mask: unknown, spec: TreeSpec): boolean[] {
  const flags: boolean[] = [];
  const fill = (s: TreeSpec, value: boolean): void => {
    if (s.kind === 'leaf') flags.push(value);
    else if (s.kind === 'array' || s.kind === 'object') s.children.forEach((c) => fill(c, value));
  };
  const rec = (s: TreeSpec, m: unknown, path: string): void => {
    if (typeof m === 'boolean') return fill(s, m);
    if (s.kind === 'other') return;
    if (s.kind === 'leaf') throw typeError(fn, `mask${path}`, 'a boolean', m);
    if (s.kind === 'array') {
      if (!Array.isArray(m) || m.length !== s.children.length) {
        throw typeError(fn, `mask${path}`, `a boolean or an array of ${s.children.length} masks (like the parameters)`, m);
      }
      s.children.forEach((c, i) => rec(c, m[i], `${path}[${i}]`));
      return;
    }
    if (!isPlainObject(m)) throw typeError(fn, `mask${path}`, `a boolean or an object with keys ${s.keys.join(', ')}`, m);
    s.keys.forEach((k, i) => {
      if (!(k in m)) throw typeError(fn, `mask${path}.${k}`, 'a boolean or a mask tree', undefined);
      rec(s.children[i], m[k], `${path}.${k}`);
    });
  };
  rec(spec, mask, '');
  return flags;
}

function resolve(fn: string, mask: Mask, leaves: readonly Leaf[], spec: TreeSpec): boolean[] {
  const tree = typeof mask === 'function' ? (mask as (t: unknown) => unknown)(unflattenLeaves(spec, leaves)) : mask;
  return maskFlags(fn, tree, spec);
}

/** Flat form. @internal */
export function maskedFlat(fn: string, inner: FlatTransformation, mask: Mask): FlatTransformation<MaskedState> {
  const pick = <T>(xs: readonly T[], flags: boolean[]): T[] => xs.filter((_, i) => flags[i]);
  return {
    init: (params, spec) => {
      const flags = resolve(fn, mask, params, spec);
      const sub = pick(params, flags);
      return { innerState: inner.init(sub, listSpec(sub.length)) };
    },
    update: (updates, state, ctx) => {
      const s = checkState<MaskedState>(ctx, state, ['innerState']);
      const flags = resolve(ctx.fn, mask, updates, ctx.spec);
      const sub = pick(updates, flags);
      const innerCtx: FlatContext = { ...ctx, params: ctx.params === null ? null : pick(ctx.params, flags), spec: listSpec(sub.length) };
      const [newSub, innerState] = inner.update(sub, s.innerState, innerCtx);
      let k = 0;
      const out = updates.map((u, i) => (flags[i] ? newSub[k++] : u));
      return [out, { innerState }];
    },
  };
}

/** Applies `inner` to the leaves where `mask` is true and passes the others through unchanged. */
export function masked(inner: GradientTransformation, mask: Mask): GradientTransformation<MaskedState> {
  const f = flatOf(inner);
  if (f === null) throw typeError('masked', 'inner', 'a built-in GradientTransformation (or a chain of them)', inner);
  return fromFlat('masked', maskedFlat('masked', f.flat, mask));
}
