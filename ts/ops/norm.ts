/**
 * Vector norms (PyTorch's `linalg.vector_norm` and `norm`): ord 2 as one recorded node whose
 * gradient x/‖x‖ is 0 at x = 0 (PyTorch's rule; the composite √Σx² would give NaN there), other
 * orders composed from abs, pow, sum and max (ties of the ∞-norm share the gradient evenly).
 */
import { requireFloating } from '../tensor/dtype';
import { record } from '../autograd/node';
import { typeError } from '../errors';
import { abs, div, eqMask, mul, pow, sqrt, square, where } from './elementwise';
import { broadcastTo } from './broadcast';
import { type Dims, max, sum } from './reduce';
import { detach } from './inplace';
import { reshape } from './shape';
import { normalizeDim } from '../tensor/shape';
import { isBatched, batchedOf } from '../tensor/batched';
import type { Tensor } from '../tensor/tensor';
import { checkTensor } from './util';

/** Options of {@link vectorNorm}. */
export interface VectorNormOptions {
  /** Dims to reduce (default: all, the tensor as one vector). */
  dim?: Dims;
  /** Keep the reduced dims with size 1. */
  keepdim?: boolean;
}

/** The reduced dims' kept shape. */
function keptShapeOf(fn: string, a: Tensor, dim: Dims): number[] {
  if (dim === undefined) return a.shape.map(() => 1);
  const dims = (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(fn, d, a.ndim));
  return a.shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** ‖a‖₂ over `dim` with a zero gradient at zero. */
function norm2(a: Tensor, dim: Dims, keepdim: boolean): Tensor {
  if (isBatched(a)) {
    const dims = dim === undefined ? [...Array(a.ndim).keys()] : (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim('vectorNorm', d, a.ndim));
    return batchedOf(norm2(a.value, dims.map((d) => d + a.levels.length), keepdim), a.levels);
  }
  const kept = keptShapeOf('vectorNorm', a, dim);
  const value = sqrt(sum(square(detach(a)), dim, keepdim));
  return record('LinalgVectorNormBackward0', [a], value, (g) => {
    const n = reshape(value, kept);
    // Reads the connected output, so the second derivative is exact too.
    return [mul(a, where(eqMask(n, 0), 0, div(broadcastTo(reshape(g, kept), a.shape), n)))];
  }, [a]);
}

/**
 * The `ord`-norm of `a` over `dim` (all elements when omitted): 2 (default), 1, Infinity,
 * −Infinity (min |x|), 0 (count of non-zeros, not differentiable) or any p > 0.
 */
export function vectorNorm(a: Tensor, ord = 2, opts: VectorNormOptions = {}): Tensor {
  checkTensor('vectorNorm', 'input', a);
  requireFloating('vectorNorm', 'input', a.dtype);
  if (typeof ord !== 'number' || Number.isNaN(ord) || (ord < 0 && ord !== -Infinity)) throw typeError('vectorNorm', 'ord', 'a number >= 0, Infinity or -Infinity', ord);
  const { dim, keepdim = false } = opts;
  if (ord === 2) return norm2(a, dim, keepdim);
  const x = abs(a);
  if (ord === 1) return sum(x, dim, keepdim);
  if (ord === 0) return sum(detach(where(eqMask(a, 0), 0, 1)), dim, keepdim);
  if (ord === Infinity || ord === -Infinity) {
    if (dim === undefined) {
      const m = ord === Infinity ? max(x) : max(mul(x, -1));
      const v = ord === Infinity ? m : mul(m, -1);
      return keepdim ? reshape(v, a.shape.map(() => 1)) : v;
    }
    const dims = Array.isArray(dim) ? dim : [dim];
    if (dims.length !== 1) throw new RangeError('vectorNorm: the ∞-norm over several dims at once is not supported; reduce one dim at a time');
    const r = ord === Infinity ? max(x, dims[0], keepdim).values : mul(max(mul(x, -1), dims[0], keepdim).values, -1);
    return r;
  }
  return pow(sum(pow(x, ord), dim, keepdim), 1 / ord);
}

/** PyTorch's `norm(input, p = 'fro', dim)`: the Frobenius / 2-norm, or the p-norm ({@link vectorNorm}). */
export function norm(a: Tensor, p: number | 'fro' = 'fro', dim?: Dims, keepdim = false): Tensor {
  return vectorNorm(a, p === 'fro' ? 2 : p, { dim, keepdim });
}
