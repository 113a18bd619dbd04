/**
 * Differentiable dense solve X = A⁻¹ B through the native addon (Eigen LU, Cholesky or QR). The
 * backward rule is written with `solve` itself, so derivatives of any order are exact:
 * dB = A⁻ᵀ G, dA = −dB Xᵀ.
 */
import { batchOf, batchedOf, isBatched } from '../tensor/batched';
import { materializeBatched } from '../ops/broadcast';
import { select, stack } from '../ops/indexing';
import { record } from '../autograd/node';
import { NumericalError, describe } from '../errors';
import { to } from '../ops/cast';
import { neg } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import { reshape, t as transpose2d, unsqueeze } from '../ops/shape';
import { wrap } from '../ops/util';
import { type DType, type FloatArray, allocate, promoteTypes, requireFloating } from '../tensor/dtype';
import { SolveMethod, native } from '../tensor/native';
import { fmtShape, numelOf } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { checkOptions, oneOf } from './options';
import { TraceError, isTraced, recordFiniteCheck } from '../tensor/trace';

/** Factorisations {@link solve} can use. */
export type DenseMethod = 'lu' | 'cholesky' | 'qr';

/** Options of {@link solve}. */
export interface DenseSolveOptions {
  /** 'lu' (default, partial pivoting), 'cholesky' (A symmetric positive definite) or 'qr' (column-pivoted). */
  method?: DenseMethod;
}

const METHODS: readonly DenseMethod[] = ['lu', 'cholesky', 'qr'];
const CODES: Record<DenseMethod, SolveMethod> = { lu: SolveMethod.Lu, cholesky: SolveMethod.Cholesky, qr: SolveMethod.Qr };
const FAILURE: Record<DenseMethod, string> = {
  lu: 'is singular (LU found a zero pivot)',
  cholesky: 'is not positive definite (the Cholesky factorisation failed)',
  qr: 'is rank deficient (column-pivoted QR)',
};

/**
 * What the factorisations cannot report themselves: a NaN or ±∞ entry (LU would call it a zero
 * pivot) and, for Cholesky, an asymmetric matrix (Eigen reads one triangle and would silently
 * solve a different system).
 */
function checkEntries(fn: string, a: Tensor, b: Tensor, method: DenseMethod): void {
  const n = a.shape[0];
  if (isTraced(a.data) || isTraced(b.data)) {
    // Under mg.jit the values are known only at replay: the finiteness checks run there.
    if (method === 'cholesky') {
      throw new TraceError(`${fn}: method 'cholesky' checks the matrix's symmetry on the host, which a jit replay cannot; use method 'lu' or 'qr' under jit`);
    }
    recordFiniteCheck(a.data as FloatArray, `${fn}: the ${n}×${n} matrix has a non-finite entry; it cannot be solved (found when mg.jit replayed it)`);
    recordFiniteCheck(b.data as FloatArray, `${fn}: the right-hand side has a non-finite entry (found when mg.jit replayed it)`);
    return;
  }
  const ad = a.data;
  let scale = 0;
  for (let i = 0; i < ad.length; i++) {
    const v = ad[i];
    if (!Number.isFinite(v)) {
      throw new NumericalError(`${fn}: the ${n}×${n} matrix has a non-finite entry (${v} at [${Math.floor(i / n)}, ${i % n}]); it cannot be solved`);
    }
    scale = Math.max(scale, Math.abs(v));
  }
  for (let i = 0; i < b.data.length; i++) {
    if (!Number.isFinite(b.data[i])) throw new NumericalError(`${fn}: the right-hand side has a non-finite entry (${b.data[i]} at flat index ${i})`);
  }
  if (method !== 'cholesky') return;
  const bad = asymmetry(ad, n, a.dtype, scale);
  if (bad !== null) {
    const [i, j] = bad;
    throw new NumericalError(
      `${fn}: method 'cholesky' needs a symmetric positive-definite matrix, but the ${n}×${n} matrix is not symmetric ` +
        `(A[${i}, ${j}] = ${ad[i * n + j]}, A[${j}, ${i}] = ${ad[j * n + i]}); use method 'lu' or 'qr'`,
    );
  }
}

/**
 * The first pair (i, j) with |A_ij − A_ji| beyond rounding (relative to `scale`, the largest
 * |entry|), or null for a symmetric matrix: round-off of a matrix assembled as AᵀA or by matvecs
 * makes it asymmetric at the ulp level. @internal
 */
export function asymmetry(ad: ArrayLike<number>, n: number, dtype: DType, scale: number): [number, number] | null {
  const tol = (dtype === 'float32' ? 1e-5 : 1e-12) * scale * Math.max(1, Math.sqrt(n));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (Math.abs(ad[i * n + j] - ad[j * n + i]) > tol) return [i, j];
  }
  return null;
}

/** The dense solve with a caller's name in messages. @internal */
export function denseSolve(fn: string, A: Tensor, B: Tensor, method: DenseMethod): Tensor {
  if (!isTensor(A)) throw new TypeError(`${fn}: argument 'A' must be a Tensor, got ${describe(A)}`);
  if (!isTensor(B)) throw new TypeError(`${fn}: argument 'B' must be a Tensor, got ${describe(B)}`);
  if (isBatched(A) || isBatched(B)) return perMemberSolve(fn, A, B, method);
  if (A.ndim !== 2 || A.shape[0] !== A.shape[1]) throw new RangeError(`${fn}: A must be a square matrix, got shape ${fmtShape(A.shape)}`);
  const n = A.shape[0];
  if ((B.ndim !== 1 && B.ndim !== 2) || B.shape[0] !== n) {
    throw new RangeError(`${fn}: B must have shape [${n}] or [${n}, k] to match A ${fmtShape(A.shape)}, got ${fmtShape(B.shape)}`);
  }
  requireFloating(fn, 'A', A.dtype);
  requireFloating(fn, 'B', B.dtype);
  const dtype = promoteTypes(A.dtype, B.dtype);
  const a = to(A, dtype);
  const b = to(B, dtype);
  const nrhs = b.ndim === 1 ? 1 : b.shape[1];
  checkEntries(fn, a, b, method);
  const out = allocate(dtype, n * nrhs);
  const status = native.solveDense(CODES[method], a.data as FloatArray, b.data as FloatArray, out as FloatArray, n, nrhs);
  if (status !== 0) throw new NumericalError(`${fn}: the ${n}×${n} matrix ${FAILURE[method]}`);
  const x = wrap(out, b.shape);
  // Cholesky reads one triangle of a symmetric A, so Aᵀ = A and the same factorisation serves the backward.
  return record(
    'LinalgSolveBackward0',
    [a, b],
    x,
    (g, needs) => {
      const gb = denseSolve(fn, method === 'cholesky' ? a : transpose2d(a), g, method);
      const ga = needs[0] ? neg(b.ndim === 1 ? matmul(unsqueeze(gb, 1), unsqueeze(x, 0)) : matmul(gb, transpose2d(x))) : null;
      return [ga, needs[1] ? gb : null];
    },
    [a, x],
  );
}

/**
 * vmap's rule for a dense solve: one factorisation per member (the loop is the rule: each
 * member's matrix is its own), on the members' physical slices, each differentiable as above.
 */
function perMemberSolve(fn: string, A: Tensor, B: Tensor, method: DenseMethod): Tensor {
  const { levels, sizes } = batchOf([A, B]);
  const count = numelOf(sizes);
  const flat = (t: Tensor): Tensor => reshape(materializeBatched(t, levels, sizes, t.ndim), [count, ...t.shape]);
  const [pa, pb] = [flat(A), flat(B)];
  const xs: Tensor[] = [];
  for (let m = 0; m < count; m++) {
    try {
      xs.push(denseSolve(fn, select(pa, 0, m), select(pb, 0, m), method));
    } catch (e) {
      if (e instanceof NumericalError) throw new NumericalError(e.message.replace(`${fn}: `, `${fn}: member ${m} of the vmap batch: `));
      throw e;
    }
  }
  const x = stack(xs, 0);
  return batchedOf(reshape(x, [...sizes, ...x.shape.slice(1)]), levels);
}

/**
 * Solves A X = B for a square matrix A and B of shape [n] or [n, k] (dtypes promote), by LU
 * (default), Cholesky or QR. Differentiable in A and B to any order.
 *
 * @throws NumericalError when A is singular (LU, QR) or not positive definite (Cholesky).
 */
export function solve(A: Tensor, B: Tensor, options?: DenseSolveOptions): Tensor {
  const fn = 'linalg.solve';
  const o = checkOptions(fn, options, ['method']);
  return denseSolve(fn, A, B, oneOf(fn, 'method', o.method, METHODS, 'lu'));
}

/** Valid dense methods. @internal */
export const DENSE_METHODS = METHODS;
