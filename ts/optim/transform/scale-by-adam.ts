/** Adam's rescaling by bias-corrected moment estimates (TorchOpt's `transform.scale_by_adam`). */
import { zerosLike } from '../../ops/creation';
import * as el from '../../ops/elementwise';
import { arith } from '../arith';
import { checkAligned, checkState, fromFlat } from '../flat';
import { bool, nonNegative, readOptions, unitInterval } from '../options';
import type { GradientTransformation, Leaf } from '../types';
import { updateMoment } from './update-moment';

/** Options of {@link scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** Added inside the square root (default 0); > 0 keeps meta-gradients finite. */
  epsRoot?: number;
  /** Create the moments as tensors that require grad. */
  momentRequiresGrad?: boolean;
}

/** State of {@link scaleByAdam}. */
export interface ScaleByAdamState {
  /** First moments. */
  mu: Leaf[];
  /** Second moments. */
  nu: Leaf[];
  /** Update count of each leaf (for the bias correction). */
  count: number[];
}

const OPTIONS = ['b1', 'b2', 'eps', 'epsRoot', 'momentRequiresGrad'] as const;

/**
 * mu ← b1·mu + (1 − b1)·g, nu ← b2·nu + (1 − b2)·g², and the update
 * (mu / (1 − b1ᵗ)) / (√(nu / (1 − b2ᵗ) + epsRoot) + eps), t counting this leaf's updates from 1.
 */
export function scaleByAdam(opts?: ScaleByAdamOptions): GradientTransformation<ScaleByAdamState> {
  const fn = 'scaleByAdam';
  const o = readOptions(fn, opts, OPTIONS);
  const b1 = unitInterval(fn, 'b1', o.b1, 0.9);
  const b2 = unitInterval(fn, 'b2', o.b2, 0.999);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const epsRoot = nonNegative(fn, 'epsRoot', o.epsRoot, 0);
  const momentRequiresGrad = bool(fn, 'momentRequiresGrad', o.momentRequiresGrad, false);
  const zeros = (p: Leaf): Leaf => (p === null ? null : zerosLike(p, { requiresGrad: momentRequiresGrad }));
  return fromFlat<ScaleByAdamState>(fn, {
    init: (params) => ({ mu: params.map(zeros), nu: params.map(zeros), count: params.map(() => 0) }),
    update: (updates, state, ctx) => {
      const s = checkState<ScaleByAdamState>(ctx, state, ['mu', 'nu', 'count']);
      checkAligned(ctx, 'mu', s.mu, updates.length);
      checkAligned(ctx, 'nu', s.nu, updates.length);
      const A = arith(ctx.inplace);
      const mu = s.mu.slice();
      const nu = s.nu.slice();
      const count = s.count.slice();
      const out = updates.map((g, i) => {
        const m0 = s.mu[i];
        const v0 = s.nu[i];
        if (g === null || m0 === null || v0 === null) return g;
        const m = updateMoment(A, g, m0, b1, 1);
        const v = updateMoment(A, g, v0, b2, 2);
        mu[i] = m;
        nu[i] = v;
        const c = ++count[i];
        const muHat = el.div(m, 1 - b1 ** c);
        const nuHat = el.div(v, 1 - b2 ** c);
        return A.div(muHat, el.add(el.sqrt(el.add(nuHat, epsRoot)), eps));
      });
      return [out, { mu, nu, count }];
    },
  });
}
