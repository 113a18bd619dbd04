/** `nn.Parameter`: the tensor type that marks a module attribute as a trainable parameter. */
import { typeError } from '../errors';
import { getDefaultDtype, allocate } from '../tensor/dtype';
import { Tensor, isTensor } from '../tensor/tensor';

/**
 * A leaf tensor that requires grad (by default) and is registered as a parameter when assigned to
 * a module property. Like PyTorch, it shares the data (and version counter) of the tensor it wraps;
 * a non-leaf is detached first, so a Parameter is always a leaf.
 */
export class Parameter extends Tensor {
  /**
   * @param data - the values to wrap (shared, not copied); an empty float tensor when omitted.
   * @param requiresGrad - whether the parameter requires grad (default true).
   */
  constructor(data?: Tensor, requiresGrad = true) {
    if (data !== undefined && !isTensor(data)) throw typeError('Parameter', 'data', 'a Tensor', data);
    if (typeof requiresGrad !== 'boolean') throw typeError('Parameter', 'requiresGrad', 'a boolean', requiresGrad);
    const src = data ?? new Tensor(allocate(getDefaultDtype(), 0), [0]);
    // Sharing the version counter keeps in-place checks valid across the two views of the data.
    super(src.data, src.shape, requiresGrad, src._version);
  }

  /** PyTorch's representation: `Parameter containing:\ntensor(…, requires_grad=True)`. */
  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

/** True for {@link Parameter} instances. */
export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}
