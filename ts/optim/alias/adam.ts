/** Adam (TorchOpt's `alias.adam`, PyTorch's Adam without amsgrad). */
import { namedChain } from '../combine';
import { betas, bool, learningRate, nonNegative, readOptions } from '../options';
import { scaleByAdam } from '../transform/scale-by-adam';
import type { GradientTransformation, ScalarOrSchedule } from '../types';
import { flipSignAndAddWeightDecay } from './flip-sign-and-add-weight-decay';
import { scaleByNegLr } from './scale-by-neg-lr';

/** Options of {@link adam}. */
export interface AdamOptions {
  /** Learning rate: a number >= 0, a one-element tensor, or a schedule (default 1e-3). */
  lr?: ScalarOrSchedule;
  /** Decays of the first and second moments, each in [0, 1) (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient, g + wd·p (default 0). */
  weightDecay?: number;
  /** Added inside the square root (default 0); > 0 keeps meta-gradients through Adam finite. */
  epsRoot?: number;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize?: boolean;
  /** Create the moments as tensors that require grad, for differentiating through the steps (default false). */
  momentRequiresGrad?: boolean;
}

/** Option names of {@link adam}. @internal */
export const ADAM_OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'epsRoot', 'maximize', 'momentRequiresGrad'] as const;

/** {@link adam} with the name used in error messages and the accepted option names. @internal */
export function buildAdam(fn: string, opts: unknown, allowed: readonly string[] = ADAM_OPTIONS): GradientTransformation {
  const o = readOptions(fn, opts, allowed);
  const lr = learningRate(fn, o.lr, 1e-3);
  const [b1, b2] = betas(fn, o.betas, [0.9, 0.999]);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const weightDecay = nonNegative(fn, 'weightDecay', o.weightDecay, 0);
  const epsRoot = nonNegative(fn, 'epsRoot', o.epsRoot, 0);
  const maximize = bool(fn, 'maximize', o.maximize, false);
  const momentRequiresGrad = bool(fn, 'momentRequiresGrad', o.momentRequiresGrad, false);
  return namedChain(fn, [
    flipSignAndAddWeightDecay(weightDecay, maximize),
    scaleByAdam({ b1, b2, eps, epsRoot, momentRequiresGrad }),
    scaleByNegLr(lr),
  ]);
}

/**
 * Adam as a gradient transformation: with d = (maximize ? −g : g) + wd·p,
 * m ← b1·m + (1 − b1)·d, v ← b2·v + (1 − b2)·d², and the update
 * −lr · (m / (1 − b1ᵗ)) / (√(v / (1 − b2ᵗ) + epsRoot) + eps).
 */
export function adam(opts?: AdamOptions): GradientTransformation {
  return buildAdam('adam', opts);
}
