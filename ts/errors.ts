/**
 * Error types and message helpers shared by every layer. Messages name the function, the
 * argument, what was expected and what was given.
 */

/** Base class of metagrad's own errors that are not plain argument errors (e.g. numerical failures). */
export class MetagradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetagradError';
  }
}

/** Raised when a numerical procedure fails: non-convergence, breakdown, non-finite values, singular systems. */
export class NumericalError extends MetagradError {
  constructor(message: string) {
    super(message);
    this.name = 'NumericalError';
  }
}

/**
 * Raised when a differentiation is asked of tensors that were not recorded (no gradFn, or an input
 * that does not require grad), e.g. because the computation ran with gradient recording off.
 */
export class NoGraphError extends MetagradError {
  constructor(message: string) {
    super(message);
    this.name = 'NoGraphError';
  }
}

/** Short, readable description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) {
    const inner = value.slice(0, 6).map(describe).join(', ');
    return `[${inner}${value.length > 6 ? ', …' : ''}]`;
  }
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
    if (ctor === 'Tensor' || ctor === 'Parameter') {
      const t = value as { shape: number[]; dtype: string };
      return `${ctor} of shape [${t.shape.join(', ')}] (${t.dtype})`;
    }
    return ctor && ctor !== 'Object' ? ctor : 'object';
  }
  return typeof value;
}

/** A TypeError in the house format: `fn: argument 'arg' must be EXPECTED, got GIVEN`. */
export function typeError(fn: string, arg: string, expected: string, given: unknown): TypeError {
  return new TypeError(`${fn}: argument '${arg}' must be ${expected}, got ${describe(given)}`);
}

/** A RangeError in the house format. */
export function rangeError(fn: string, arg: string, expected: string, given: unknown): RangeError {
  return new RangeError(`${fn}: argument '${arg}' must be ${expected}, got ${describe(given)}`);
}

/** Throws a typeError unless `value` is an integer. */
export function checkInt(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(fn, arg, 'an integer', value);
  return value;
}

/** Throws unless `value` is a finite number. */
export function checkFinite(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(fn, arg, 'a finite number', value);
  return value;
}
