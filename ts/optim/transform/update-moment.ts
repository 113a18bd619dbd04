/** The moving moments shared by Adam, RMSProp and AdaGrad (TorchOpt's `update_moment`). */
import type { Tensor } from '../../tensor/tensor';
import type { Arith } from '../arith';

/**
 * decay·t + (1 − decay)·gᵒʳᵈᵉʳ for decay ≠ 1; t + gᵒʳᵈᵉʳ (a running sum, as AdaGrad's) for decay = 1.
 * `order` is 1 or 2.
 */
export function updateMoment(A: Arith, g: Tensor, t: Tensor, decay: number, order: 1 | 2): Tensor {
  if (decay === 1) return order === 2 ? A.addcmul(t, g, g) : A.add(t, g);
  const scaled = A.mul(t, decay);
  return order === 2 ? A.addcmul(scaled, g, g, 1 - decay) : A.add(scaled, g, 1 - decay);
}
