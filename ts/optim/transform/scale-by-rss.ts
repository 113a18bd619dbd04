/** AdaGrad's rescaling by the root of the sum of squares (TorchOpt's `transform.scale_by_rss`). */
import * as el from '../../ops/elementwise';
import { arith } from '../arith';
import { checkAligned, checkState, fromFlat } from '../flat';
import { nonNegative, readOptions } from '../options';
import type { GradientTransformation, Leaf } from '../types';
import { fullLike } from './fill';
import { updateMoment } from './update-moment';

/** Options of {@link scaleByRss}. */
export interface ScaleByRssOptions {
  /** Initial sum of squares (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the root (default 1e-10). */
  eps?: number;
}

/** State of {@link scaleByRss}. */
export interface ScaleByRssState {
  /** Sums of the squared updates. */
  sumOfSquares: Leaf[];
}

/** s ← s + g², and the update g / (√s + eps) where s > 0, else 0. */
export function scaleByRss(opts?: ScaleByRssOptions): GradientTransformation<ScaleByRssState> {
  const fn = 'scaleByRss';
  const o = readOptions(fn, opts, ['initialAccumulatorValue', 'eps']);
  const initial = nonNegative(fn, 'initialAccumulatorValue', o.initialAccumulatorValue, 0);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-10);
  return fromFlat<ScaleByRssState>(fn, {
    init: (params) => ({ sumOfSquares: params.map((p) => fullLike(p, initial)) }),
    update: (updates, state, ctx) => {
      const st = checkState<ScaleByRssState>(ctx, state, ['sumOfSquares']);
      checkAligned(ctx, 'sumOfSquares', st.sumOfSquares, updates.length);
      const A = arith(ctx.inplace);
      const sums = st.sumOfSquares.slice();
      const out = updates.map((g, i) => {
        const s0 = st.sumOfSquares[i];
        if (g === null || s0 === null) return g;
        const s = updateMoment(A, g, s0, 1, 2);
        sums[i] = s;
        // TorchOpt's where(s > 0, g / (√s + eps), 0) as a product with the constant mask (mg.where is
        // a slow general loop). s = 0 forces g = 0 there (s >= g²); the added 1 keeps 0/0 out when eps = 0.
        const pos = el.gtMask(s, 0);
        const denom = el.add(el.add(el.sqrt(s), eps), el.sub(1, pos));
        return el.mul(A.div(g, denom), pos);
      });
      return [out, { sumOfSquares: sums }];
    },
  });
}
