/** RMSProp, plain or centered, with momentum (TorchOpt's `alias.rmsprop`, PyTorch's RMSprop). */
import { namedChain } from '../combine';
import { bool, learningRate, nonNegative, readOptions } from '../options';
import { scaleByRms } from '../transform/scale-by-rms';
import { scaleByStddev } from '../transform/scale-by-stddev';
import { nesterovError, trace } from '../transform/trace';
import type { GradientTransformation, ScalarOrSchedule } from '../types';
import { flipSignAndAddWeightDecay } from './flip-sign-and-add-weight-decay';
import { scaleByNegLr } from './scale-by-neg-lr';

/** Options of {@link rmsprop}. */
export interface RMSPropOptions {
  /** Learning rate: a number >= 0, a one-element tensor, or a schedule (default 1e-2). */
  lr?: ScalarOrSchedule;
  /** Smoothing constant of the average of squares (default 0.99). */
  alpha?: number;
  /** Added to the root (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Divide by the moving standard deviation instead of the root mean square (default false). */
  centered?: boolean;
  /** Initial average of squares (default 0, as PyTorch). */
  initialScale?: number;
  /** Nesterov momentum (default false; needs momentum > 0). */
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize?: boolean;
}

/** Option names of {@link rmsprop}. @internal */
export const RMSPROP_OPTIONS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'initialScale', 'nesterov', 'maximize'] as const;

/** {@link rmsprop} with the name used in error messages. @internal */
export function buildRmsprop(fn: string, opts: unknown, allowed: readonly string[] = RMSPROP_OPTIONS): GradientTransformation {
  const o = readOptions(fn, opts, allowed);
  const lr = learningRate(fn, o.lr, 1e-2);
  const alpha = nonNegative(fn, 'alpha', o.alpha, 0.99);
  const eps = nonNegative(fn, 'eps', o.eps, 1e-8);
  const weightDecay = nonNegative(fn, 'weightDecay', o.weightDecay, 0);
  const momentum = nonNegative(fn, 'momentum', o.momentum, 0);
  const centered = bool(fn, 'centered', o.centered, false);
  const initialScale = nonNegative(fn, 'initialScale', o.initialScale, 0);
  const nesterov = bool(fn, 'nesterov', o.nesterov, false);
  const maximize = bool(fn, 'maximize', o.maximize, false);
  if (nesterov && momentum <= 0) throw nesterovError(fn, momentum, 0);
  return namedChain(fn, [
    flipSignAndAddWeightDecay(weightDecay, maximize),
    centered ? scaleByStddev({ alpha, eps, initialScale }) : scaleByRms({ alpha, eps, initialScale }),
    trace({ momentum, nesterov }),
    scaleByNegLr(lr),
  ]);
}

/**
 * RMSProp as a gradient transformation: v ← alpha·v + (1 − alpha)·g², d = g / (√v + eps)
 * (√(v − ḡ²) with centered, ḡ the moving mean of g); with momentum, b ← momentum·b + d and d = b;
 * the update is −lr·d.
 */
export function rmsprop(opts?: RMSPropOptions): GradientTransformation {
  return buildRmsprop('rmsprop', opts);
}
