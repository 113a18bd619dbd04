/** Argument checking and small constructors shared by the ops. */
import { typeError } from '../errors';
import { type DType, type TypedArray, allocate, getDefaultDtype, isFloating, promoteTypes } from '../tensor/dtype';
import { storedValue } from '../tensor/kernels/cast';
import { Tensor, type TensorLike, checkAttached, isTensor } from '../tensor/tensor';
import { markConstant } from '../tensor/trace';

/** A new tensor over `data` (not copied). */
export function wrap(data: TypedArray, shape: readonly number[]): Tensor {
  return new Tensor(data, shape);
}

/** A zero-filled tensor. */
export function zerosOf(shape: readonly number[], dtype: DType): Tensor {
  let n = 1;
  for (const s of shape) n *= s;
  return new Tensor(allocate(dtype, n), shape);
}

/** A 0-d tensor holding `value`. */
export function scalarOf(value: number, dtype: DType): Tensor {
  const d = allocate(dtype, 1);
  d[0] = isFloating(dtype) ? value : storedValue('scalar', dtype, value);
  return new Tensor(markConstant(d), []);
}

/** Throws unless `x` is a Tensor whose buffer is attached. */
export function checkTensor(fn: string, arg: string, x: unknown): Tensor {
  if (!isTensor(x)) throw typeError(fn, arg, 'a Tensor', x);
  return checkAttached(fn, arg, x);
}

/** Accepts a Tensor or a finite-or-not number (numbers become 0-d tensors of `dtype`). */
export function toTensor(fn: string, arg: string, x: unknown, dtype: DType): Tensor {
  if (isTensor(x)) return checkAttached(fn, arg, x);
  if (typeof x === 'number') return scalarOf(x, dtype);
  throw typeError(fn, arg, 'a Tensor or a number', x);
}

/**
 * The dtype of a tensor combined with a plain number, PyTorch's rule for a Python scalar: a
 * floating tensor keeps its dtype; an integer or bool tensor with a non-integer number goes to
 * the default float dtype; a bool tensor with an integer number goes to int64.
 */
function withNumber(d: DType, v: number): DType {
  if (isFloating(d)) return d;
  if (!Number.isInteger(v)) return getDefaultDtype();
  return d === 'bool' ? 'int64' : d;
}

/**
 * The two operands of a binary op as tensors of one dtype: two tensors promote as in PyTorch
 * (bool < int32 < int64 < float32 < float64, through a differentiable cast between floats); a
 * number takes the tensor's dtype (see {@link withNumber}).
 */
export function binaryOperands(fn: string, a: TensorLike, b: TensorLike, cast: (t: Tensor, d: DType) => Tensor): [Tensor, Tensor] {
  const da = isTensor(a) ? a.dtype : null;
  const db = isTensor(b) ? b.dtype : null;
  const dtype =
    da && db ? promoteTypes(da, db)
    : da ? (typeof b === 'number' ? withNumber(da, b) : da)
    : db ? (typeof a === 'number' ? withNumber(db, a) : db)
    : getDefaultDtype();
  let x = toTensor(fn, 'input', a, dtype);
  let y = toTensor(fn, 'other', b, dtype);
  if (x.dtype !== dtype) x = cast(x, dtype);
  if (y.dtype !== dtype) y = cast(y, dtype);
  return [x, y];
}
