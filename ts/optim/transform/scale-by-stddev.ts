/** Centered RMSProp's rescaling by a moving standard deviation (TorchOpt's `transform.scale_by_stddev`). */
import * as el from '../../ops/elementwise';
import { arith } from '../arith';
import { checkAligned, checkState, fromFlat } from '../flat';
import { nonNegative, readOptions } from '../options';
import type { GradientTransformation, Leaf } from '../types';
import { fullLike } from './fill';
import { updateMoment } from './update-moment';

/** Options of {@link scaleByStddev}. */
export interface ScaleByStddevOptions {
  /** Decay of the moving averages (default 0.9). */
  alpha?: number;
  /** Added to the root (default 1e-8). */
  eps?: number;
  /** Initial average of squares (default 0). */
  initialScale?: number;
}

/** State of {@link scaleByStddev}. */
export interface ScaleByStddevState {
  /** Moving averages of the updates. */
  mu: Leaf[];
  /** Moving averages of the squared updates. */
  nu: Leaf[];
}

/** mu ← alpha·mu + (1 − alpha)·g, nu ← alpha·nu + (1 − alpha)·g², and the update g / (√(nu − mu²) + eps). */
export function scaleByStddev(opts?: ScaleByStddevOptions): GradientTransformation<ScaleByStddevState> {
  const fn = 'scaleByStddev';
  const o = readOptions(fn, opts, ['alpha', 'eps', 'initialScale']);
  const alpha = nonNegative(fn, 'alpha', o.alpha, 0.9);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const initialScale = nonNegative(fn, 'initialScale', o.initialScale, 0);
  return fromFlat<ScaleByStddevState>(fn, {
    init: (params) => ({ mu: params.map((p) => fullLike(p, 0)), nu: params.map((p) => fullLike(p, initialScale)) }),
    update: (updates, state, ctx) => {
      const s = checkState<ScaleByStddevState>(ctx, state, ['mu', 'nu']);
      checkAligned(ctx, 'mu', s.mu, updates.length);
      checkAligned(ctx, 'nu', s.nu, updates.length);
      const A = arith(ctx.inplace);
      const mu = s.mu.slice();
      const nu = s.nu.slice();
      const out = updates.map((g, i) => {
        const m0 = s.mu[i];
        const n0 = s.nu[i];
        if (g === null || m0 === null || n0 === null) return g;
        const m = updateMoment(A, g, m0, alpha, 1);
        const n = updateMoment(A, g, n0, alpha, 2);
        mu[i] = m;
        nu[i] = n;
        return A.div(g, el.add(el.sqrt(el.sub(n, el.mul(m, m))), eps));
      });
      return [out, { mu, nu }];
    },
  });
}
