/** Dtype conversion (differentiable between floating dtypes: the gradient is cast back). */
import { record } from '../autograd/node';
import { type DType, allocate, checkDtype, isFloating } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { checkTensor, wrap } from './util';
import { castInto } from '../tensor/kernels/cast';
import { batchedOf, isBatched } from '../tensor/batched';

/**
 * Returns `a` converted to `dtype` (the same tensor when it already has that dtype). To an
 * integer dtype values are truncated toward zero (NaN and ±∞ are refused); to bool, nonzero
 * becomes 1. A conversion to or from a non-floating dtype is not differentiable, as in PyTorch.
 */
export function to(a: Tensor, dtype: DType): Tensor {
  checkTensor('to', 'input', a);
  checkDtype('to', 'dtype', dtype);
  if (a.dtype === dtype) return a;
  if (isBatched(a)) return batchedOf(to(a.value, dtype), a.levels);
  const data = allocate(dtype, a.numel, 'to');
  castInto('to', a.data, data);
  const out = wrap(data, a.shape);
  if (!isFloating(dtype) || !isFloating(a.dtype)) return out;
  return record('ToCopyBackward0', [a], out, (g) => [to(g, a.dtype)]);
}

/**
 * `a`'s values stored as `dtype` when the caller knows each is one `dtype` holds exactly (an
 * integer computed in float64, a 0/1 mask): no autograd, and recordable by `mg.jit` for any pair
 * of dtypes. @internal
 */
export function castExact(a: Tensor, dtype: DType): Tensor {
  if (a.dtype === dtype) return a;
  if (isBatched(a)) return batchedOf(castExact(a.value, dtype), a.levels);
  const data = allocate(dtype, a.numel, 'to');
  castInto('to', a.data, data, true);
  return wrap(data, a.shape);
}
