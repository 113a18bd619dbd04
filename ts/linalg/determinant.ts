/**
 * `inv`, `det` and `slogdet` of a square matrix. inv is a dense solve against the identity (so it
 * inherits solve's exact derivatives); det and slogdet factorise by LU with partial pivoting on
 * the host, and their backward rules are written with inv and the connected outputs
 * (∂det/∂A = det·A⁻ᵀ, ∂log|det|/∂A = A⁻ᵀ), so higher orders are exact too. The backward of a
 * singular matrix raises (its inverse does not exist).
 */
import { record } from '../autograd/node';
import { describe } from '../errors';
import { eye } from '../ops/creation';
import { mul } from '../ops/elementwise';
import { t as transpose2d } from '../ops/shape';
import { scalarOf } from '../ops/util';
import { isBatched } from '../tensor/batched';
import { fmtShape } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { solve } from './solve';

function square(fn: string, A: unknown): Tensor {
  if (!isTensor(A)) throw new TypeError(`${fn}: argument 'A' must be a Tensor, got ${describe(A)}`);
  if (isBatched(A)) throw new TypeError(`${fn}: a matrix batched by vmap is not supported yet; loop over the members`);
  if (A.ndim !== 2 || A.shape[0] !== A.shape[1]) throw new RangeError(`${fn}: A must be a square matrix, got shape ${fmtShape(A.shape)}`);
  return A;
}

/** sign(det A) and log|det A| by LU with partial pivoting (float64 on the host). */
function luLogDet(A: Tensor): [number, number] {
  const n = A.shape[0];
  const a = Float64Array.from(hostRead('linalg.det', A.data));
  let sign = 1;
  let logAbs = 0;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[piv * n + c])) piv = r;
    if (a[piv * n + c] === 0 || Number.isNaN(a[piv * n + c])) return [Number.isNaN(a[piv * n + c]) ? Number.NaN : 0, Number.isNaN(a[piv * n + c]) ? Number.NaN : Number.NEGATIVE_INFINITY];
    if (piv !== c) {
      for (let k = 0; k < n; k++) [a[c * n + k], a[piv * n + k]] = [a[piv * n + k], a[c * n + k]];
      sign = -sign;
    }
    const p = a[c * n + c];
    if (p < 0) sign = -sign;
    logAbs += Math.log(Math.abs(p));
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / p;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return [sign, logAbs];
}

/** A⁻¹ (a dense LU solve against the identity). @throws NumericalError when A is singular. */
export function inv(A: Tensor): Tensor {
  const a = square('linalg.inv', A);
  return solve(a, eye(a.shape[0], { dtype: a.dtype }));
}

/** det A, differentiable (∂/∂A = det·A⁻ᵀ). */
export function det(A: Tensor): Tensor {
  const a = square('linalg.det', A);
  const [sign, logAbs] = luLogDet(a);
  const out = scalarOf(sign * Math.exp(logAbs), a.dtype);
  return record('LinalgDetBackward0', [a], out, (g) => [mul(mul(g, out), transpose2d(inv(a)))], [a]);
}

/** The result of {@link slogdet}. */
export interface SignLogDet {
  /** sign(det A): 1, −1 or 0. */
  sign: Tensor;
  /** log |det A| (−∞ for a singular matrix). */
  logabsdet: Tensor;
}

/** sign(det A) and log|det A| (stable for large or small determinants); logabsdet is differentiable (∂/∂A = A⁻ᵀ). */
export function slogdet(A: Tensor): SignLogDet {
  const a = square('linalg.slogdet', A);
  const [sign, logAbs] = luLogDet(a);
  const logabsdet = record('LinalgSlogdetBackward0', [a], scalarOf(logAbs, a.dtype), (g) => [mul(g, transpose2d(inv(a)))], [a]);
  return { sign: scalarOf(sign, a.dtype), logabsdet };
}
