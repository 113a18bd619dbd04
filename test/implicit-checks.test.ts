/**
 * Implicit gradients are right or loudly refused: the root check after the forward solve, the
 * true-residual check of the backward linear solve, symmetry for Cholesky, and the messages.
 * Each case returned a silently wrong gradient before these checks.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose, warningsOf } from './helpers/check';
import { denseSolve } from './helpers/dense';

const f64 = { dtype: 'float64' as const };
const { customRoot, customFixedPoint, rootVjp, rootJvp, lastSolveInfo } = mg.diff.implicit;
const S = mg.linearSolve;

describe('root check: the solver must return a root', () => {
  const F = (x: mg.Tensor, th: mg.Tensor) => x.square().sub(th);
  const returnsGuess = (x0: mg.Tensor, _th: mg.Tensor) => x0.clone();

  it('a solver that returns its initial guess is refused (the IFT would give 1/(2·0.1) = 5 instead of 0.25)', () => {
    const solver = customRoot(F, { argnums: 1 })(returnsGuess);
    const th = mg.tensor(4, { ...f64, requiresGrad: true });
    assert.throws(() => solver(mg.tensor(0.1, f64), th), (e: Error) => e instanceof mg.NumericalError && /customRoot\(returnsGuess\): the solver's result is not a root/.test(e.message) && /rootTol/.test(e.message));
  });

  it("checkRoot: 'warn' warns once per wrapper and differentiates anyway; false is silent", async () => {
    const warned = customRoot(F, { argnums: 1, checkRoot: 'warn' })(returnsGuess);
    const th = mg.tensor(4, { ...f64, requiresGrad: true });
    const ws = await warningsOf(() => {
      for (let i = 0; i < 3; i++) {
        const [g] = mg.autograd.grad(warned(mg.tensor(0.1, f64), th), th);
        assertClose(g, 5, 1e-9);
      }
    });
    assert.equal(ws.filter((w) => w.code === 'METAGRAD_NOT_A_ROOT').length, 1);
    const silent = customRoot(F, { argnums: 1, checkRoot: false })(returnsGuess);
    assert.equal((await warningsOf(() => mg.autograd.grad(silent(mg.tensor(0.1, f64), th), th))).length, 0);
  });

  it('a true root passes, and its residual is in the solve info', () => {
    const solver = customRoot(F, { argnums: 1, solve: S.solveCg({ rtol: 1e-12 }) })((_x0: mg.Tensor, th: mg.Tensor) => th.sqrt());
    const th = mg.tensor(4, { ...f64, requiresGrad: true });
    const [g] = mg.autograd.grad(solver(mg.tensor(1, f64), th), th);
    assertClose(g, 0.25, 1e-12);
    const info = lastSolveInfo();
    assert.ok(info !== null && info.rootResidual !== undefined && info.rootResidual < 1e-12, JSON.stringify(info));
  });

  it('a diverged fixed-point iteration is refused, named as customFixedPoint', () => {
    const T = (x: mg.Tensor, th: mg.Tensor) => x.mul(3).add(th);
    const iterate = (x0: mg.Tensor, th: mg.Tensor) => {
      let x = x0;
      for (let i = 0; i < 30; i++) x = T(x, th);
      return x;
    };
    const solver = customFixedPoint(T, { argnums: 1 })(iterate);
    const th = mg.tensor(1, { ...f64, requiresGrad: true });
    assert.throws(() => solver(mg.tensor(0.1, f64), th), /customFixedPoint\(iterate\): the solver's result is not a root/);
    // Far beyond 1e154, where squaring overflows: still a finite residual, not "non-finite".
    const huge = customFixedPoint(T, { argnums: 1 })((_x0: mg.Tensor, _th: mg.Tensor) => mg.tensor([1e200, -3e180], f64));
    assert.throws(() => huge(mg.zeros([2], f64), th), (e: Error) => /‖F\(x\*, θ\)‖ = 2\.000e\+200 for ‖x\*‖ = 1\.000e\+200/.test(e.message));
  });

  it('a NaN solution is refused even when F is linear (whose Jacobian alone would give a finite gradient)', () => {
    const solver = customRoot((x: mg.Tensor, th: mg.Tensor) => x.mul(2).sub(th), { argnums: 1 })((x0: mg.Tensor, _th: mg.Tensor) => x0.mul(Number.NaN));
    const th = mg.tensor([1, 2], { ...f64, requiresGrad: true });
    assert.throws(() => solver(mg.zeros([2], f64), th), /non-finite entries/);
    const warned = customRoot((x: mg.Tensor, th2: mg.Tensor) => x.mul(2).sub(th2), { argnums: 1, checkRoot: 'warn' })((x0: mg.Tensor, _th: mg.Tensor) => x0.mul(Number.NaN));
    assert.doesNotThrow(() => warned(mg.zeros([2], f64), th));
  });

  it('a DEQ stopped early (3 iterations) is refused by default, accepted with rootTol, and exact when converged', () => {
    const W = mg.tensor([[0.3, -0.2, 0.1], [0.1, 0.4, -0.3], [-0.2, 0.1, 0.2]], f64);
    const T = (z: mg.Tensor, x: mg.Tensor) => mg.tanh(W.matmul(z).add(x));
    const iterate = (n: number) => (z0: mg.Tensor, x: mg.Tensor) => {
      let z = z0;
      for (let i = 0; i < n; i++) z = T(z, x);
      return z;
    };
    const x = mg.tensor([0.5, -1, 2], { ...f64, requiresGrad: true });
    const z0 = mg.zeros([3], f64);
    const solve = S.solveDense();
    assert.throws(() => customFixedPoint(T, { argnums: 1, solve })(iterate(3))(z0, x), /not a root/);
    assert.doesNotThrow(() => customFixedPoint(T, { argnums: 1, solve, rootTol: 0.5 })(iterate(3))(z0, x));
    // Converged: the gradient of sum(z*) equals central finite differences of the converged map.
    const exact = customFixedPoint(T, { argnums: 1, solve })(iterate(200));
    const [g] = mg.autograd.grad(exact(z0, x).sum(), x);
    const fd = [0, 1, 2].map((i) => {
      const h = 1e-6;
      const e = mg.zeros([3], f64);
      e.data[i] = h;
      const up = mg.noGrad(() => iterate(200)(z0, x.detach().add(e)).sum().item());
      const dn = mg.noGrad(() => iterate(200)(z0, x.detach().sub(e)).sum().item());
      return (up - dn) / (2 * h);
    });
    assertClose(g, fd, 1e-8, 1e-6);
  });

  it('rootVjp and rootJvp check the given solution too', () => {
    const F2 = (x: mg.Tensor, th: mg.Tensor) => x.sub(th);
    const th = mg.tensor([1, 2], f64);
    assert.throws(() => rootVjp(F2, mg.zeros([2], f64), [null, th], mg.ones([2], f64), { argnums: 1 }), /rootVjp: the solver's result is not a root/);
    assert.throws(() => rootJvp(F2, mg.zeros([2], f64), [null, th], [mg.ones([2], f64)], { argnums: 1 }), /rootJvp: the solver's result is not a root/);
    const vjp = rootVjp(F2, th.clone(), [null, th], mg.ones([2], f64), { argnums: 1 });
    assertClose(vjp[0] as mg.Tensor, [1, 1], 1e-9);
  });

  it('rejects a bad checkRoot or rootTol', () => {
    assert.throws(() => customRoot(F, { argnums: 1, checkRoot: 'yes' as unknown as 'raise' }), /customRoot: argument 'checkRoot' must be 'raise', 'warn' or false, got "yes"/);
    assert.throws(() => customRoot(F, { argnums: 1, rootTol: -1 }), /argument 'rootTol' must be a positive number, got -1/);
  });
});

describe('backward solve: the system the IFT needs must be solved', () => {
  it('a singular Jacobian (A = diag(1×9, 0)) under the default normal CG raises instead of a zero gradient', () => {
    const A = mg.tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], f64);
    const solver = customRoot((x: mg.Tensor, th: mg.Tensor) => A.mul(x).sub(th), { argnums: 1 })((_x0: mg.Tensor, th: mg.Tensor) => th.clone());
    const th = mg.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 0], { ...f64, requiresGrad: true });
    const x = solver(mg.zeros([10], f64), th); // θ has no null component: x = θ is a root
    assert.throws(
      () => mg.autograd.grad(x.sum(), th),
      (e: Error) => e instanceof mg.NumericalError && /\(solveNormalCg\) reported convergence, but the system .* is not solved/.test(e.message) && /singular/.test(e.message),
    );
    assert.equal(lastSolveInfo()?.converged, false);
  });

  it('an ill-conditioned but regular system under normal CG is refined to the dense answer', () => {
    // A = Q diag(σ) Qᵀ + a skew part: non-symmetric, condition number ~ 3e3.
    const n = 12;
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      rows.push([]);
      for (let j = 0; j < n; j++) rows[i].push((i === j ? 10 ** (-3.5 * i / (n - 1)) : 0) + (j === i + 1 ? 0.3 : 0) - (j === i - 1 ? 0.2 : 0));
    }
    const A = mg.tensor(rows, f64);
    const solver = customRoot((x: mg.Tensor, th: mg.Tensor) => A.matmul(x).sub(th), { argnums: 1, solve: S.solveNormalCg({ rtol: 1e-10 }) })(
      (_x0: mg.Tensor, th: mg.Tensor) => mg.linalg.solve(A, th),
    );
    const th = mg.tensor(Array.from({ length: n }, (_, i) => Math.sin(i + 1)), { ...f64, requiresGrad: true });
    const v = Array.from({ length: n }, (_, i) => Math.cos(i));
    const [g] = mg.autograd.grad(solver(mg.zeros([n], f64), th), th, { gradOutputs: mg.tensor(v, f64) });
    // d(vᵀx)/dθ = A⁻ᵀ v
    const At = rows[0].map((_, j) => rows.map((r) => r[j]));
    assertClose(g, denseSolve(At, v), 1e-6, 1e-6);
  });

  it('a non-symmetric Jacobian under solveCg raises and names the solvers to use', () => {
    const B = mg.tensor([[1, 2], [-3, 1]], f64);
    const solver = customRoot((x: mg.Tensor, th: mg.Tensor) => B.matmul(x).sub(th), { argnums: 1, solve: S.solveCg() })((_x0: mg.Tensor, th: mg.Tensor) => mg.linalg.solve(B, th));
    const th = mg.tensor([1, 1], { ...f64, requiresGrad: true });
    const x = solver(mg.zeros([2], f64), th);
    assert.throws(() => mg.autograd.grad(x.sum(), th), (e: Error) => e instanceof mg.NumericalError && /symmetric positive-definite/.test(e.message) && /solveGmres/.test(e.message));
    // The same system under GMRES gives B⁻ᵀ·1.
    const ok = customRoot((y: mg.Tensor, t2: mg.Tensor) => B.matmul(y).sub(t2), { argnums: 1, solve: S.solveGmres({ rtol: 1e-12 }) })((_x0: mg.Tensor, t2: mg.Tensor) => mg.linalg.solve(B, t2));
    const [g] = mg.autograd.grad(ok(mg.zeros([2], f64), th).sum(), th);
    assertClose(g, denseSolve([[1, -3], [2, 1]], [1, 1]), 1e-10);
  });

  it("solveDense({ method: 'cholesky' }) and linalg.solve refuse a non-symmetric matrix", () => {
    const C = mg.tensor([[2, 1], [0, 2]], f64); // Cholesky of its lower triangle would succeed
    assert.throws(() => S.solveDense({ method: 'cholesky' })((v: mg.Tensor) => C.matmul(v), mg.tensor([1, 1], f64)), /method 'cholesky' needs a symmetric positive-definite matrix, but the 2×2 matrix is not symmetric/);
    assert.throws(() => mg.linalg.solve(C, mg.tensor([1, 1], f64), { method: 'cholesky' }), /linalg.solve: method 'cholesky'/);
    const Sym = mg.tensor([[2, 1], [1, 2]], f64);
    assertClose(mg.linalg.solve(Sym, mg.tensor([1, 1], f64), { method: 'cholesky' }), [1 / 3, 1 / 3], 1e-12);
  });

  it('non-finite matrix entries are named as such, not as a singular matrix', () => {
    const N = mg.tensor([[1, Number.NaN], [0, 1]], f64);
    assert.throws(() => mg.linalg.solve(N, mg.tensor([1, 1], f64)), /non-finite entry \(NaN at \[0, 1\]\)/);
    assert.throws(() => S.solveInv()((v: mg.Tensor) => N.matmul(v), mg.tensor([1, 1], f64)), /solveInv: the 2×2 matrix has a non-finite entry/);
  });
});

describe('messages of implicit differentiation', () => {
  it('a solver that differentiates without enableGrad is told that customRoot turned recording off', () => {
    const F = (x: mg.Tensor, th: mg.Tensor) => x.sub(th);
    const solver = customRoot(F, { argnums: 1 })(function gradientSteps(x0: mg.Tensor, th: mg.Tensor) {
      const x = x0.clone().requiresGrad_(true);
      const loss = x.sub(th).square().sum();
      return x.sub(mg.autograd.grad(loss, x)[0]);
    });
    assert.throws(() => solver(mg.zeros([2], f64), mg.ones([2], { ...f64, requiresGrad: true })), /customRoot\(gradientSteps\): the solver failed to differentiate: .*customRoot runs the solver with gradient recording off.*mg\.enableGrad/);
  });

  it('lastSolveInfo().site names customFixedPoint for a fixed point', () => {
    const T = (z: mg.Tensor, x: mg.Tensor) => z.mul(0.5).add(x);
    const solver = customFixedPoint(T, { argnums: 1, solve: S.solveDense() })(function halve(_z0: mg.Tensor, x: mg.Tensor) {
      return x.mul(2);
    });
    const x = mg.tensor([1, 2], { ...f64, requiresGrad: true });
    const [g] = mg.autograd.grad(solver(mg.zeros([2], f64), x).sum(), x);
    assertClose(g, [2, 2], 1e-12);
    assert.equal(lastSolveInfo()?.site, 'customFixedPoint(halve)');
  });
});

describe('backward solve: a hand-written solver that reports nothing', () => {
  const B = mg.tensor([[3, 1], [1, 2]], f64);
  const F = (x: mg.Tensor, th: mg.Tensor) => B.matmul(x).sub(th);
  const inner = (_x0: mg.Tensor, th: mg.Tensor) => mg.linalg.solve(B, th);

  it('is judged by its true residual: exact → converged, two Jacobi sweeps → approximate (warned once), garbage → raised', async () => {
    // The backward hands solvers flat lists of tensors (one per solution leaf).
    const exact: mg.diff.implicit.LinearSolver = (_matvec, b) => [mg.linalg.solve(B, (b as mg.Tensor[])[0])]; // Bᵀ = B
    const th = mg.tensor([1, 2], { ...f64, requiresGrad: true });
    const [g] = mg.autograd.grad(customRoot(F, { argnums: 1, solve: exact })(inner)(mg.zeros([2], f64), th).sum(), th);
    assertClose(g, denseSolve([[3, 1], [1, 2]], [1, 1]), 1e-12);
    assert.equal(lastSolveInfo()?.converged, true);
    // Two Jacobi sweeps on B u = b: close, not exact.
    const jacobi: mg.diff.implicit.LinearSolver = (matvec, b) => {
      const bt = (b as mg.Tensor[])[0];
      let u = mg.zerosLike(bt);
      for (let k = 0; k < 2; k++) u = u.add(bt.sub((matvec([u]) as mg.Tensor[])[0]).div(mg.tensor([3, 2], f64)));
      return [u];
    };
    const ws = await warningsOf(() => mg.autograd.grad(customRoot(F, { argnums: 1, solve: jacobi })(inner)(mg.zeros([2], f64), th).sum(), th));
    assert.equal(lastSolveInfo()?.converged, false);
    assert.equal(ws.filter((w) => w.code === 'METAGRAD_SOLVE_NOT_CONVERGED').length, 1);
    assert.match(ws[0].message, /customRoot\(inner\): the backward linear solve \(a solver that reports no iteration count\) stopped with residual norm 2\.357e-1 .*Solve more accurately/);
    const garbage: mg.diff.implicit.LinearSolver = (_matvec, b) => [(b as mg.Tensor[])[0].mul(-100)];
    assert.throws(() => mg.autograd.grad(customRoot(F, { argnums: 1, solve: garbage })(inner)(mg.zeros([2], f64), th).sum(), th), /worse than x = 0/);
  });
});
