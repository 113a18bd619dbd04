/**
 * Checking optimizer options: unknown names, and hyperparameters outside their ranges, raise
 * errors naming the function, the option, what was expected and what was given.
 */
import { rangeError, typeError } from '../errors';
import { isTensor } from '../tensor/tensor';
import type { Scalar, ScalarOrSchedule } from './types';
import { isTraced } from '../tensor/trace';

/** The options object as a record, after rejecting names not in `allowed`. */
export function readOptions(fn: string, opts: unknown, allowed: readonly string[], required = false): Record<string, unknown> {
  if (opts === undefined && !required) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw typeError(fn, 'opts', `an options object { ${allowed.join(', ')} }`, opts);
  }
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new TypeError(`${fn}: unknown option '${k}'; the options are ${allowed.join(', ')}`);
  }
  return opts as Record<string, unknown>;
}

/** A finite number >= 0 (or `def` when undefined). */
export function nonNegative(fn: string, name: string, value: unknown, def: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number') throw typeError(fn, name, 'a non-negative number', value);
  if (!(value >= 0) || !Number.isFinite(value)) throw rangeError(fn, name, 'a finite number >= 0', value);
  return value;
}

/** A number in [0, 1) (or `def` when undefined). */
export function unitInterval(fn: string, name: string, value: unknown, def: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number') throw typeError(fn, name, 'a number in [0, 1)', value);
  if (!(value >= 0 && value < 1)) throw rangeError(fn, name, 'in [0, 1)', value);
  return value;
}

/** A finite number (or `def` when undefined). */
export function finite(fn: string, name: string, value: unknown, def: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(fn, name, 'a finite number', value);
  return value;
}

/** A boolean (or `def` when undefined). */
export function bool(fn: string, name: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw typeError(fn, name, 'a boolean', value);
  return value;
}

/** Adam's betas: two numbers in [0, 1). */
export function betas(fn: string, value: unknown, def: [number, number]): [number, number] {
  if (value === undefined) return def;
  if (!Array.isArray(value) || value.length !== 2) throw typeError(fn, 'betas', 'a pair [beta1, beta2]', value);
  return [unitInterval(fn, 'betas[0]', value[0], def[0]), unitInterval(fn, 'betas[1]', value[1], def[1])];
}

/** A scalar hyperparameter: a number >= 0 or a one-element tensor holding one. */
export function scalar(fn: string, name: string, value: unknown): Scalar {
  if (isTensor(value)) {
    if (value.numel !== 1) throw rangeError(fn, name, 'a one-element tensor', value);
    // (A value the jit trace receives is only known at replay: not checkable here.)
    if (!isTraced(value.data) && !(value.data[0] >= 0)) throw rangeError(fn, name, 'a tensor holding a value >= 0', value.data[0]);
    return value;
  }
  return nonNegative(fn, name, value, 0);
}

/** A learning rate: a number >= 0, a one-element tensor, or a schedule function; `def` when undefined (required when `def` is undefined). */
export function learningRate(fn: string, value: unknown, def?: number): ScalarOrSchedule {
  if (value === undefined) {
    if (def === undefined) throw typeError(fn, 'lr', 'a learning rate (a number >= 0, a one-element tensor or a schedule)', value);
    return def;
  }
  if (typeof value === 'function') return value as ScalarOrSchedule;
  if (typeof value !== 'number' && !isTensor(value)) {
    throw typeError(fn, 'lr', 'a number >= 0, a one-element tensor or a schedule function', value);
  }
  return scalar(fn, 'lr', value);
}
