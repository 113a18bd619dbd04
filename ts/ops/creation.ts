/** Creation functions: tensor, zeros, ones, full, eye, arange, linspace, randn, rand. */
import { MetagradError, rangeError, typeError } from '../errors';
import { type DType, type TypedArray, allocate, dtypeOf, checkDtype, checkFloatDtype, getDefaultDtype, isDetached, isFloating } from '../tensor/dtype';
import { castInto, storedValue } from '../tensor/kernels/cast';
import { type Generator, getDefaultGenerator } from '../tensor/generator';
import { numelOf } from '../tensor/shape';
import { type NestedArray, Tensor } from '../tensor/tensor';
import { checkTensor } from './util';
import { activeVmaps, batchedOf, isBatched, randomLevels } from '../tensor/batched';
import { isPlainObject } from '../objects';
import { hostRead, markConstant } from '../tensor/trace';

/** Options accepted by creation functions. */
export interface TensorOptions {
  /** Element type (default: `getDefaultDtype()`). */
  dtype?: DType;
  /** Make the result a leaf that requires grad. */
  requiresGrad?: boolean;
  /** Shape, for flat typed-array data. */
  shape?: number[];
}

/** Options of random creation functions. */
export interface RandomOptions extends TensorOptions {
  /** Generator to draw from (default: the global one, seeded by `manualSeed`). */
  generator?: Generator;
}

const OPTION_KEYS: Record<string, readonly string[]> = {
  tensor: ['dtype', 'requiresGrad', 'shape'],
  randn: ['dtype', 'requiresGrad', 'generator'],
  rand: ['dtype', 'requiresGrad', 'generator'],
};

function resolve(fn: string, opts: TensorOptions | undefined): { dtype: DType; requiresGrad: boolean } {
  if (opts !== undefined && !isPlainObject(opts)) throw typeError(fn, 'options', 'an options object', opts);
  if (opts !== undefined) {
    const allowed = OPTION_KEYS[fn] ?? ['dtype', 'requiresGrad'];
    for (const k of Object.keys(opts)) {
      if (!allowed.includes(k)) {
        throw new TypeError(`${fn}: unknown option '${k}' (valid options: ${allowed.join(', ')})${k === 'shape' ? '; the shape is given by the size arguments' : ''}`);
      }
    }
  }
  const dtype = opts?.dtype === undefined ? getDefaultDtype() : checkDtype(fn, 'dtype', opts.dtype);
  const requiresGrad = opts?.requiresGrad ?? false;
  if (typeof requiresGrad !== 'boolean') throw typeError(fn, 'requiresGrad', 'a boolean', requiresGrad);
  return { dtype, requiresGrad };
}

/** Splits `(...shape, opts?)` or `([shape], opts?)` arguments. */
export function splitShapeArgs<O>(fn: string, args: unknown[]): [number[], O | undefined] {
  let opts: O | undefined;
  let rest = args;
  const last = args[args.length - 1];
  // Only a plain object is options: a typed array or a tensor in its place is a wrong size argument.
  if (args.length > 0 && isPlainObject(last)) {
    opts = last as O;
    rest = args.slice(0, -1);
  }
  const shape = rest.length === 1 && Array.isArray(rest[0]) ? (rest[0] as unknown[]) : rest;
  if (!shape.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0)) {
    throw typeError(fn, 'size', 'non-negative integers (as arguments or one array)', rest.length === 1 ? rest[0] : rest);
  }
  return [shape.slice() as number[], opts];
}

function make(data: TypedArray, shape: number[], requiresGrad: boolean): Tensor {
  // Values from JavaScript: constants of a jit recording (a random draw is recorded as a kernel).
  return new Tensor(markConstant(data), shape, requiresGrad);
}

/**
 * A tensor from a number, a boolean, nested arrays of them, or a typed array (copied; give
 * `opts.shape` for n-d): Float32Array/Float64Array, Int32Array (int32), or a Uint8Array (bool).
 * Without `opts.dtype`, numbers give the default float dtype and booleans give bool; with an
 * integer dtype, values are truncated toward zero (NaN, ±∞ and values out of range are refused).
 */
export function tensor(data: number | boolean | NestedArray | NestedBooleans | TypedArray, opts?: TensorOptions): Tensor {
  const fn = 'tensor';
  if (data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint8Array) {
    if (isDetached(data)) throw new TypeError(`${fn}: argument 'data' is a detached ${data.constructor.name} (its ArrayBuffer was transferred away)`);
    const { dtype, requiresGrad } = resolve(fn, { ...opts, dtype: opts?.dtype ?? dtypeOf(data) });
    const shape = shapeOption(fn, opts, [data.length], data.length);
    if (data instanceof Uint8Array) {
      const bad = data.findIndex((v) => v > 1);
      if (bad >= 0) throw new RangeError(`${fn}: a Uint8Array is read as bool values, which are 0 or 1; got ${data[bad]} at index ${bad} (give an Int32Array for integers)`);
    }
    const out = allocate(dtype, data.length, fn);
    castInto(fn, hostRead(fn, data), out);
    return make(out, shape, requiresGrad);
  }
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) shape.push(level.length);
  let first: unknown = data;
  while (Array.isArray(first)) first = first[0];
  // Booleans without a dtype make a bool tensor, as Python bools do in PyTorch.
  const { dtype, requiresGrad } = resolve(fn, opts?.dtype === undefined && typeof first === 'boolean' ? { ...opts, dtype: 'bool' } : opts);
  const store = (v: number): number => (isFloating(dtype) ? v : storedValue(fn, dtype, v));
  if (typeof data === 'number' || typeof data === 'boolean') {
    const out = allocate(dtype, 1);
    out[0] = store(Number(data));
    return make(out, shapeOption(fn, opts, [], 1), requiresGrad);
  }
  if (!Array.isArray(data)) throw typeError(fn, 'data', 'a number, a boolean, nested arrays of them, or a typed array', data);
  const out = allocate(dtype, numelOf(shape), fn);
  const kind = typeof first === 'boolean' ? 'boolean' : 'number';
  let k = 0;
  const walk = (x: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof x !== kind) throw typeError(fn, `data${path}`, `a ${kind} (like the first element)`, x);
      out[k++] = store(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw typeError(fn, `data${path}`, `an array of length ${shape[dim]} (nested arrays must be rectangular)`, x);
    }
    // An index loop, not forEach: forEach skips the holes of a sparse array ([, 1], new Array(3)).
    for (let i = 0; i < x.length; i++) {
      if (!(i in x)) throw new TypeError(`${fn}: argument 'data${path}' has a hole at index ${i} (a sparse array); every element must be a number`);
      walk(x[i], dim + 1, `${path}[${i}]`);
    }
  };
  walk(data, 0, '');
  return make(out, shapeOption(fn, opts, shape, out.length), requiresGrad);
}

/** Nested arrays of booleans (for bool tensors). */
export type NestedBooleans = boolean | NestedBooleans[];

/** `opts.shape` when given (its product must be `numel`), else `natural`. */
function shapeOption(fn: string, opts: TensorOptions | undefined, natural: number[], numel: number): number[] {
  const shape = opts?.shape;
  if (shape === undefined) return natural;
  if (!Array.isArray(shape) || !shape.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0) || numelOf(shape) !== numel) {
    throw rangeError(fn, 'shape', `non-negative integers with product ${numel} (the number of values given)`, shape);
  }
  return shape.slice();
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  const [s] = splitShapeArgs<TensorOptions>('full', [shape]);
  if (typeof value !== 'number') throw typeError('full', 'fillValue', 'a number', value);
  const { dtype, requiresGrad } = resolve('full', opts);
  return make(allocate(dtype, numelOf(s), 'full').fill(isFloating(dtype) ? value : storedValue('full', dtype, value)), s, requiresGrad);
}

/** Zeros: `zeros(2, 3)`, `zeros([2, 3], { dtype })`. */
export function zeros(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [shape, opts] = splitShapeArgs<TensorOptions>('zeros', args);
  const { dtype, requiresGrad } = resolve('zeros', opts);
  return make(allocate(dtype, numelOf(shape), 'zeros'), shape, requiresGrad);
}

/** Ones: `ones(2, 3)`, `ones([2, 3], { dtype })`. */
export function ones(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [shape, opts] = splitShapeArgs<TensorOptions>('ones', args);
  const { dtype, requiresGrad } = resolve('ones', opts);
  return make(allocate(dtype, numelOf(shape), 'ones').fill(1), shape, requiresGrad);
}

/** Zeros with the shape and dtype of `t`. */
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  checkTensor('zerosLike', 'input', t);
  if (isBatched(t)) return batchedOf(zerosLike(t.value, opts), t.levels);
  return zeros(t.shape, { dtype: t.dtype, ...opts });
}

/** Ones with the shape and dtype of `t`. */
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  checkTensor('onesLike', 'input', t);
  if (isBatched(t)) return batchedOf(onesLike(t.value, opts), t.levels);
  return ones(t.shape, { dtype: t.dtype, ...opts });
}

/** The n×n identity (or n×m with a second size). */
export function eye(n: number, m?: number | TensorOptions, opts?: TensorOptions): Tensor {
  if (m !== undefined && typeof m !== 'number' && !isPlainObject(m)) throw typeError('eye', 'm', 'a non-negative integer or an options object', m);
  const cols = typeof m === 'number' ? m : n;
  const o = m !== undefined && typeof m !== 'number' ? m : opts;
  if (!Number.isInteger(n) || n < 0) throw typeError('eye', 'n', 'a non-negative integer', n);
  if (!Number.isInteger(cols) || cols < 0) throw typeError('eye', 'm', 'a non-negative integer', m);
  const [shape] = splitShapeArgs<TensorOptions>('eye', [[n, cols]]);
  const { dtype, requiresGrad } = resolve('eye', o);
  const data = allocate(dtype, n * cols, 'eye');
  for (let i = 0; i < Math.min(n, cols); i++) data[i * cols + i] = 1;
  return make(data, shape, requiresGrad);
}

/** `arange(end)` or `arange(start, end, step = 1)`: values start, start+step, … below end. */
export function arange(start: number, end?: number | TensorOptions, step?: number | TensorOptions, opts?: TensorOptions): Tensor {
  const fn = 'arange';
  let s = 0;
  let e: number;
  let st = 1;
  let o = opts;
  if (typeof end !== 'number') {
    e = start;
    o = end;
  } else {
    s = start;
    e = end;
    if (typeof step === 'number') st = step;
    else o = step;
  }
  for (const [name, v] of [['start', s], ['end', e], ['step', st]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, name, 'a finite number', v);
  }
  if (st === 0) throw rangeError(fn, 'step', 'nonzero', st);
  const n = Math.max(0, Math.ceil((e - s) / st));
  const { dtype, requiresGrad } = resolve(fn, o);
  const data = allocate(dtype, n, fn);
  for (let i = 0; i < n; i++) data[i] = isFloating(dtype) ? s + i * st : storedValue(fn, dtype, s + i * st);
  return make(data, [n], requiresGrad);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  const { dtype: d, requiresGrad } = resolve('linspace', opts);
  const dtype = checkFloatDtype('linspace', 'dtype', d);
  if (!Number.isInteger(steps) || steps < 0) throw rangeError('linspace', 'steps', 'a non-negative integer', steps);
  const data = allocate(dtype, steps, 'linspace');
  const stepSize = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, like PyTorch, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + stepSize * i : end - stepSize * (steps - 1 - i);
  return make(data, [steps], requiresGrad);
}

/** Standard normal samples, PyTorch-compatible: `randn(20, 4)`, `randn([20, 4], { generator })`. */
export function randn(...args: (number | readonly number[] | RandomOptions)[]): Tensor {
  const [logical, opts] = splitShapeArgs<RandomOptions>('randn', args);
  const { dtype: d, requiresGrad } = resolve('randn', opts);
  const dtype = checkFloatDtype('randn', 'dtype', d);
  // Inside vmap, members drawing independently get a leading dimension each.
  const per = activeVmaps().length > 0 ? randomLevels('randn') : { levels: [], sizes: [] };
  const shape = [...per.sizes, ...logical];
  const data = allocate(dtype, numelOf(shape), 'randn');
  (opts?.generator ?? getDefaultGenerator()).fillNormal(data, 0, 1);
  return batchedOf(make(data, shape, requiresGrad), per.levels);
}

/** Uniform samples in [0, 1), PyTorch-compatible. */
export function rand(...args: (number | readonly number[] | RandomOptions)[]): Tensor {
  const [logical, opts] = splitShapeArgs<RandomOptions>('rand', args);
  const { dtype: d, requiresGrad } = resolve('rand', opts);
  const dtype = checkFloatDtype('rand', 'dtype', d);
  // Inside vmap, members drawing independently get a leading dimension each.
  const per = activeVmaps().length > 0 ? randomLevels('rand') : { levels: [], sizes: [] };
  const shape = [...per.sizes, ...logical];
  const data = allocate(dtype, numelOf(shape), 'rand');
  (opts?.generator ?? getDefaultGenerator()).fillUniform(data, 0, 1);
  return batchedOf(make(data, shape, requiresGrad), per.levels);
}

/** A random permutation of 0…n−1 (Fisher–Yates on the generator's float64 uniforms; not PyTorch's randperm stream). */
export function randperm(n: number, opts?: RandomOptions): number[] {
  if (!Number.isInteger(n) || n < 0) throw rangeError('randperm', 'n', 'a non-negative integer', n);
  if (activeVmaps().length > 0 && randomLevels('randperm').levels.length > 0) {
    throw new MetagradError("randperm: inside vmap with randomness 'different' each member would need its own permutation, which a number[] cannot hold; draw it outside vmap or use randomness 'same'");
  }
  const gen = opts?.generator ?? getDefaultGenerator();
  // Fisher–Yates driven by float64 uniforms from the generator (not PyTorch's randperm stream).
  const u = new Float64Array(n);
  gen.fillUniform(u, 0, 1);
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
