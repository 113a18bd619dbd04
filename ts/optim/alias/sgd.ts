/** Stochastic gradient descent with momentum, Nesterov, weight decay (TorchOpt's `alias.sgd`, PyTorch's SGD). */
import { namedChain } from '../combine';
import { bool, learningRate, nonNegative, readOptions } from '../options';
import { nesterovError, trace } from '../transform/trace';
import type { GradientTransformation, ScalarOrSchedule } from '../types';
import { flipSignAndAddWeightDecay } from './flip-sign-and-add-weight-decay';
import { scaleByNegLr } from './scale-by-neg-lr';

/** Options of {@link sgd}. */
export interface SGDOptions {
  /** Learning rate: a number >= 0, a one-element tensor, or a schedule (required). */
  lr: ScalarOrSchedule;
  /** Momentum factor (default 0: no momentum buffer). */
  momentum?: number;
  /** Dampening of the gradient in the momentum buffer (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient, g + wd·p (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize?: boolean;
  /** Create the momentum buffers as tensors that require grad, for differentiating through the steps (default false). */
  momentRequiresGrad?: boolean;
}

/** Option names of {@link sgd}. @internal */
export const SGD_OPTIONS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize', 'momentRequiresGrad'] as const;

/** {@link sgd} with the name used in error messages and the accepted option names. @internal */
export function buildSgd(fn: string, opts: unknown, allowed: readonly string[] = SGD_OPTIONS): GradientTransformation {
  const o = readOptions(fn, opts, allowed, true);
  const lr = learningRate(fn, o.lr);
  const momentum = nonNegative(fn, 'momentum', o.momentum, 0);
  const dampening = nonNegative(fn, 'dampening', o.dampening, 0);
  const weightDecay = nonNegative(fn, 'weightDecay', o.weightDecay, 0);
  const nesterov = bool(fn, 'nesterov', o.nesterov, false);
  const maximize = bool(fn, 'maximize', o.maximize, false);
  const momentRequiresGrad = bool(fn, 'momentRequiresGrad', o.momentRequiresGrad, false);
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw nesterovError(fn, momentum, dampening);
  return namedChain(fn, [
    flipSignAndAddWeightDecay(weightDecay, maximize),
    trace({ momentum, dampening, nesterov, momentRequiresGrad }),
    scaleByNegLr(lr),
  ]);
}

/**
 * SGD as a gradient transformation: d = (maximize ? −g : g) + wd·p; with momentum,
 * b ← momentum·b + (1 − dampening)·d (b ← d on the first step) and d = b, or d + momentum·b with
 * Nesterov; the update is −lr·d.
 */
export function sgd(opts: SGDOptions): GradientTransformation {
  return buildSgd('sgd', opts);
}
