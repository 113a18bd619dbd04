/** Parsers of option values: each rejects bad input with a message that says what was expected. */
import { InvalidArgumentError } from 'commander';

/** An integer ≥ `min`. */
export function intArg(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** A finite number > 0 (or ≥ 0 when `allowZero`). */
export function positiveArg(allowZero = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`expected a number ${allowZero ? '>= 0' : '> 0'}, got '${value}'`);
    }
    return n;
  };
}

/** A comma-separated list of integers ≥ 1, e.g. `40,40`. */
export function intListArg(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((s) => s === '') || !out.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new InvalidArgumentError(`expected comma-separated integers >= 1 (e.g. 40,40), got '${value}'`);
  }
  return out;
}
