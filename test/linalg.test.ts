/**
 * Linear algebra on trees and the linear solvers: every answer is compared with a dense solve by
 * Gaussian elimination in float64 written here, or with a closed form.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import * as linalg from '../ts/linalg/index';
import * as linearSolve from '../ts/linear-solve/index';
import * as tm from '../ts/tree/tree-math';
import { assertClose } from './helpers/check';
import { denseSolve as gaussSolve } from './helpers/dense';

type Mat = number[][];


const matOf = (t: mg.Tensor): Mat => t.tolist() as Mat;
const vecOf = (...ts: mg.Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data));
const transposeOf = (A: Mat): Mat => A[0].map((_, j) => A.map((row) => row[j]));
const mulMat = (A: Mat, B: Mat): Mat => A.map((row) => B[0].map((_, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));
const mulVec = (A: Mat, x: number[]): number[] => A.map((row) => row.reduce((s, a, k) => s + a * x[k], 0));
const addRidge = (A: Mat, r: number): Mat => A.map((row, i) => row.map((a, j) => a + (i === j ? r : 0)));

const f64 = { dtype: 'float64' as const };

/** A random symmetric positive definite n×n matrix B Bᵀ/n + I. */
function spd(n: number, dtype: mg.DType = 'float64'): mg.Tensor {
  const B = mg.randn([n, n], f64);
  return B.matmul(B.t()).div(n).add(mg.eye(n, f64)).to(dtype);
}

/** A random non-symmetric, well-conditioned n×n matrix 2I + B/√n. */
function nonsym(n: number): mg.Tensor {
  return mg.randn([n, n], f64).div(Math.sqrt(n)).add(mg.eye(n, f64).mul(2));
}

/** A coupled linear map on [a (2), b (3)]: one 5×5 non-block-diagonal SPD matrix. */
function coupledSystem(): { K: mg.Tensor; matvec: (v: mg.Tensor[]) => mg.Tensor[] } {
  const K = spd(5);
  const matvec = (v: mg.Tensor[]): mg.Tensor[] => {
    const y = K.matmul(mg.cat([v[0], v[1]]));
    return [y.slice(0, 2), y.slice(2, 5)];
  };
  return { K, matvec };
}

describe('linalg: tree arithmetic', () => {
  it('treeAdd / treeSub / treeScale / treeAxpy / treeMul act leaf by leaf on objects and arrays', () => {
    const a = { u: mg.tensor([1, 2], f64), v: [mg.tensor(3, f64)] };
    const b = { u: mg.tensor([10, 20], f64), v: [mg.tensor(30, f64)] };
    const flat = (t: typeof a): number[] => vecOf(t.u, t.v[0]);
    assert.deepEqual(flat(tm.treeAdd(a, b)), [11, 22, 33]);
    assert.deepEqual(flat(tm.treeAdd(a, b, 2)), [21, 42, 63]);
    assert.deepEqual(flat(tm.treeSub(a, b, 0.5)), [-4, -8, -12]);
    assert.deepEqual(flat(tm.treeScale(a, 3)), [3, 6, 9]);
    assert.deepEqual(flat(tm.treeAxpy(2, a, b)), [12, 24, 36]);
    assert.deepEqual(flat(tm.treeMul(a, b)), [10, 40, 90]);
    assert.deepEqual(flat(tm.treeNeg(a)), [-1, -2, -3]);
    assert.deepEqual(flat(tm.treeZerosLike(a)), [0, 0, 0]);
    assert.equal(tm.treeNumel(a), 3);
  });

  it('treeVdot and treeNorm accumulate over all leaves', () => {
    const a = [mg.tensor([1, 2]), mg.tensor([[3]])];
    const b = [mg.tensor([4, 5]), mg.tensor([[6]])];
    assert.equal(tm.treeVdot(a, b), 4 + 10 + 18);
    assert.equal(tm.treeNorm(a), Math.sqrt(14));
    assert.equal(tm.treeVdotT(a, b).item(), 32);
    assert.deepEqual(tm.treeVdotT(a, b).shape, []);
  });

  it('treeVdotT and treeScale with a tensor scalar are differentiable to second order', () => {
    const a = mg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const b = mg.tensor([4, 5, 6], { dtype: 'float64', requiresGrad: true });
    // f = ⟨a, b⟩·⟨a, a⟩: df/da = b⟨a,a⟩ + 2a⟨a,b⟩.
    const f = tm.treeVdotT(a, b).mul(tm.treeVdotT(a, a));
    const [ga] = mg.autograd.grad(f, [a], { createGraph: true }) as mg.Tensor[];
    assertClose(ga, [4 * 14 + 2 * 32, 5 * 14 + 4 * 32, 6 * 14 + 6 * 32], 1e-9);
    // d/db of Σ ga = d/db (Σb·14 + 2·32·Σa) = 14 + 2·6·a.
    const [gb] = mg.autograd.grad(ga.sum(), [b]) as mg.Tensor[];
    assertClose(gb, [14 + 12, 14 + 24, 14 + 36], 1e-9);
    const s = mg.tensor(2, { dtype: 'float64', requiresGrad: true });
    const [gs] = mg.autograd.grad(tm.treeScale([a.detach()], s)[0].sum(), [s]) as mg.Tensor[];
    assert.equal(gs.item(), 6);
  });

  it('mismatched structures or shapes raise RangeError naming the function', () => {
    assert.throws(() => tm.treeAdd([mg.tensor([1])], { a: mg.tensor([1]) }), (e: Error) => e instanceof RangeError && /treeAdd/.test(e.message));
    assert.throws(() => tm.treeVdot([mg.tensor([1, 2])], [mg.tensor([1])]), (e: Error) => e instanceof RangeError && /leaf 0.*\[2\].*\[1\]/.test(e.message));
  });
});

describe('linalg: cg', () => {
  beforeEach(() => mg.manualSeed(0));

  it('solves an SPD matrix system like a dense solve and reports its info', () => {
    const A = spd(8);
    const b = mg.randn([8], f64);
    const infos: linalg.SolveInfo[] = [];
    const x = linalg.cg(A, b, { rtol: 1e-10, onInfo: (i) => infos.push(i) });
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-8);
    assert.equal(infos.length, 1);
    const info = infos[0];
    assert.equal(info.solver, 'cg');
    assert.ok(info.iterations > 0 && info.iterations <= 80, `iterations ${info.iterations}`);
    assert.equal(info.converged, true);
    assert.ok(info.residualNorm <= info.tolerance && info.tolerance <= 1e-10 * tm.treeNorm(b) * (1 + 1e-12));
    assert.deepEqual(linalg.lastSolveInfo(), info);
    // The reported residual is the true one (up to rounding).
    assert.ok(Math.abs(tm.treeNorm(b.sub(A.matmul(x))) - info.residualNorm) < 1e-9);
  });

  it('accepts a function A on a tree b (array of two tensors) with coupled leaves', () => {
    const { K, matvec } = coupledSystem();
    const b = [mg.randn([2], f64), mg.randn([3], f64)];
    const x = linalg.cg(matvec, b, { rtol: 1e-10 });
    assert.ok(Array.isArray(x) && x.length === 2);
    assert.deepEqual(x[1].shape, [3]);
    assertClose(vecOf(...x), gaussSolve(matOf(K), vecOf(...b)), 1e-8);
  });

  it('accepts a single matrix acting on all leaves of b in flatten order', () => {
    const { K } = coupledSystem();
    const b = { p: mg.randn([2], f64), q: mg.randn([3], f64) };
    const x = linalg.cg(K, b, { rtol: 1e-10 });
    assertClose(vecOf(x.p, x.q), gaussSolve(matOf(K), vecOf(b.p, b.q)), 1e-8);
  });

  it('treats a tree of matrices as a block-diagonal operator (object tree b, 2-d leaf)', () => {
    const A = { w: spd(6), c: spd(3) };
    const b = { w: mg.randn([2, 3], f64), c: mg.randn([3], f64) };
    const x = linalg.cg(A, b, { rtol: 1e-10 });
    assert.deepEqual(x.w.shape, [2, 3]);
    assertClose(x.w, gaussSolve(matOf(A.w), vecOf(b.w)), 1e-8);
    assertClose(x.c, gaussSolve(matOf(A.c), vecOf(b.c)), 1e-8);
  });

  it('starts from x0: the exact solution needs no iteration', () => {
    const A = spd(5);
    const b = mg.randn([5], f64);
    const exact = mg.tensor(gaussSolve(matOf(A), vecOf(b)), f64);
    linalg.cg(A, b, { x0: exact });
    assert.equal(linalg.lastSolveInfo()?.iterations, 0);
    assert.equal(linalg.lastSolveInfo()?.converged, true);
    const x = linalg.cg(A, b, { x0: exact.add(mg.randn([5], f64).mul(1e-3)), rtol: 1e-10 });
    assertClose(x, exact, 1e-8);
  });

  it('a Jacobi preconditioner cuts the iterations on an ill-conditioned diagonal system', () => {
    const n = 40;
    const d = mg.tensor(Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1))), f64);
    const A = (v: mg.Tensor): mg.Tensor => v.mul(d);
    const b = mg.ones([n], f64);
    const plain = linalg.cg(A, b, { rtol: 1e-8 });
    const itPlain = linalg.lastSolveInfo()?.iterations ?? 0;
    const pre = linalg.cg(A, b, { rtol: 1e-8, M: (v: mg.Tensor) => v.div(d) });
    const itPre = linalg.lastSolveInfo()?.iterations ?? 0;
    assert.ok(itPre < itPlain, `preconditioned ${itPre} vs plain ${itPlain}`);
    assert.equal(itPre, 1);
    assertClose(pre, d.reciprocal(), 1e-10, 1e-7);
    assertClose(plain, d.reciprocal(), 1e-10, 1e-6);
    // The preconditioner may also be given as a (diagonal) matrix.
    linalg.cg(A, b, { rtol: 1e-8, M: mg.eye(n, f64).mul(d.reciprocal().unsqueeze(0)) });
    assert.equal(linalg.lastSolveInfo()?.iterations, 1);
  });

  it('a scalar (0-d) b with the default maxiter is solved (TorchOpt returns 0 there)', () => {
    const x = linalg.cg((v: mg.Tensor) => v.mul(4), mg.tensor(6, f64));
    assert.deepEqual(x.shape, []);
    assertClose(x, 1.5, 1e-12);
    assert.equal(linalg.lastSolveInfo()?.iterations, 1);
    assertClose(linearSolve.solveCg()((v: mg.Tensor) => v.mul(4), mg.tensor(6, f64)), 1.5, 1e-12);
    assertClose(linearSolve.solveNormalCg()((v: mg.Tensor) => v.mul(4), mg.tensor(6, f64)), 1.5, 1e-12);
  });

  it('an indefinite or singular operator raises NumericalError naming cg, the iteration and pᵀAp', () => {
    const indefinite = mg.tensor([[1, 0], [0, -1]], f64);
    assert.throws(() => linalg.cg(indefinite, mg.tensor([1, 1], f64)), (e: Error) =>
      e instanceof mg.NumericalError && /^cg: breakdown at iteration 1: pᵀAp = 0/.test(e.message));
    assert.equal(linalg.lastSolveInfo()?.converged, false);
    assert.match(linalg.lastSolveInfo()?.error ?? '', /breakdown/);
    const singular = mg.tensor([[1, 0], [0, 0]], f64);
    assert.throws(() => linalg.cg(singular, mg.tensor([1, 1], f64)), (e: Error) => e instanceof mg.NumericalError && /iteration 2/.test(e.message));
    // Consistent singular systems converge.
    assertClose(linalg.cg(singular, mg.tensor([2, 0], f64)), [2, 0], 1e-12);
    assert.throws(() => linalg.cg(mg.eye(2, f64), mg.tensor([1, NaN], f64)), mg.NumericalError);
    assert.throws(() => linalg.cg(() => mg.tensor([NaN, 1], f64), mg.tensor([1, 1], f64)), mg.NumericalError);
  });

  it('stopping at maxiter is reported as converged: false, not raised', () => {
    const A = spd(20);
    linalg.cg(A, mg.randn([20], f64), { maxiter: 2, rtol: 1e-12 });
    const info = linalg.lastSolveInfo();
    assert.equal(info?.iterations, 2);
    assert.equal(info?.converged, false);
    assert.ok((info?.residualNorm ?? 0) > (info?.tolerance ?? Infinity));
  });

  it('works in float32 (result float32, close to the float64 answer)', () => {
    const A = spd(6, 'float32');
    const b = mg.randn([6]);
    const x = linalg.cg(A, b);
    assert.equal(x.dtype, 'float32');
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-4, 1e-4);
    assert.equal(linalg.lastSolveInfo()?.converged, true);
  });

  it('rejects bad options and mismatched x0 / A with errors naming them', () => {
    const A = spd(3);
    const b = mg.randn([3], f64);
    assert.throws(() => linalg.cg(A, b, { tol: 1e-3 } as never), (e: Error) => e instanceof TypeError && /cg: unknown option 'tol'; valid options are 'x0', 'rtol'/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { maxiter: 0 }), (e: Error) => e instanceof RangeError && /option 'maxiter'/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { maxiter: 2.5 }), (e: Error) => e instanceof TypeError && /option 'maxiter'/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { rtol: -1 }), (e: Error) => e instanceof RangeError && /option 'rtol'/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { rtol: 'small' as never }), (e: Error) => e instanceof TypeError && /option 'rtol'/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { x0: mg.zeros([4], f64) }), (e: Error) => e instanceof RangeError && /x0 has shape \[4\] but b's has shape \[3\]/.test(e.message));
    assert.throws(() => linalg.cg(A, b, { x0: mg.zeros([3]) }), (e: Error) => e instanceof TypeError && /x0 has dtype float32 but b's has dtype float64/.test(e.message));
    assert.throws(() => linalg.cg(A, [b, b]), (e: Error) => e instanceof RangeError && /\[5, 5\]|\[6, 6\]/.test(e.message));
    assert.throws(() => linalg.cg(mg.zeros([3, 4], f64), b), (e: Error) => e instanceof RangeError && /square matrix of shape \[3, 3\]/.test(e.message));
    assert.throws(() => linalg.cg(A.float(), b), (e: Error) => e instanceof TypeError && /dtype float32 but b has dtype float64/.test(e.message));
    assert.throws(() => linalg.cg(((v: mg.Tensor) => [v]) as never, b), (e: Error) => e instanceof RangeError && /A\(x\) must have the structure of b/.test(e.message));
    assert.throws(() => linalg.cg(A, 3 as never), (e: Error) => e instanceof TypeError && /argument 'b'/.test(e.message));
  });
});

describe('linalg: Neumann series', () => {
  beforeEach(() => mg.manualSeed(1));

  it('ns solves a system whose I − A is a contraction', () => {
    const E = mg.randn([6, 6], f64).mul(0.05);
    const A = mg.eye(6, f64).add(E.add(E.t()));
    const b = mg.randn([6], f64);
    const x = linalg.ns(A, b, { rtol: 1e-10 });
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-9);
    const info = linalg.lastSolveInfo();
    assert.ok(info?.converged && info.iterations > 0 && info.residualNorm <= info.tolerance);
    assert.ok(Math.abs(tm.treeNorm(b.sub(A.matmul(x))) - (info?.residualNorm ?? 0)) < 1e-12);
  });

  it('ns with alpha solves a scaled system; with rtol = atol = 0 it sums exactly maxiter + 1 terms', () => {
    const A = (v: mg.Tensor[]): mg.Tensor[] => [v[0].mul(4), v[1].mul(3)];
    const b = [mg.tensor([1, 2], f64), mg.tensor(3, f64)];
    const x = linalg.ns(A, b, { alpha: 0.25, rtol: 1e-12 });
    assertClose(vecOf(...x), [0.25, 0.5, 1], 1e-10);
    // α Σ_{k=0}^{3} (1 − αa)^k for a = 3, α = 0.25: 0.25·(1 + 0.25 + 0.0625 + 0.015625).
    const partial = linalg.ns(A, b, { alpha: 0.25, maxiter: 3, rtol: 0, atol: 0 });
    assertClose(partial[1], 3 * 0.25 * (1 + 0.25 + 0.0625 + 0.015625), 1e-12);
    assertClose(partial[0], [0.25, 0.5], 1e-12);
    const info = linalg.lastSolveInfo();
    assert.equal(info?.iterations, 3);
    assert.equal(info?.converged, false);
    assertClose(info?.residualNorm ?? NaN, 3 * 0.25 ** 4, 1e-12);
  });

  it('a divergent series raises NumericalError, a slow one reports converged: false', () => {
    const A = mg.eye(2, f64).mul(3);
    assert.throws(() => linalg.ns(A, mg.ones([2], f64), { maxiter: 5000, alpha: 1 }), (e: Error) => e instanceof mg.NumericalError && /^ns: the Neumann series diverged/.test(e.message));
    linalg.ns(A, mg.ones([2], f64), { maxiter: 5, alpha: 1 });
    assert.equal(linalg.lastSolveInfo()?.converged, false);
    // The default α comes from a power-iteration estimate of λmax = 3, where α = 1 diverges.
    assertClose(linalg.ns(A, mg.ones([2], f64)), [1 / 3, 1 / 3], 1e-6);
    assert.equal(linalg.lastSolveInfo()?.converged, true);
    assert.throws(() => linalg.ns(A, mg.ones([2], f64), { alpha: 0 }), (e: Error) => e instanceof RangeError && /alpha/.test(e.message));
  });

  it('nsInv approximates the inverse of a matrix and of a tree of matrices', () => {
    const E = mg.randn([4, 4], f64).mul(0.05);
    const A = mg.eye(4, f64).add(E);
    const inv = linalg.nsInv(A, { rtol: 1e-12 });
    assertClose(inv.matmul(A), mg.eye(4, f64), 1e-10);
    const tree = { a: A, b: mg.eye(2, f64).mul(2) };
    const invs = linalg.nsInv(tree, { alpha: 0.5 });
    assertClose(invs.b, mg.eye(2, f64).mul(0.5), 1e-12);
    assertClose(invs.a.matmul(A), mg.eye(4, f64), 1e-4);
    assert.throws(() => linalg.nsInv(mg.zeros([2, 3], f64)), (e: Error) => e instanceof RangeError && /square/.test(e.message));
  });
});

describe('linalg: gmres and bicgstab (non-symmetric)', () => {
  beforeEach(() => mg.manualSeed(2));

  for (const [name, solver] of [['gmres', linalg.gmres], ['bicgstab', linalg.bicgstab]] as const) {
    it(`${name} solves a non-symmetric matrix system like a dense solve`, () => {
      const A = nonsym(10);
      const b = mg.randn([10], f64);
      const x = (solver as typeof linalg.cg)(A, b, { rtol: 1e-10 });
      assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-8);
      const info = linalg.lastSolveInfo();
      assert.equal(info?.solver, name);
      assert.ok(info?.converged && info.iterations > 0 && info.residualNorm <= info.tolerance);
    });

    it(`${name} solves a function A on an object tree b and accepts a preconditioner`, () => {
      const K = nonsym(5);
      const matvec = (v: { a: mg.Tensor; b: mg.Tensor }): { a: mg.Tensor; b: mg.Tensor } => {
        const y = K.matmul(mg.cat([v.a, v.b.reshape(-1)]));
        return { a: y.slice(0, 2), b: y.slice(2, 5).reshape(3, 1) };
      };
      const b = { a: mg.randn([2], f64), b: mg.randn([3, 1], f64) };
      const x = (solver as typeof linalg.cg)(matvec, b, { rtol: 1e-10 });
      assertClose(vecOf(x.a, x.b), gaussSolve(matOf(K), vecOf(b.a, b.b)), 1e-8);
      const diag = Array.from({ length: 5 }, (_, i) => 1 / matOf(K)[i][i]);
      const M = (v: { a: mg.Tensor; b: mg.Tensor }) => ({ a: v.a.mul(mg.tensor(diag.slice(0, 2), f64)), b: v.b.mul(mg.tensor(diag.slice(2), f64).reshape(3, 1)) });
      const xm = (solver as typeof linalg.cg)(matvec, b, { rtol: 1e-10, M });
      assertClose(vecOf(xm.a, xm.b), gaussSolve(matOf(K), vecOf(b.a, b.b)), 1e-8);
    });
  }

  it('gmres converges with a small restart, counting Krylov steps over cycles', () => {
    const A = nonsym(12);
    const b = mg.randn([12], f64);
    const x = linalg.gmres(A, b, { restart: 3, rtol: 1e-9 });
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-7);
    const info = linalg.lastSolveInfo();
    assert.ok(info?.converged && (info.iterations ?? 0) > 3);
  });

  it('gmres and bicgstab on a singular operator raise NumericalError', () => {
    const A = mg.tensor([[1, 0], [0, 0]], f64);
    assert.throws(() => linalg.gmres(A, mg.tensor([1, 1], f64)), (e: Error) => e instanceof mg.NumericalError && /^gmres: breakdown/.test(e.message));
    assert.throws(() => linalg.bicgstab(A, mg.tensor([1, 1], f64)), (e: Error) => e instanceof mg.NumericalError && /^bicgstab: breakdown/.test(e.message));
  });

  it('float32 gmres and bicgstab return float32 results close to the float64 answer', () => {
    const A = nonsym(6);
    const b = mg.randn([6]);
    for (const solver of [linalg.gmres, linalg.bicgstab]) {
      const x = (solver as typeof linalg.cg)(A.float(), b);
      assert.equal(x.dtype, 'float32');
      assertClose(x, gaussSolve(matOf(A.float()), vecOf(b)), 1e-4, 1e-4);
    }
  });
});

describe('linalg: dense solve', () => {
  beforeEach(() => mg.manualSeed(3));

  it('solve(A, B) matches Gaussian elimination for every method, for vectors and matrices', () => {
    const A = spd(5);
    const b = mg.randn([5], f64);
    for (const method of ['lu', 'cholesky', 'qr'] as const) assertClose(linalg.solve(A, b, { method }), gaussSolve(matOf(A), vecOf(b)), 1e-10);
    const B = mg.randn([5, 2], f64);
    const X = linalg.solve(A, B);
    assertClose(A.matmul(X), B, 1e-10);
  });

  it('solve is differentiable: dL/dB = A⁻ᵀ w and dL/dA = −(A⁻ᵀ w) xᵀ', () => {
    const A = nonsym(4).requiresGrad_();
    const b = mg.randn([4], f64).requiresGrad_();
    const w = mg.randn([4], f64);
    const x = linalg.solve(A, b);
    const [gA, gb] = mg.autograd.grad(x.mul(w).sum(), [A, b]) as mg.Tensor[];
    const lam = gaussSolve(transposeOf(matOf(A)), vecOf(w));
    assertClose(gb, lam, 1e-10);
    const xs = vecOf(x);
    assertClose(gA, lam.flatMap((l) => xs.map((xi) => -l * xi)), 1e-10);
  });
});

describe('linearSolve factories', () => {
  beforeEach(() => mg.manualSeed(4));

  it('solveCg solves (A + ridge·I) x = b and starts from init', () => {
    const A = spd(6);
    const b = mg.randn([6], f64);
    const matvec = (v: mg.Tensor): mg.Tensor => A.matmul(v);
    const solve = linearSolve.solveCg({ ridge: 0.5, rtol: 1e-10 });
    assert.equal(solve.kind, 'solveCg');
    assert.equal(solve.options.ridge, 0.5);
    assert.equal(solve.options.rtol, 1e-10);
    assert.equal(solve.options.atol, 0);
    const infos: linalg.SolveInfo[] = [];
    const x = solve(matvec, b, { onInfo: (i) => infos.push(i) });
    const want = gaussSolve(addRidge(matOf(A), 0.5), vecOf(b));
    assertClose(x, want, 1e-8);
    assert.equal(infos.length, 1);
    assert.equal(infos[0].solver, 'solveCg');
    assert.ok(infos[0].converged && infos[0].iterations > 0);
    linearSolve.solveCg({ ridge: 0.5, init: mg.tensor(want, f64) })(matvec, b);
    assert.equal(linalg.lastSolveInfo()?.iterations, 0);
  });

  it('solveNormalCg solves a non-symmetric system through Aᵀ from the VJP of matvec', () => {
    const K = nonsym(5);
    const { matvec } = { matvec: (v: mg.Tensor[]): mg.Tensor[] => { const y = K.matmul(mg.cat(v)); return [y.slice(0, 2), y.slice(2)]; } };
    const b = [mg.randn([2], f64), mg.randn([3], f64)];
    const x = mg.noGrad(() => linearSolve.solveNormalCg({ rtol: 1e-12 })(matvec, b));
    assertClose(vecOf(...x), gaussSolve(matOf(K), vecOf(...b)), 1e-7);
    assert.equal(x[0].requiresGrad, false);
    // With a ridge: (KᵀK + r I) x = Kᵀ b.
    const Kt = transposeOf(matOf(K));
    const xr = linearSolve.solveNormalCg({ ridge: 0.3, rtol: 1e-12 })(matvec, b);
    assertClose(vecOf(...xr), gaussSolve(addRidge(mulMat(Kt, matOf(K)), 0.3), mulVec(Kt, vecOf(...b))), 1e-8);
  });

  it('solveNormalCg refuses a matvec that autograd cannot transpose instead of solving a zero system', () => {
    const A = spd(3);
    const detached = (v: mg.Tensor): mg.Tensor => A.matmul(v.detach());
    assert.throws(() => linearSolve.solveNormalCg()(detached, mg.ones([3], f64)), (e: Error) => e instanceof TypeError && /solveNormalCg: matvec\(x\) does not depend on x/.test(e.message));
    const rmatvec = linearSolve.makeRmatvec((v: mg.Tensor) => A.matmul(v), mg.zeros([3], f64));
    assertClose(rmatvec(mg.tensor([1, 0, 0], f64)), matOf(A).map((row) => row[0]), 1e-12);
  });

  it('solveNormalCg handles a non-square A when init gives the shape of x (least squares)', () => {
    const A = mg.randn([7, 3], f64);
    const b = mg.randn([7], f64);
    const x = linearSolve.solveNormalCg({ init: mg.zeros([3], f64), rtol: 1e-12 })((v: mg.Tensor) => A.matmul(v), b);
    assert.deepEqual(x.shape, [3]);
    const At = transposeOf(matOf(A));
    assertClose(x, gaussSolve(mulMat(At, matOf(A)), mulVec(At, vecOf(b))), 1e-9);
  });

  it('direct solveInv and solveDense solve the FULL coupled 2-leaf system (not its diagonal blocks)', () => {
    const { K, matvec } = coupledSystem();
    const b = [mg.randn([2], f64), mg.randn([3], f64)];
    const want = gaussSolve(matOf(K), vecOf(...b));
    const Kd = matOf(K);
    const blockOnly = [...gaussSolve([Kd[0].slice(0, 2), Kd[1].slice(0, 2)], vecOf(b[0])), ...gaussSolve(Kd.slice(2).map((r) => r.slice(2)), vecOf(b[1]))];
    assert.ok(Math.max(...want.map((w, i) => Math.abs(w - blockOnly[i]))) > 1e-3, 'the test system must be coupled');
    const inv = linearSolve.solveInv()(matvec, b);
    assert.deepEqual(inv.map((t) => t.shape), [[2], [3]]);
    assertClose(vecOf(...inv), want, 1e-10);
    for (const method of ['lu', 'cholesky', 'qr'] as const) {
      assertClose(vecOf(...linearSolve.solveDense({ method })(matvec, b)), want, 1e-10);
    }
    const info = linalg.lastSolveInfo();
    assert.equal(info?.solver, 'solveDense');
    assert.ok(info?.converged && (info.residualNorm ?? 1) < 1e-12);
    // With a ridge the diagonal shifts.
    assertClose(vecOf(...linearSolve.solveDense({ ridge: 2 })(matvec, b)), gaussSolve(addRidge(Kd, 2), vecOf(...b)), 1e-10);
  });

  it('solveInv with ns: true uses the Neumann series', () => {
    const A = mg.eye(3, f64).mul(2).add(mg.randn([3, 3], f64).mul(0.05));
    const b = mg.randn([3], f64);
    const x = linearSolve.solveInv({ ns: true, alpha: 0.5, rtol: 1e-10 })((v: mg.Tensor) => A.matmul(v), b);
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-9);
    assert.equal(linalg.lastSolveInfo()?.solver, 'solveInv');
  });

  it('solveGmres and solveBicgstab solve a ridge-shifted non-symmetric system', () => {
    const K = nonsym(6);
    const b = mg.randn([6], f64);
    const want = gaussSolve(addRidge(matOf(K), 0.1), vecOf(b));
    assertClose(linearSolve.solveGmres({ ridge: 0.1, rtol: 1e-10, restart: 4 })((v: mg.Tensor) => K.matmul(v), b), want, 1e-8);
    assertClose(linearSolve.solveBicgstab({ ridge: 0.1, rtol: 1e-10 })((v: mg.Tensor) => K.matmul(v), b), want, 1e-8);
  });

  it('solveDense raises NumericalError for a singular matrix (LU) and an indefinite one (Cholesky)', () => {
    const singular = (v: mg.Tensor): mg.Tensor => v.mul(mg.tensor([1, 0], f64));
    assert.throws(() => linearSolve.solveDense()(singular, mg.ones([2], f64)), (e: Error) => e instanceof mg.NumericalError && /^solveDense: .*singular/.test(e.message));
    assert.throws(() => linearSolve.solveInv()(singular, mg.ones([2], f64)), (e: Error) => e instanceof mg.NumericalError && /singular/.test(e.message));
    const indefinite = (v: mg.Tensor): mg.Tensor => v.mul(mg.tensor([1, -1], f64));
    assert.throws(() => linearSolve.solveDense({ method: 'cholesky' })(indefinite, mg.ones([2], f64)), (e: Error) => e instanceof mg.NumericalError && /not positive definite/.test(e.message));
    assert.equal(linalg.lastSolveInfo()?.converged, false);
    assert.throws(() => linearSolve.solveCg()(indefinite, mg.ones([2], f64)), (e: Error) => e instanceof mg.NumericalError && /^solveCg: breakdown/.test(e.message));
  });

  it('factories reject unknown or mis-routed options at factory time with a TypeError naming them', () => {
    assert.throws(() => linearSolve.solveCg({ tol: 1e-3 } as never), (e: Error) => e instanceof TypeError && /solveCg: unknown option 'tol'; valid options are 'ridge', 'init', 'rtol'/.test(e.message));
    assert.throws(() => linearSolve.solveNormalCg({ maxIter: 5 } as never), (e: Error) => e instanceof TypeError && /'maxIter'/.test(e.message));
    assert.throws(() => linearSolve.solveInv({ maxiter: 5 }), (e: Error) => e instanceof TypeError && /solveInv: option 'maxiter' applies only to the Neumann series/.test(e.message));
    assert.throws(() => linearSolve.solveDense({ method: 'svd' } as never), (e: Error) => e instanceof TypeError && /option 'method' must be one of 'lu', 'cholesky', 'qr'/.test(e.message));
    assert.throws(() => linearSolve.solveGmres({ restart: 0 }), (e: Error) => e instanceof RangeError && /option 'restart'/.test(e.message));
    assert.throws(() => linearSolve.solveCg({ ridge: Number.NaN }), (e: Error) => e instanceof TypeError && /option 'ridge'/.test(e.message));
    assert.throws(() => linearSolve.solveCg()(3 as never, mg.ones([2])), (e: Error) => e instanceof TypeError && /argument 'matvec'/.test(e.message));
    assert.throws(() => linearSolve.solveCg()((v: mg.Tensor) => v, mg.ones([2]), { onInfo: 1 } as never), (e: Error) => e instanceof TypeError && /option 'onInfo'/.test(e.message));
    assert.throws(() => linearSolve.solveCg({ init: mg.zeros([3]) })((v: mg.Tensor) => v, mg.ones([2])), (e: Error) => e instanceof RangeError && /init has shape \[3\]/.test(e.message));
  });

  it('float32 factories keep float32', () => {
    const A = spd(4, 'float32');
    const b = mg.randn([4]);
    const want = gaussSolve(matOf(A), vecOf(b));
    for (const solve of [linearSolve.solveCg(), linearSolve.solveNormalCg(), linearSolve.solveGmres(), linearSolve.solveBicgstab(), linearSolve.solveDense(), linearSolve.solveInv()]) {
      const x = solve((v: mg.Tensor) => A.matmul(v), b);
      assert.equal(x.dtype, 'float32', solve.kind);
      assertClose(x, want, 1e-3, 1e-3, solve.kind);
    }
  });
});

describe('linear solves under grad mode', () => {
  beforeEach(() => mg.manualSeed(5));

  // x = A⁻¹ b; L = ⟨w, x⟩: dL/db = A⁻ᵀ w, dL/dA = −(A⁻ᵀ w) xᵀ.
  const cases: [string, () => linearSolve.LinearSolver<unknown>, boolean][] = [
    ['solveCg', () => linearSolve.solveCg({ rtol: 1e-12 }), true],
    ['solveNormalCg', () => linearSolve.solveNormalCg({ rtol: 1e-13 }), false],
    ['solveGmres', () => linearSolve.solveGmres({ rtol: 1e-12 }), false],
    ['solveBicgstab', () => linearSolve.solveBicgstab({ rtol: 1e-12 }), false],
    ['solveDense', () => linearSolve.solveDense(), false],
    ['solveInv', () => linearSolve.solveInv(), false],
  ];
  for (const [name, make, symmetric] of cases) {
    it(`${name} records a graph so x is differentiable in A and b`, () => {
      const A = (symmetric ? spd(4) : nonsym(4)).requiresGrad_();
      const b = mg.randn([4], f64).requiresGrad_();
      const w = mg.randn([4], f64);
      const x = make()((v: mg.Tensor) => A.matmul(v), b);
      const [gA, gb] = mg.autograd.grad(x.mul(w).sum(), [A, b]) as mg.Tensor[];
      const lam = gaussSolve(transposeOf(matOf(A)), vecOf(w));
      const xs = gaussSolve(matOf(A), vecOf(b));
      assertClose(gb, lam, 1e-6, 1e-5, `${name} d/db`);
      const want = lam.map((l) => xs.map((xi) => -l * xi));
      // CG assumes a symmetric A, so only derivatives along symmetric perturbations are meaningful.
      const sym = (G: Mat): number[] => G.flatMap((row, i) => row.map((g, j) => (symmetric ? (g + G[j][i]) / 2 : g)));
      assertClose(sym(matOf(gA)), sym(want), 1e-6, 1e-5, `${name} d/dA`);
    });
  }

  for (const [name, make] of [
    ['solveGmres (2 restart cycles of 2 steps)', () => linearSolve.solveGmres({ restart: 2, maxiter: 50, rtol: 1e-13 })],
    ['solveNormalCg', () => linearSolve.solveNormalCg({ rtol: 1e-14 })],
    ['solveDense', () => linearSolve.solveDense()],
  ] as const) {
    it(`${name}: second derivatives by the implicit rule, ∂²(1ᵀ ∂L/∂b)/∂A = −(A⁻ᵀw)(A⁻¹1)ᵀ`, () => {
      const A = nonsym(4).requiresGrad_();
      const b = mg.randn([4], f64).requiresGrad_();
      const w = mg.randn([4], f64);
      const x = (make as () => linearSolve.LinearSolver<unknown>)()((v: mg.Tensor) => A.matmul(v), b);
      const [gb] = mg.autograd.grad(x.mul(w).sum(), [b], { createGraph: true }) as mg.Tensor[];
      const [gA] = mg.autograd.grad(gb.sum(), [A]) as mg.Tensor[];
      const u = gaussSolve(transposeOf(matOf(A)), vecOf(w));
      const v = gaussSolve(matOf(A), [1, 1, 1, 1]);
      assertClose(gA, u.flatMap((ui) => v.map((vj) => -ui * vj)), 1e-7, 1e-6, name);
    });
  }

  it('a solve is differentiated through one implicit rule, not through its iterations (graph size independent of maxiter)', () => {
    const A = spd(6).requiresGrad_();
    const b = mg.randn([6], f64);
    const nodes = (t: mg.Tensor): number => {
      const seen = new Set<unknown>();
      const stack = [t.gradFn as unknown as { next: ({ node: unknown } | null)[] } | null];
      while (stack.length > 0) {
        const n = stack.pop();
        if (!n || seen.has(n)) continue;
        seen.add(n);
        for (const e of n.next) if (e && 'node' in e) stack.push(e.node as typeof n);
      }
      return seen.size;
    };
    const sizes = [2, 6, 30].map((maxiter) => nodes(linearSolve.solveCg({ maxiter, rtol: 0 })((v: mg.Tensor) => A.matmul(v), b)));
    assert.equal(new Set(sizes).size, 1, `graph sizes ${sizes.join(', ')}`);
  });

  it('inside noGrad the result carries no graph even when the matvec closes over grad-requiring tensors', () => {
    const A = spd(3).requiresGrad_();
    const b = mg.randn([3], f64);
    for (const solve of [linearSolve.solveCg(), linearSolve.solveNormalCg(), linearSolve.solveDense()]) {
      const x = mg.noGrad(() => solve((v: mg.Tensor) => A.matmul(v), b));
      assert.equal(x.requiresGrad, false, solve.kind);
    }
  });
});

describe('linearSolve.solveIterativeRefinement and normalizeMatvec', () => {
  const A = mg.tensor([[4, 1, 0], [1, 3, 1], [0, 2, 5]], f64);
  const b = mg.tensor([1, -2, 3], f64);

  it('refinement over a heavily regularised inner solve still reaches the unregularised solution', () => {
    const infos: linalg.SolveInfo[] = [];
    const solve = linearSolve.solveIterativeRefinement({ ridge: 0.5, solve: linearSolve.solveDense(), maxiter: 100, tol: 1e-12 });
    const x = solve((v: mg.Tensor) => A.matmul(v), b, { onInfo: (i) => infos.push(i) });
    assertClose(x, gaussSolve(matOf(A), vecOf(b)), 1e-11);
    assert.ok(infos[0].converged && infos[0].iterations > 1, JSON.stringify(infos[0]));
    // A single inner solve of the regularised system is biased: refinement is what removes it.
    const once = linearSolve.solveDense({ ridge: 0.5 })((v: mg.Tensor) => A.matmul(v), b);
    assert.ok(once.sub(x).abs().max().item() > 1e-2);
  });

  it('is differentiable in what the matvec depends on (d x / d b = A⁻¹)', () => {
    const solve = linearSolve.solveIterativeRefinement({ solve: linearSolve.solveDense(), tol: 1e-14, maxiter: 50 });
    const bb = b.clone().requiresGrad_(true);
    const x = solve((v: mg.Tensor) => A.matmul(v), bb);
    const [g] = mg.autograd.grad(x.select(0, 0), bb) as mg.Tensor[];
    const inv = [0, 1, 2].map((j) => gaussSolve(matOf(A), [0, 1, 2].map((i) => (i === j ? 1 : 0))));
    assertClose(g, [inv[0][0], inv[1][0], inv[2][0]], 1e-10);
  });

  it('reports non-convergence in its info and raises on non-finite residuals', () => {
    const infos: linalg.SolveInfo[] = [];
    linearSolve.solveIterativeRefinement({ ridge: 100, solve: linearSolve.solveDense(), maxiter: 2 })((v: mg.Tensor) => A.matmul(v), b, { onInfo: (i) => infos.push(i) });
    assert.equal(infos[0].converged, false);
    assert.throws(() => linearSolve.solveIterativeRefinement({ solve: linearSolve.solveDense() })((v: mg.Tensor) => v.mul(Number.NaN), b), /solveDense|non-finite/);
  });

  it('normalizeMatvec turns a matrix, a block-diagonal tree of matrices or a function into a matvec', () => {
    const v = mg.tensor([1, 2, 3], f64);
    assertClose(linearSolve.normalizeMatvec<mg.Tensor>(A)(v), mulVec(matOf(A), vecOf(v)), 1e-12);
    const blocks = { a: mg.tensor([[2]], f64), b: mg.tensor([[1, 1], [0, 1]], f64) };
    const out = linearSolve.normalizeMatvec<{ a: mg.Tensor; b: mg.Tensor }>(blocks)({ a: mg.tensor([3], f64), b: mg.tensor([1, 2], f64) });
    assertClose(out.a, [6]);
    assertClose(out.b, [3, 2]);
    const f = (x: mg.Tensor) => x.mul(2);
    assert.equal(linearSolve.normalizeMatvec(f), f);
    assert.throws(() => linearSolve.normalizeMatvec(3 as never), /normalizeMatvec: argument 'A' must be a function/);
    assert.throws(() => linearSolve.normalizeMatvec(A)(mg.tensor([1, 2], f64)), /square matrix|shape|elements/);
  });
});
