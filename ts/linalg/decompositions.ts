/**
 * `cholesky` and `eigh` of a symmetric matrix, computed on the host in float64 (Cholesky–Banachiewicz;
 * cyclic Jacobi rotations), with backward rules written in differentiable ops on the connected
 * outputs (Murray 2016 for Cholesky; the symmetric eigenvector formula with F_ij = 1/(λ_j − λ_i)),
 * so second derivatives are exact. Both read A's lower triangle's symmetric part as PyTorch does for
 * a symmetric input, and raise on a matrix that is not positive definite (cholesky) or not
 * symmetric.
 */
import { record, recordMulti } from '../autograd/node';
import { NumericalError, describe } from '../errors';
import { eye } from '../ops/creation';
import { add, div, mul, sub, where, eqMask } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import { t as transpose2d, reshape } from '../ops/shape';
import { allocate } from '../tensor/dtype';
import { isBatched } from '../tensor/batched';
import { fmtShape } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { wrap } from '../ops/util';
import { asymmetry, solve } from './solve';

function symmetric(fn: string, A: unknown): { a: Tensor; values: Float64Array; n: number } {
  if (!isTensor(A)) throw new TypeError(`${fn}: argument 'A' must be a Tensor, got ${describe(A)}`);
  if (isBatched(A)) throw new TypeError(`${fn}: a matrix batched by vmap is not supported yet; loop over the members`);
  if (A.ndim !== 2 || A.shape[0] !== A.shape[1]) throw new RangeError(`${fn}: A must be a square matrix, got shape ${fmtShape(A.shape)}`);
  const n = A.shape[0];
  const values = Float64Array.from(hostRead(fn, A.data));
  let scale = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new NumericalError(`${fn}: A has a non-finite entry (${v})`);
    scale = Math.max(scale, Math.abs(v));
  }
  const bad = asymmetry(values, n, A.dtype, Math.max(scale, 1e-300));
  if (bad !== null) {
    const [i, j] = bad;
    throw new RangeError(`${fn}: A must be symmetric, but A[${i}, ${j}] = ${values[i * n + j]} and A[${j}, ${i}] = ${values[j * n + i]}`);
  }
  return { a: A, values, n };
}

/** ½(X + Xᵀ). */
function sym(x: Tensor): Tensor {
  return mul(add(x, transpose2d(x)), 0.5);
}

/** The lower-triangular factor L with A = L Lᵀ. @throws NumericalError when A is not positive definite. */
export function cholesky(A: Tensor): Tensor {
  const fn = 'linalg.cholesky';
  const { a, values, n } = symmetric(fn, A);
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = values[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new NumericalError(`${fn}: A is not positive definite (the leading ${i + 1}×${i + 1} minor is not)`);
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  const out = wrap(a.dtype === 'float64' ? L : Float32Array.from(L), [n, n]);
  // Φ: the lower triangle with half the diagonal.
  const phi = allocate(a.dtype, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) phi[i * n + j] = i === j ? 0.5 : 1;
  const phiMask = wrap(phi, [n, n]);
  return record('LinalgCholeskyExBackward0', [a], out, (g) => {
    // Ā = sym(L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹), with L the connected output (so higher orders are exact).
    const Linv = solve(out, eye(n, { dtype: a.dtype }));
    return [sym(matmul(matmul(transpose2d(Linv), mul(matmul(transpose2d(out), g), phiMask)), Linv))];
  }, [a]);
}

/** The result of {@link eigh}. */
export interface Eigh {
  /** Eigenvalues in ascending order, shape [n]. */
  eigenvalues: Tensor;
  /** Orthonormal eigenvectors as columns, shape [n, n] (each column's sign is arbitrary, as in PyTorch). */
  eigenvectors: Tensor;
}

/**
 * A Givens rotation of two strided lines of `x` in place: for k < count, with P = p0 + k·step and
 * Q = q0 + k·step, (x_P, x_Q) ← (c·x_P − s·x_Q, s·x_P + c·x_Q). Columns of a row-major [·, n]
 * matrix have step n, rows step 1.
 */
function rotate(x: Float64Array, count: number, p0: number, q0: number, step: number, c: number, s: number): void {
  for (let k = 0, P = p0, Q = q0; k < count; k++, P += step, Q += step) {
    const xp = x[P];
    const xq = x[Q];
    x[P] = c * xp - s * xq;
    x[Q] = s * xp + c * xq;
  }
}

/** Cyclic Jacobi: eigenvalues and eigenvector columns of a symmetric matrix, sorted ascending. */
function jacobi(values: Float64Array, n: number): { w: Float64Array; v: Float64Array } {
  const a = Float64Array.from(values);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = 0.5 * (a[i * n + j] + a[j * n + i]);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30 * Math.max(1, ...Array.from({ length: n }, (_, i) => a[i * n + i] ** 2))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        rotate(a, n, p, q, n, c, s); // columns p, q
        rotate(a, n, p * n, q * n, 1, c, s); // rows p, q
        rotate(v, n, p, q, n, c, s);
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const w = Float64Array.from(order, (i) => a[i * n + i]);
  const vs = new Float64Array(n * n);
  order.forEach((src, col) => {
    for (let k = 0; k < n; k++) vs[k * n + col] = v[k * n + src];
  });
  return { w, v: vs };
}

/**
 * Eigenvalues (ascending) and eigenvectors of a symmetric matrix, differentiable in both (the
 * eigenvector gradient is undefined for repeated eigenvalues, where it is infinite, as in PyTorch).
 */
export function eigh(A: Tensor): Eigh {
  const fn = 'linalg.eigh';
  const { a, values, n } = symmetric(fn, A);
  const { w, v } = jacobi(values, n);
  const cast = (x: Float64Array): Float32Array | Float64Array => (a.dtype === 'float64' ? x : Float32Array.from(x));
  const lam = wrap(cast(w), [n]);
  const vec = wrap(cast(v), [n, n]);
  recordMulti('LinalgEighBackward0', [a], [lam, vec], (grads) => {
    const [gl, gv] = grads;
    // Ā = sym(V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ), F_ij = 1/(λ_j − λ_i) off the diagonal, from the connected outputs.
    let inner: Tensor | null = gl ? mul(eye(n, { dtype: a.dtype }), reshape(gl, [1, n])) : null;
    if (gv) {
      const diff = sub(reshape(lam, [1, n]), reshape(lam, [n, 1]));
      const off = eqMask(eye(n, { dtype: a.dtype }), 0);
      const F = where(off, div(1, where(off, diff, 1)), 0);
      const term = mul(F, matmul(transpose2d(vec), gv));
      inner = inner === null ? term : add(inner, term);
    }
    if (inner === null) return [null];
    return [sym(matmul(matmul(vec, inner), transpose2d(vec)))];
  }, [a]);
  return { eigenvalues: lam, eigenvectors: vec };
}

/** The result of {@link svd}. */
export interface Svd {
  /** Left singular vectors [m, k] (k = min(m, n)); column signs are arbitrary, as in PyTorch. */
  U: Tensor;
  /** Singular values, descending, [k]. */
  S: Tensor;
  /** Right singular vectors as rows [k, n]. */
  Vh: Tensor;
}

/** One-sided Jacobi (Hestenes) on the columns of a copy of A [m, n] (m ≥ n): A V = U S. */
function hestenes(a: Float64Array, m: number, n: number): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const w = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p];
          const y = w[i * n + q];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = c * t;
        rotate(w, m, p, q, n, c, sn);
        rotate(v, n, p, q, n, c, sn);
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let acc = 0;
    for (let i = 0; i < m; i++) acc += w[i * n + j] ** 2;
    return Math.sqrt(acc);
  });
  const order = norms.map((_, j) => j).sort((p, q) => norms[q] - norms[p]);
  const u = new Float64Array(m * n);
  const s = new Float64Array(n);
  const vs = new Float64Array(n * n);
  order.forEach((src, col) => {
    s[col] = norms[src];
    for (let i = 0; i < m; i++) u[i * n + col] = norms[src] > 0 ? w[i * n + src] / norms[src] : 0;
    for (let i = 0; i < n; i++) vs[i * n + col] = v[i * n + src];
  });
  return { u, s, v: vs };
}

/**
 * The thin SVD A = U diag(S) Vh (PyTorch's `linalg.svd(A, full_matrices=False)`), by one-sided
 * Jacobi in float64, differentiable in U, S and Vh (the vectors' gradient is infinite for repeated
 * singular values, as in PyTorch; with a zero singular value the rank-deficient part raises).
 */
export function svd(A: Tensor): Svd {
  const fn = 'linalg.svd';
  if (!isTensor(A)) throw new TypeError(`${fn}: argument 'A' must be a Tensor, got ${describe(A)}`);
  if (isBatched(A)) throw new TypeError(`${fn}: a matrix batched by vmap is not supported yet; loop over the members`);
  if (A.ndim !== 2) throw new RangeError(`${fn}: A must be a matrix, got shape ${fmtShape(A.shape)}`);
  const [m, n] = A.shape;
  const raw = Float64Array.from(hostRead(fn, A.data));
  for (const x of raw) if (!Number.isFinite(x)) throw new NumericalError(`${fn}: A has a non-finite entry (${x})`);
  const wide = m < n;
  // A wide matrix: the SVD of Aᵀ, with U and V exchanged.
  const at = wide ? Float64Array.from({ length: m * n }, (_, k) => raw[(k % m) * n + Math.floor(k / m)]) : raw;
  const [rows, cols] = wide ? [n, m] : [m, n];
  const { u, s, v } = hestenes(at, rows, cols);
  const k = cols;
  const cast = (x: Float64Array): Float32Array | Float64Array => (A.dtype === 'float64' ? x : Float32Array.from(x));
  // u: [rows, k], v: [k, k] (columns = right vectors of the tall problem).
  const Ut = wrap(cast(u), [rows, k]);
  const Vt = wrap(cast(v), [k, k]);
  const Uo = wide ? Vt : Ut;
  const Vo = wide ? Ut : Vt;
  const S = wrap(cast(s), [k]);
  const Vh = transpose2d(Vo);
  const U = Uo;
  recordMulti('LinalgSvdBackward0', [A], [U, S, Vh], (grads) => {
    const [gU, gS, gVh] = grads;
    const Vm = transpose2d(Vh);
    const kk = S.shape[0];
    let inner: Tensor | null = gS ? mul(eye(kk, { dtype: A.dtype }), reshape(gS, [1, kk])) : null;
    let extra: Tensor | null = null;
    if (gU || gVh) {
      const S2 = mul(S, S);
      const E = sub(reshape(S2, [1, kk]), reshape(S2, [kk, 1]));
      const offd = eqMask(eye(kk, { dtype: A.dtype }), 0);
      const Einv = where(offd, div(1, where(offd, E, 1)), 0);
      const skew = (X: Tensor): Tensor => sub(X, transpose2d(X));
      const Srow = reshape(S, [1, kk]);
      const Scol = reshape(S, [kk, 1]);
      if (gU) {
        const UhgU = matmul(transpose2d(U), gU);
        const term = mul(mul(skew(UhgU), Einv), Srow);
        inner = inner === null ? term : add(inner, term);
        if (U.shape[0] > kk) {
          // The part of gU outside U's span, through S⁻¹.
          const outside = sub(gU, matmul(U, UhgU));
          extra = matmul(div(outside, Srow), Vh);
        }
      }
      if (gVh) {
        const gV = transpose2d(gVh);
        const VhgV = matmul(Vh, gV);
        const term = mul(Scol, mul(skew(VhgV), Einv));
        inner = inner === null ? term : add(inner, term);
        if (Vm.shape[0] > kk) {
          const outside = sub(gV, matmul(Vm, VhgV));
          const t2 = matmul(U, transpose2d(div(outside, Srow)));
          extra = extra === null ? t2 : add(extra, t2);
        }
      }
    }
    let gA: Tensor | null = inner === null ? null : matmul(matmul(U, inner), Vh);
    if (extra !== null) gA = gA === null ? extra : add(gA, extra);
    return [gA];
  }, [A]);
  return { U, S, Vh };
}
