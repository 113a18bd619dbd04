/**
 * Composition of gradient transformations: `identity` and `chain` (TorchOpt's `combine.py`).
 * Chains of built-in transformations run on the flattened trees, flattening once per update.
 */
import { typeError } from '../errors';
import { flatOf, fromFlat } from './flat';
import type { FlatTransformation, GradientTransformation, OptState, UpdateOptions } from './types';

const IDENTITY = Symbol('metagrad.optim.identity');

/** The state of stateless transformations. */
export type EmptyState = Record<string, never>;

const identityFlat: FlatTransformation<EmptyState> = {
  init: () => ({}),
  update: (updates, state) => [updates.slice(), state],
};

/** The transformation that leaves updates unchanged (state `{}`). */
export function identity(): GradientTransformation<EmptyState> {
  const gt = fromFlat('identity', identityFlat);
  Object.defineProperty(gt, IDENTITY, { value: true, enumerable: false });
  return gt;
}

function isIdentity(t: GradientTransformation): boolean {
  return (t as unknown as Record<symbol, unknown>)[IDENTITY] === true;
}

function checkTransformation(fn: string, arg: string, t: unknown): GradientTransformation {
  if (typeof t !== 'object' || t === null || typeof (t as GradientTransformation).init !== 'function' || typeof (t as GradientTransformation).update !== 'function') {
    throw typeError(fn, arg, 'a GradientTransformation ({ init, update })', t);
  }
  return t as GradientTransformation;
}

function checkChainState(fn: string, state: unknown, n: number): OptState[] {
  if (!Array.isArray(state) || state.length !== n) {
    throw typeError(fn, 'state', `the state returned by init/update of this chain (an array of ${n} states)`, state);
  }
  return state;
}

/** A flat chain: the states of the parts, in order, as an array. */
function flatChain(parts: FlatTransformation[]): FlatTransformation<OptState[]> {
  return {
    init: (params, spec) => parts.map((p) => p.init(params, spec)),
    update: (updates, state, ctx) => {
      const states = checkChainState(ctx.fn, state, parts.length);
      let u = updates.slice();
      const next = parts.map((p, i) => {
        const [nu, ns] = p.update(u, states[i], ctx);
        u = nu;
        return ns;
      });
      return [u, next];
    },
  };
}

/** `chain` with the name used in error messages (the aliases pass theirs). @internal */
export function namedChain(name: string, transformations: readonly unknown[]): GradientTransformation {
  const ts = transformations
    .map((t, i) => checkTransformation(name, `transformations[${i}]`, t))
    .filter((t) => !isIdentity(t));
  if (ts.length === 0) return identity();
  const flats = ts.map(flatOf);
  if (flats.every((f) => f !== null)) {
    return fromFlat(name, flatChain(flats.map((f) => (f as { flat: FlatTransformation }).flat)));
  }
  // A user-written transformation works on trees: run the parts one after the other on trees.
  return {
    init: (params: unknown) => ts.map((t) => t.init(params)),
    update: (updates: unknown, state: OptState, opts?: UpdateOptions): [unknown, OptState] => {
      const states = checkChainState(`${name}.update`, state, ts.length);
      let u = updates;
      const next = ts.map((t, i) => {
        const [nu, ns] = t.update(u, states[i], opts);
        u = nu;
        return ns;
      });
      return [u, next];
    },
  };
}

/**
 * Applies transformations one after the other (TorchOpt's `chain`): the state is the array of
 * their states. `chain()` is the identity and `chain(t)` is `t`.
 */
export function chain(...transformations: GradientTransformation[]): GradientTransformation {
  if (transformations.length === 1) return checkTransformation('chain', 'transformations[0]', transformations[0]);
  return namedChain('chain', transformations);
}
