/**
 * einsum and linalg.inv / det / slogdet against PyTorch (values, gradients, second derivatives;
 * test/fixtures/torch_einsum_linalg.json from scripts/fixtures/torch_einsum_linalg.py).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradgradcheck } from './helpers/check';
import { type TorchCase, checkTorchCase } from './helpers/torch-case';

const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_einsum_linalg.json'), 'utf8')) as {
  cases: Record<string, TorchCase>;
  slogdetSign: { x: number[]; sign: number; det: number };
};
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

const OPS: Record<string, (...xs: T[]) => T> = {
  mm: (a, b) => mg.einsum('ij,jk->ik', a, b),
  batch_transpose: (a, b) => mg.einsum('bij,bjk->bki', a, b),
  three: (a, b, c) => mg.einsum('bij,bjk,k->bi', a, b, c),
  outer_sum: (a, b) => mg.einsum('ik,jk->ij', a, b).square(),
  implicit: (a, b) => mg.einsum('ab,cb', a, b),
  reduce: (a) => mg.einsum('ijk->j', a).square(),
  dot: (a, b) => mg.einsum('i,i', a, b),
  inv: (a) => mg.linalg.inv(a),
  det: (a) => mg.linalg.det(a),
  logabsdet: (a) => mg.linalg.slogdet(a).logabsdet,
  // Composed with a symmetrisation, as the fixture (PyTorch reads the lower triangle).
  cholesky: (a) => mg.linalg.cholesky(a.add(a.t()).div(2)),
  eigvalsh: (a) => mg.linalg.eigh(a.add(a.t()).div(2)).eigenvalues,
  eigh_abs_vectors: (a) => mg.linalg.eigh(a.add(a.t()).div(2)).eigenvectors.abs(),
  svd_values: (a) => mg.linalg.svd(a).S,
  svd_abs_u_tall: (a) => mg.linalg.svd(a).U.abs(),
  svd_abs_vh_wide: (a) => mg.linalg.svd(a).Vh.abs(),
  svd_abs_vh_tall: (a) => mg.linalg.svd(a).Vh.abs(),
  svd_abs_u_wide: (a) => mg.linalg.svd(a).U.abs(),
};

describe('einsum and linalg.inv / det / slogdet / cholesky / eigh against PyTorch', () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => checkTorchCase(op, REF.cases[name]));
  }

  it('slogdet of a matrix with a negative determinant; finite differences of det to second order', () => {
    const A = mg.tensor(REF.slogdetSign.x, f64).reshape(3, 3);
    const r = mg.linalg.slogdet(A);
    assert.equal(r.sign.item(), REF.slogdetSign.sign);
    assertClose(r.sign.mul(r.logabsdet.exp()), REF.slogdetSign.det, 1e-12);
    assertClose(mg.linalg.det(A), REF.slogdetSign.det, 1e-12);
    gradgradcheck((a: T) => mg.linalg.det(a), [A], 1e-6, 1e-4);
  });

  it('cholesky reconstructs A = L Lᵀ (lower triangular); eigh gives A V = V diag(λ) with orthonormal V; svd reconstructs tall and wide A; failures are named', () => {
    const B = mg.randn([5, 5], f64);
    const A = B.matmul(B.t()).add(mg.eye(5, f64));
    const L = mg.linalg.cholesky(A);
    assertClose(L.matmul(L.t()), A, 1e-12);
    assert.ok(Array.from(L.data).every((v, k) => k % 5 <= Math.floor(k / 5) || v === 0), 'L is lower triangular');
    const { eigenvalues: w, eigenvectors: V } = mg.linalg.eigh(A);
    assertClose(A.matmul(V), V.mul(w.reshape(1, 5)), 1e-10);
    assertClose(V.t().matmul(V), mg.eye(5, f64), 1e-12);
    for (const shape of [[6, 4], [3, 7]]) {
      const M = mg.randn(shape, f64);
      const { U, S, Vh } = mg.linalg.svd(M);
      assertClose(U.mul(S.reshape(1, -1)).matmul(Vh), M, 1e-12);
      assertClose(U.t().matmul(U), mg.eye(Math.min(...shape), f64), 1e-12);
      assertClose(Vh.matmul(Vh.t()), mg.eye(Math.min(...shape), f64), 1e-12);
      assert.ok(Array.from(S.data).every((v, i, a) => i === 0 || v <= a[i - 1]), 'singular values descend');
    }
    assert.throws(() => mg.linalg.cholesky(mg.tensor([[1, 2], [2, 1]], f64)), /linalg\.cholesky: A is not positive definite/);
    assert.throws(() => mg.linalg.eigh(mg.tensor([[1, 2], [0, 1]], f64)), /linalg\.eigh: A must be symmetric/);
  });

  it('bad equations and shapes are named; a singular matrix has det 0 and its backward raises', () => {
    const a = mg.ones([2, 3]);
    assert.throws(() => mg.einsum('ij,jk->ik', a, a), /einsum: index 'j' has size 3 in one operand and 2 in operand 1/);
    assert.throws(() => mg.einsum('ii->i', mg.ones([2, 2])), /repeated index within one operand/);
    assert.throws(() => mg.einsum('ij->k', a), /the output index 'k' appears in no operand/);
    assert.throws(() => mg.einsum('...ij->ij', a), /ellipsis/);
    assert.throws(() => mg.linalg.det(a), /linalg\.det: A must be a square matrix, got shape \[2, 3\]/);
    const S = mg.tensor([[1, 2], [2, 4]], { ...f64, requiresGrad: true });
    const d = mg.linalg.det(S);
    assert.equal(d.item(), 0);
    assert.throws(() => mg.autograd.grad(d, S), mg.NumericalError);
  });
});
