/** Initial state tensors. */
import { full } from '../../ops/creation';
import type { Leaf } from '../types';

/** A tensor shaped like `p` filled with `value` (null stays null); optionally a leaf that requires grad. */
export function fullLike(p: Leaf, value: number, requiresGrad = false): Leaf {
  return p === null ? null : full(p.shape, value, { dtype: p.dtype, requiresGrad });
}
