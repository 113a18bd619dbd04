/** RMSProp's rescaling by the root of a moving average of squares (TorchOpt's `transform.scale_by_rms`). */
import * as el from '../../ops/elementwise';
import { arith } from '../arith';
import { checkAligned, checkState, fromFlat } from '../flat';
import { nonNegative, readOptions } from '../options';
import type { GradientTransformation, Leaf } from '../types';
import { fullLike } from './fill';
import { updateMoment } from './update-moment';

/** Options of {@link scaleByRms}. */
export interface ScaleByRmsOptions {
  /** Decay of the average of squares (default 0.9). */
  alpha?: number;
  /** Added to the root (default 1e-8). */
  eps?: number;
  /** Initial average of squares (default 0, as PyTorch; TensorFlow 1 uses 1). */
  initialScale?: number;
}

/** State of {@link scaleByRms}. */
export interface ScaleByRmsState {
  /** Moving averages of the squared updates. */
  nu: Leaf[];
}

/** nu ← alpha·nu + (1 − alpha)·g², and the update g / (√nu + eps). */
export function scaleByRms(opts?: ScaleByRmsOptions): GradientTransformation<ScaleByRmsState> {
  const fn = 'scaleByRms';
  const o = readOptions(fn, opts, ['alpha', 'eps', 'initialScale']);
  const alpha = nonNegative(fn, 'alpha', o.alpha, 0.9);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const initialScale = nonNegative(fn, 'initialScale', o.initialScale, 0);
  return fromFlat<ScaleByRmsState>(fn, {
    init: (params) => ({ nu: params.map((p) => fullLike(p, initialScale)) }),
    update: (updates, state, ctx) => {
      const s = checkState<ScaleByRmsState>(ctx, state, ['nu']);
      checkAligned(ctx, 'nu', s.nu, updates.length);
      const A = arith(ctx.inplace);
      const nu = s.nu.slice();
      const out = updates.map((g, i) => {
        const n0 = s.nu[i];
        if (g === null || n0 === null) return g;
        const n = updateMoment(A, g, n0, alpha, 2);
        nu[i] = n;
        return A.div(g, el.add(el.sqrt(n), eps));
      });
      return [out, { nu }];
    },
  });
}
