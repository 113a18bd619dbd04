/**
 * Variance and standard deviation over dims with Bessel's correction (PyTorch's `var`/`std`
 * with `correction`), built from mean, sub, square and sum, so every order of derivative and vmap
 * come from those primitives.
 */
import { requireFloating } from '../tensor/dtype';
import { typeError } from '../errors';
import { div, sqrt, square, sub } from './elementwise';
import { type Dims, mean, sum } from './reduce';
import { normalizeDim } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { checkTensor } from './util';

/** Options of {@link var_} and {@link std}. */
export interface VarOptions {
  /** Subtracted from the number of elements in the divisor (default 1: the unbiased estimate). */
  correction?: number;
  /** Keep the reduced dims with size 1. */
  keepdim?: boolean;
}

/** Number of elements reduced over `dim`. */
function countOver(fn: string, a: Tensor, dim: Dims): number {
  if (dim === undefined) return a.numel;
  const dims = Array.isArray(dim) ? dim : [dim];
  return dims.reduce((c, d) => c * (a.ndim === 0 ? 1 : a.shape[normalizeDim(fn, d, a.ndim)]), 1);
}

/**
 * Σ (a − mean)² / (N − correction) over `dim` (all dims when omitted). N − correction ≤ 0 gives
 * inf or NaN, as in PyTorch. Exported as `mg.var`.
 */
export function var_(a: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  checkTensor('var', 'input', a);
  requireFloating('var', 'input', a.dtype);
  const correction = opts.correction ?? 1;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) throw typeError('var', 'correction', 'a finite number', correction);
  const n = countOver('var', a, dim);
  const centred = sub(a, mean(a, dim, true));
  return div(sum(square(centred), dim, opts.keepdim ?? false), n - correction);
}

/** √var over `dim`; see {@link var_}. */
export function std(a: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  checkTensor('std', 'input', a);
  requireFloating('std', 'input', a.dtype);
  return sqrt(var_(a, dim, opts));
}
