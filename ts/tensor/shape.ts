/** Shape arithmetic: sizes, strides, broadcasting and dimension normalisation. */
import { describe, rangeError, typeError } from '../errors';

/** Number of elements of a shape. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major contiguous strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Formats a shape as `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Element-wise equality of shapes. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Validates a shape: an array of non-negative integers. */
export function checkShape(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0)) {
    throw typeError(fn, arg, 'an array of non-negative integers', shape);
  }
  return shape.slice() as number[];
}

/** NumPy broadcasting of two shapes; throws naming `fn` when incompatible. */
export function broadcastShapes(fn: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${fn}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Element strides that read a tensor of `shape` as if broadcast to `outShape` (0 on broadcast dims).
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  const out = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) out[i + off] = shape[i] === 1 && outShape[i + off] !== 1 ? 0 : own[i];
  return out;
}

/** Normalises a possibly negative dim into [0, ndim). */
export function normalizeDim(fn: string, dim: unknown, ndim: number): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw typeError(fn, 'dim', 'an integer', dim);
  if (dim < lo || dim > hi) {
    throw rangeError(fn, 'dim', `in the range [${lo}, ${hi}] for a tensor with ${ndim} dimension(s)`, dim);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/**
 * Resolves a target shape that may contain one -1 against `numel` (reshape/view semantics).
 */
export function inferShape(fn: string, shape: readonly number[], numel: number, from: readonly number[]): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < -1) {
      throw typeError(fn, 'shape', 'integers >= -1', shape);
    }
    if (s === -1) {
      if (infer >= 0) throw new RangeError(`${fn}: only one dimension can be -1, got shape ${describe(shape)}`);
      infer = i;
    } else known *= s;
  }
  const out = shape.slice();
  if (infer >= 0) {
    if (known === 0 || numel % known !== 0) {
      throw new RangeError(`${fn}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${numel} elements)`);
    }
    out[infer] = numel / known;
  } else if (known !== numel) {
    throw new RangeError(`${fn}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${numel} elements)`);
  }
  return out;
}
