/** AdamW: Adam with decoupled weight decay (TorchOpt's `alias.adamw`, PyTorch's AdamW). */
import { namedChain } from '../combine';
import { betas, bool, learningRate, nonNegative, readOptions } from '../options';
import { addDecayedWeights } from '../transform/add-decayed-weights';
import type { Mask } from '../transform/masked';
import { scaleByAdam } from '../transform/scale-by-adam';
import type { GradientTransformation, ScalarOrSchedule } from '../types';
import { flipSignAndAddWeightDecay } from './flip-sign-and-add-weight-decay';
import { scaleByNegLr } from './scale-by-neg-lr';

/** Options of {@link adamw}. */
export interface AdamWOptions {
  /** Learning rate: a number >= 0, a one-element tensor, or a schedule (default 1e-3). */
  lr?: ScalarOrSchedule;
  /** Decays of the first and second moments, each in [0, 1) (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay: p ← p − lr·wd·p (default 1e-2). */
  weightDecay?: number;
  /** Added inside the square root (default 0). */
  epsRoot?: number;
  /** Where to apply weight decay: a tree of booleans like the parameters, or a function of the parameters returning one (default: everywhere). */
  mask?: Mask;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize?: boolean;
  /** Create the moments as tensors that require grad (default false). */
  momentRequiresGrad?: boolean;
}

/** Option names of {@link adamw}. @internal */
export const ADAMW_OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'epsRoot', 'mask', 'maximize', 'momentRequiresGrad'] as const;

/** {@link adamw} with the name used in error messages and the accepted option names. @internal */
export function buildAdamw(fn: string, opts: unknown, allowed: readonly string[] = ADAMW_OPTIONS): GradientTransformation {
  const o = readOptions(fn, opts, allowed);
  const lr = learningRate(fn, o.lr, 1e-3);
  const [b1, b2] = betas(fn, o.betas, [0.9, 0.999]);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const weightDecay = nonNegative(fn, 'weightDecay', o.weightDecay, 1e-2);
  const epsRoot = nonNegative(fn, 'epsRoot', o.epsRoot, 0);
  const maximize = bool(fn, 'maximize', o.maximize, false);
  const momentRequiresGrad = bool(fn, 'momentRequiresGrad', o.momentRequiresGrad, false);
  return namedChain(fn, [
    flipSignAndAddWeightDecay(0, maximize),
    scaleByAdam({ b1, b2, eps, epsRoot, momentRequiresGrad }),
    addDecayedWeights(weightDecay, o.mask ?? undefined),
    scaleByNegLr(lr),
  ]);
}

/**
 * AdamW as a gradient transformation: the Adam direction a (without L2 decay) plus decoupled
 * decay, update −lr·(a + wd·p), i.e. p ← (1 − lr·wd)·p − lr·a as PyTorch.
 */
export function adamw(opts?: AdamWOptions): GradientTransformation {
  return buildAdamw('adamw', opts);
}
