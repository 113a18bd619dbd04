/** Decoupled weight decay: adds wd·p to the updates (TorchOpt's `transform.add_decayed_weights`). */
import { arith } from '../arith';
import { type EmptyState, identity } from '../combine';
import { fromFlat } from '../flat';
import { nonNegative } from '../options';
import type { FlatContext, FlatTransformation, GradientTransformation, Leaf, OptState } from '../types';
import { type Mask, maskedFlat } from './masked';

/** The parameters of an update that needs them, with the error TorchOpt's assert gives. @internal */
export function needParams(ctx: FlatContext): readonly Leaf[] {
  if (ctx.params === null) {
    throw new TypeError(`${ctx.fn}: weight decay needs the parameters; call update(updates, state, { params })`);
  }
  return ctx.params;
}

/** Flat form: g + wd·p. @internal */
export function addDecayedWeightsFlat(weightDecay: number): FlatTransformation<EmptyState> {
  return {
    init: () => ({}),
    update: (updates, state, ctx) => {
      const params = needParams(ctx);
      const A = arith(ctx.inplace);
      const out = updates.map((g, i) => {
        const p = params[i];
        return g === null || p === null ? g : A.add(g, A.decayOperand(g, p), weightDecay);
      });
      return [out, state];
    },
  };
}

/** Adds `weightDecay`·p to each update, only where `mask` is true when one is given. */
export function addDecayedWeights(weightDecay = 0, mask?: Mask): GradientTransformation<OptState> {
  const wd = nonNegative('addDecayedWeights', 'weightDecay', weightDecay, 0);
  if (mask === undefined || mask === null) {
    return wd === 0 ? identity() : fromFlat('addDecayedWeights', addDecayedWeightsFlat(wd));
  }
  return fromFlat('addDecayedWeights', maskedFlat('addDecayedWeights', addDecayedWeightsFlat(wd), mask));
}
