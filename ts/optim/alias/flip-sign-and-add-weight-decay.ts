/** The first step of every alias: PyTorch's `maximize` sign flip and L2 weight decay added to the gradient. */
import { arith } from '../arith';
import { type EmptyState, identity } from '../combine';
import { fromFlat } from '../flat';
import { needParams } from '../transform/add-decayed-weights';
import type { GradientTransformation } from '../types';

/** g ↦ (maximize ? −g : g) + weightDecay·p; the identity when neither applies. */
export function flipSignAndAddWeightDecay(weightDecay: number, maximize: boolean): GradientTransformation<EmptyState> {
  if (!maximize && weightDecay === 0) return identity();
  return fromFlat('flipSignAndAddWeightDecay', {
    init: () => ({}),
    update: (updates, state, ctx) => {
      const params = weightDecay === 0 ? null : needParams(ctx);
      const A = arith(ctx.inplace);
      const out = updates.map((g, i) => {
        if (g === null) return g;
        const u = maximize ? A.neg(g) : g;
        const p = params === null ? null : params[i];
        return p === null ? u : A.add(u, A.decayOperand(u, p), weightDecay);
      });
      return [out, state];
    },
  });
}
