/** Exponential decay of a hyperparameter (TorchOpt's `schedule.exponential_decay`). */
import { rangeError, typeError } from '../../errors';
import { bool, finite, readOptions } from '../options';

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayOptions {
  /** Value at count 0. */
  initValue: number;
  /** Factor applied per `transitionSteps` counts; 0 gives a constant schedule (as TorchOpt). */
  decayRate: number;
  /** Counts before the decay starts (default 0, must be >= 0). */
  transitionBegin?: number;
  /** Counts per factor of `decayRate` (default 1); <= 0 gives a constant schedule (as TorchOpt). */
  transitionSteps?: number;
  /** Decay in whole steps of `transitionSteps` (default false). */
  staircase?: boolean;
  /** Bound the value never passes (a floor when decayRate < 1, a ceiling otherwise). */
  endValue?: number;
}

/**
 * count ↦ initValue · decayRate^((count − transitionBegin) / transitionSteps) after
 * `transitionBegin` counts (initValue before), the exponent floored with `staircase`, and clipped
 * at `endValue` when given.
 */
export function exponentialDecay(opts: ExponentialDecayOptions): (count: number) => number {
  const fn = 'schedule.exponentialDecay';
  const o = readOptions(fn, opts, ['initValue', 'decayRate', 'transitionBegin', 'transitionSteps', 'staircase', 'endValue'], true);
  if (o.initValue === undefined) throw typeError(fn, 'initValue', 'a finite number', undefined);
  if (o.decayRate === undefined) throw typeError(fn, 'decayRate', 'a finite number', undefined);
  const initValue = finite(fn, 'initValue', o.initValue, 0);
  const decayRate = finite(fn, 'decayRate', o.decayRate, 0);
  const transitionBegin = finite(fn, 'transitionBegin', o.transitionBegin, 0);
  const transitionSteps = finite(fn, 'transitionSteps', o.transitionSteps, 1);
  const staircase = bool(fn, 'staircase', o.staircase, false);
  const endValue = o.endValue === undefined ? undefined : finite(fn, 'endValue', o.endValue, 0);
  if (transitionBegin < 0) throw rangeError(fn, 'transitionBegin', '>= 0', transitionBegin);
  if (transitionSteps <= 0 || decayRate === 0) return () => initValue;
  const clip = decayRate < 1 ? Math.max : Math.min;
  return (count: number): number => {
    const decreased = count - transitionBegin;
    let p = decreased / transitionSteps;
    if (staircase) p = Math.floor(p);
    const value = decreased <= 0 ? initValue : initValue * decayRate ** p;
    return endValue === undefined ? value : clip(value, endValue);
  };
}
