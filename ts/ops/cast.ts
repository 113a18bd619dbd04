/** Dtype conversion (differentiable: the gradient is cast back). */
import { record } from '../autograd/node';
import { type DType, allocate, checkDtype } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { checkTensor, wrap } from './util';
import { copyInto } from '../tensor/kernels/layout';
import { batchedOf, isBatched } from '../tensor/batched';

/** Returns `a` converted to `dtype` (the same tensor when it already has that dtype). */
export function to(a: Tensor, dtype: DType): Tensor {
  checkTensor('to', 'input', a);
  checkDtype('to', 'dtype', dtype);
  if (a.dtype === dtype) return a;
  if (isBatched(a)) return batchedOf(to(a.value, dtype), a.levels);
  const data = allocate(dtype, a.numel, 'to');
  copyInto(a.data, data);
  return record('ToCopyBackward0', [a], wrap(data, a.shape), (g) => [to(g, a.dtype)]);
}
