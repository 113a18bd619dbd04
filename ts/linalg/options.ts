/**
 * Option checking shared by the solvers and the linear-solve factories. Unknown option names are
 * rejected with the list of valid ones: TorchOpt forwards keyword arguments blindly, so a typo
 * (`tol` for `rtol`) silently changes nothing there.
 */
import { describe } from '../errors';
import { isTensor } from '../tensor/tensor';

/** A plain object of options with only `valid` keys (undefined values count as absent). */
export function checkOptions(fn: string, opts: unknown, valid: readonly string[]): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  const proto = typeof opts === 'object' ? Object.getPrototypeOf(opts) : undefined;
  if (typeof opts !== 'object' || Array.isArray(opts) || isTensor(opts) || (proto !== Object.prototype && proto !== null)) {
    throw new TypeError(`${fn}: argument 'options' must be an options object, got ${describe(opts)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (!valid.includes(k)) {
      throw new TypeError(`${fn}: unknown option '${k}'; valid options are ${valid.map((n) => `'${n}'`).join(', ')}`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function optionTypeError(fn: string, name: string, expected: string, given: unknown): TypeError {
  return new TypeError(`${fn}: option '${name}' must be ${expected}, got ${describe(given)}`);
}

function optionRangeError(fn: string, name: string, expected: string, given: unknown): RangeError {
  return new RangeError(`${fn}: option '${name}' must be ${expected}, got ${describe(given)}`);
}

/** A finite number >= 0, or `dflt` when absent. */
export function nonNegative(fn: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw optionTypeError(fn, name, 'a number', v);
  if (!Number.isFinite(v) || v < 0) throw optionRangeError(fn, name, 'a finite number >= 0', v);
  return v;
}

/** A finite number, or `dflt` when absent. */
export function finiteNumber(fn: string, name: string, v: unknown, dflt: number): number;
export function finiteNumber(fn: string, name: string, v: unknown, dflt?: number): number | undefined;
export function finiteNumber(fn: string, name: string, v: unknown, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw optionTypeError(fn, name, 'a number', v);
  if (!Number.isFinite(v)) throw optionRangeError(fn, name, 'a finite number', v);
  return v;
}

/** An integer >= 1, or undefined when absent (the solver then picks its default). */
export function positiveInt(fn: string, name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw optionTypeError(fn, name, 'a positive integer', v);
  if (v < 1) throw optionRangeError(fn, name, 'a positive integer (>= 1)', v);
  return v;
}

/** A boolean, or `dflt` when absent. */
export function boolean(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw optionTypeError(fn, name, 'a boolean', v);
  return v;
}

/** One of `choices`, or `dflt` when absent. */
export function oneOf<C extends string>(fn: string, name: string, v: unknown, choices: readonly C[], dflt: C): C {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw optionTypeError(fn, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
  }
  return v as C;
}

/** A function, or undefined when absent. */
export function callback<F>(fn: string, name: string, v: unknown): F | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw optionTypeError(fn, name, 'a function', v);
  return v as F;
}

/** A linear operator: a function or a matrix tree (its contents are checked when b is known). */
export function operatorOption(fn: string, name: string, v: unknown): unknown {
  if (v === undefined) return undefined;
  if (typeof v === 'function' || isTensor(v) || (typeof v === 'object' && v !== null)) return v;
  throw optionTypeError(fn, name, 'a function v -> A v, a matrix Tensor or a tree of matrices', v);
}

/** A tree (checked against b when the solve runs). */
export function treeOption(fn: string, name: string, v: unknown): unknown {
  if (v === undefined) return undefined;
  if (isTensor(v) || (typeof v === 'object' && v !== null)) return v;
  throw optionTypeError(fn, name, 'a Tensor or a tree of tensors', v);
}
