/**
 * `mg.nn.utils`: gradient clipping (PyTorch's `torch.nn.utils.clip_grad_norm_` and
 * `clip_grad_value_`), in place on the parameters' `.grad`.
 *
 * @module
 */
import { noGrad } from '../autograd/grad-mode';
import { NumericalError, typeError } from '../errors';
import { abs, clamp, mul, pow } from '../ops/elementwise';
import { copy_ } from '../ops/inplace';
import { max, sum } from '../ops/reduce';
import { scalarOf } from '../ops/util';
import { type Tensor, isTensor } from '../tensor/tensor';
import { flatten } from '../tree/tree';

/** Options of {@link clipGradNorm_}. */
export interface ClipGradNormOptions {
  /** The p of the p-norm over all gradients together (default 2; Infinity for the max norm). */
  normType?: number;
  /** Raise when the total norm is NaN or infinite (default false, as PyTorch). */
  errorIfNonfinite?: boolean;
}

/** The tensors of `parameters` (a tensor, an iterable or a tree of them). */
function paramsOf(fn: string, parameters: unknown): Tensor[] {
  if (isTensor(parameters)) return [parameters];
  if (parameters !== null && typeof parameters === 'object' && Symbol.iterator in parameters && !Array.isArray(parameters)) return [...(parameters as Iterable<Tensor>)];
  const ps = flatten(parameters)[0];
  if (ps.length === 0 && !(Array.isArray(parameters) && parameters.length === 0)) throw typeError(fn, 'parameters', 'tensors (a Tensor, an array or a tree of them)', parameters);
  return ps;
}

/**
 * Scales every `.grad` by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the p-norm of all the
 * gradients together; returns that total norm (a 0-d tensor). Parameters without a gradient are
 * skipped.
 */
export function clipGradNorm_(parameters: Tensor | Iterable<Tensor> | unknown, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const fn = 'nn.utils.clipGradNorm_';
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw typeError(fn, 'maxNorm', 'a non-negative number', maxNorm);
  const p = opts.normType ?? 2;
  if (typeof p !== 'number' || !(p > 0)) throw typeError(fn, 'normType', 'a positive number or Infinity', p);
  const grads = paramsOf(fn, parameters).map((t) => t.grad).filter((g): g is Tensor => g !== null);
  return noGrad(() => {
    if (grads.length === 0) return scalarOf(0, 'float32');
    const dtype = grads.some((g) => g.dtype === 'float64') ? 'float64' : 'float32';
    let total: number;
    if (p === Infinity) {
      total = Math.max(...grads.map((g) => (g.numel === 0 ? 0 : max(abs(g)).item())));
    } else {
      let acc = 0;
      for (const g of grads) acc += sum(pow(abs(g), p)).item();
      total = acc ** (1 / p);
    }
    if (opts.errorIfNonfinite && !Number.isFinite(total)) {
      throw new NumericalError(`${fn}: the total norm of the gradients is ${total}; the gradients cannot be clipped (errorIfNonfinite is set)`);
    }
    const coef = Math.min(1, maxNorm / (total + 1e-6));
    if (coef < 1) for (const g of grads) copy_(g, mul(g, coef));
    return scalarOf(total, dtype);
  });
}

/** Clamps every `.grad` into [−clipValue, clipValue] in place. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor> | unknown, clipValue: number): void {
  const fn = 'nn.utils.clipGradValue_';
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw typeError(fn, 'clipValue', 'a non-negative number', clipValue);
  noGrad(() => {
    for (const t of paramsOf(fn, parameters)) if (t.grad !== null) copy_(t.grad, clamp(t.grad, -clipValue, clipValue));
  });
}
