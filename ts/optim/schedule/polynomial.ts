/** Polynomial and linear transitions of a hyperparameter (TorchOpt's `schedule.polynomial_schedule`, `linear_schedule`). */
import { rangeError, typeError } from '../../errors';
import { finite, readOptions } from '../options';

/** Options of {@link polynomial}. */
export interface PolynomialOptions {
  /** Value up to `transitionBegin`. */
  initValue: number;
  /** Value from `transitionBegin + transitionSteps` on. */
  endValue: number;
  /** Power of the polynomial (1 is linear). */
  power: number;
  /** Length of the transition; <= 0 gives a constant schedule at initValue (as TorchOpt). */
  transitionSteps: number;
  /** Counts before the transition starts (default 0, must be >= 0). */
  transitionBegin?: number;
}

/** Options of {@link linear}. */
export type LinearOptions = Omit<PolynomialOptions, 'power'>;

function required(fn: string, o: Record<string, unknown>, name: string): number {
  if (o[name] === undefined) throw typeError(fn, name, 'a finite number', undefined);
  return finite(fn, name, o[name], 0);
}

function make(fn: string, opts: unknown, withPower: boolean): (count: number) => number {
  const names = ['initValue', 'endValue', 'transitionSteps', 'transitionBegin'];
  const o = readOptions(fn, opts, withPower ? [...names, 'power'] : names, true);
  const initValue = required(fn, o, 'initValue');
  const endValue = required(fn, o, 'endValue');
  const power = withPower ? required(fn, o, 'power') : 1;
  const transitionSteps = required(fn, o, 'transitionSteps');
  const transitionBegin = finite(fn, 'transitionBegin', o.transitionBegin, 0);
  if (transitionBegin < 0) throw rangeError(fn, 'transitionBegin', '>= 0', transitionBegin);
  if (transitionSteps <= 0) return () => initValue;
  return (count: number): number => {
    const c = Math.min(Math.max(count - transitionBegin, 0), transitionSteps);
    const frac = 1 - c / transitionSteps;
    return (initValue - endValue) * frac ** power + endValue;
  };
}

/** count ↦ (initValue − endValue)·(1 − c/transitionSteps)^power + endValue, c = count − transitionBegin clipped to [0, transitionSteps]. */
export function polynomial(opts: PolynomialOptions): (count: number) => number {
  return make('schedule.polynomial', opts, true);
}

/** {@link polynomial} with power 1: a straight line from initValue to endValue. */
export function linear(opts: LinearOptions): (count: number) => number {
  return make('schedule.linear', opts, false);
}
