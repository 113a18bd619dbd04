/** AdaGrad (TorchOpt's `alias.adagrad`, PyTorch's Adagrad). */
import { namedChain } from '../combine';
import { bool, learningRate, nonNegative, readOptions } from '../options';
import { scaleByRss } from '../transform/scale-by-rss';
import { scaleBySchedule } from '../transform/scale-by-schedule';
import type { GradientTransformation, ScalarOrSchedule } from '../types';
import { flipSignAndAddWeightDecay } from './flip-sign-and-add-weight-decay';
import { scaleByNegLr } from './scale-by-neg-lr';

/** Options of {@link adagrad}. */
export interface AdaGradOptions {
  /** Learning rate: a number >= 0, a one-element tensor, or a schedule (default 1e-2). */
  lr?: ScalarOrSchedule;
  /** Learning-rate decay: step t uses lr / (1 + (t − 1)·lrDecay) (default 0). */
  lrDecay?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Initial sum of squares (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the root (default 1e-10). */
  eps?: number;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize?: boolean;
}

/** Option names of {@link adagrad}. @internal */
export const ADAGRAD_OPTIONS = ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'maximize'] as const;

/** {@link adagrad} with the name used in error messages. @internal */
export function buildAdagrad(fn: string, opts: unknown, allowed: readonly string[] = ADAGRAD_OPTIONS): GradientTransformation {
  const o = readOptions(fn, opts, allowed);
  const lr = learningRate(fn, o.lr, 1e-2);
  const lrDecay = nonNegative(fn, 'lrDecay', o.lrDecay, 0);
  const weightDecay = nonNegative(fn, 'weightDecay', o.weightDecay, 0);
  const initialAccumulatorValue = nonNegative(fn, 'initialAccumulatorValue', o.initialAccumulatorValue, 0);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-10);
  const maximize = bool(fn, 'maximize', o.maximize, false);
  return namedChain(fn, [
    flipSignAndAddWeightDecay(weightDecay, maximize),
    scaleByRss({ initialAccumulatorValue, eps }),
    scaleBySchedule((count) => 1 / (1 + lrDecay * count)),
    scaleByNegLr(lr),
  ]);
}

/**
 * AdaGrad as a gradient transformation: s ← s + g², and the update
 * −lr / (1 + (t − 1)·lrDecay) · g / (√s + eps), t counting this leaf's updates from 1.
 */
export function adagrad(opts?: AdaGradOptions): GradientTransformation {
  return buildAdagrad('adagrad', opts);
}
