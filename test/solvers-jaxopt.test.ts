/**
 * Bisection, Broyden, Newton, LBFGS, GradientDescent, ProximalGradient and ProjectedGradient on
 * JAXopt's test problems: solutions and implicit Jacobians against JAXopt's own values
 * (test/fixtures/jaxopt_reference.json, written by scripts/fixtures/jaxopt_reference.py with real
 * JAXopt in float64), against finite differences of tightly converged runs and against unrolled
 * differentiation; and a failure case per solver that must raise.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { analyticJacobian, assertClose } from './helpers/check';
import * as ex from '../examples/lasso-bilevel';

const { Bisection, Broyden, Newton, LBFGS, GradientDescent, ProximalGradient, ProjectedGradient } = mg.solvers;
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

interface Fixture {
  bisection: { x: number[]; lower: number; upper: number; tau: number; projection: number[]; jacobian: number[][] }[];
  broyden: {
    cos: { x0: number[]; theta: number[]; solution: number[]; jacobian: number[][] };
    tanh: { A: number[][]; c: number[]; solution: number[]; jacobianC: number[][] };
  };
  lbfgs: { logreg: { X: number[][]; y: number[]; lam: number; solution: number[]; jacobianLam: number[] }; rosenbrock: { x0: number[]; solution: number[] } };
  lasso: { X: number[][]; y: number[]; lam: number; solution: number[]; jacobianLam: number[]; elasticNet: { hyperparams: [number, number]; solution: number[] } };
  projected: {
    X: number[][]; y: number[]; nonNegative: number[];
    l2Ball: { radius: number; solution: number[]; jacobianRadius: number[] };
    simplex: { solution: number[]; jacobianY: number[][] };
  };
}
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'jaxopt_reference.json'), 'utf8')) as Fixture;

/**
 * Jacobian [out, in] by reverse mode, one output row at a time (func.jacrev would run the
 * solvers' host-side line searches inside vmap, which they refuse).
 */
function jacobian(fn: (x: T) => T, x: T): number[][] {
  return analyticJacobian(fn, [x], 0);
}

/** Central finite-difference derivative of a vector function of a scalar. */
function fdScalar(fn: (s: number) => T, s: number, eps = 1e-6): number[] {
  const [p, m] = [fn(s + eps), fn(s - eps)].map((t) => Array.from(t.data));
  return p.map((v, i) => (v - m[i]) / (2 * eps));
}

/** JAXopt's least squares objective ½·mean((Xw − y)²). */
const leastSquares = (w: T, X: T, y: T): T => X.matmul(w).sub(y).square().mean().mul(0.5);

describe('Bisection (JAXopt tests/bisection_test.py)', () => {
  const F = (tau: T, x: T, s: number): T => mg.relu(x.sub(tau)).sum().sub(s);

  it('the simplex projection threshold τ, the projection and its Jacobian equal JAXopt’s for three random vectors', () => {
    for (const c of REF.bisection) {
      const x = mg.tensor(c.x, f64);
      const bis = new Bisection({ optimalityFun: F, lower: c.lower, upper: c.upper, checkBracket: false, maxiter: 100, tol: 1e-12 });
      const { params, state } = bis.run(null, x, 1);
      assert.ok(state.converged);
      assertClose(params as T, c.tau, 1e-10);
      const proj = (v: T): T => mg.relu(v.sub(bis.run(null, v, 1).params as T));
      assertClose(proj(x), c.projection, 1e-10);
      // Implicit: dτ/dx through F's root, then through max(x − τ, 0).
      assertClose(jacobian(proj, x).flat(), c.jacobian.flat(), 1e-9);
      // mg.projection.simplex (sort-based, an independent algorithm) agrees, Jacobian included.
      assertClose(mg.projection.simplex(x), c.projection, 1e-10);
      assertClose(jacobian((v) => mg.projection.simplex(v), x).flat(), c.jacobian.flat(), 1e-9);
    }
  });

  it('a bracket that does not contain the root raises (lower too high, upper too low)', () => {
    const x = mg.tensor(REF.bisection[0].x.slice(0, 5), f64);
    const upper = x.max().item();
    const lower = x.min().item() - 1 / 5;
    assert.throws(() => new Bisection({ optimalityFun: F, lower: upper, upper }).run(null, x, 1), /F\(lower\) = -1 and F\(upper\) = -1 have the same sign/);
    assert.throws(() => new Bisection({ optimalityFun: F, lower, upper: lower }).run(null, x, 1), /have the same sign/);
  });

  it('grad of value-and-grad equals grad (JAXopt issue #141)', () => {
    const x = mg.tensor(REF.bisection[0].x.slice(0, 5), f64);
    const first = (v: T): T => {
      const bis = new Bisection({ optimalityFun: F, lower: v.min().item() - 0.2, upper: v.max().item(), checkBracket: false, maxiter: 100, tol: 1e-12 });
      return mg.relu(v.sub(bis.run(null, v, 1).params as T)).select(0, 0);
    };
    const g1 = mg.func.grad(first)(x);
    const g2 = mg.func.grad((v: T) => mg.func.valueAndGrad(first)(v)[0])(x);
    assertClose(g2, g1, 1e-12);
  });

  it('the edge case F(x) = x − 1/2 on [0, 1] is solved on the first iteration', () => {
    const { params, state } = new Bisection({ optimalityFun: (x: T) => x.sub(0.5), lower: 0, upper: 1 }).run(null);
    assert.equal((params as T).item(), 0.5);
    assert.equal(state.iterNum, 1);
  });

  it('runs per member under vmap (each x its own threshold)', () => {
    const xs = mg.stack(REF.bisection.map((c) => mg.tensor(c.x, f64)));
    const bis = new Bisection({ optimalityFun: F, lower: -10, upper: 10, maxiter: 200, tol: 1e-12 });
    const taus = mg.func.vmap((v: T) => bis.run(null, v, 1).params as T)(xs);
    assertClose(taus, REF.bisection.map((c) => c.tau), 1e-10);
  });
});

describe('Broyden (JAXopt tests/broyden_test.py)', () => {
  it('the cos root g(x) = cos x + θ − x and its Jacobian in θ equal JAXopt’s, implicit and unrolled', () => {
    const c = REF.broyden.cos;
    const g = (x: T, th: T) => x.cos().add(th).sub(x);
    for (const implicitDiff of [true, false]) {
      const b = new Broyden({ fun: g, maxiter: 200, tol: 1e-12, implicitDiff, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) });
      const sol = (th: T) => b.run(mg.tensor(c.x0, f64), th).params as T;
      assertClose(sol(mg.tensor(c.theta, f64)), c.solution, 1e-10);
      assertClose(jacobian(sol, mg.tensor(c.theta, f64)).flat(), c.jacobian.flat(), implicitDiff ? 1e-9 : 1e-6);
    }
  });

  it('a coupled system A tanh(x) + x = c: solution and ∂x/∂c equal JAXopt’s; Newton finds the same root', () => {
    const c = REF.broyden.tanh;
    const F = (x: T, A: T, cc: T) => A.matmul(x.tanh()).add(x).sub(cc);
    const A = mg.tensor(c.A, f64);
    const cc = mg.tensor(c.c, f64);
    const solve = mg.linearSolve.solveGmres({ rtol: 1e-12 });
    const b = new Broyden({ fun: F, maxiter: 500, tol: 1e-12, implicitDiffSolve: solve });
    assertClose(b.run(mg.zeros([6], f64), A, cc).params as T, c.solution, 1e-10);
    assertClose(jacobian((v) => b.run(mg.zeros([6], f64), A, v).params as T, cc).flat(), c.jacobianC.flat(), 1e-8);
    const nt = new Newton({ fun: F, tol: 1e-12, linearSolver: mg.linearSolve.solveGmres({ rtol: 1e-13 }), implicitDiffSolve: solve });
    const r = nt.run(mg.zeros([6], f64), A, cc);
    assertClose(r.params as T, c.solution, 1e-10);
    assert.ok(r.state.iterNum < 10, `Newton took ${r.state.iterNum} iterations`);
    assertClose(jacobian((v) => nt.run(mg.zeros([6], f64), A, v).params as T, cc).flat(), c.jacobianC.flat(), 1e-8);
  });

  it('fixed points through fixedPointFun (γ = −1 by default) and the line search', () => {
    const f = (x: T, th: T) => x.cos().add(th);
    const fp = new Broyden({ fixedPointFun: f, tol: 1e-12 }).run(mg.tensor([0.3, 0.3], f64), mg.tensor([0, 1], f64));
    assertClose(fp.params as T, REF.broyden.cos.solution, 1e-10);
    const ls = new Broyden({ fun: (x: T, th: T) => x.cos().add(th).sub(x), stepsize: 0, tol: 1e-12 }).run(mg.tensor([0.3, 0.3], f64), mg.tensor([0, 1], f64));
    assertClose(ls.params as T, REF.broyden.cos.solution, 1e-10);
  });

  it('a function without a root fails loudly (x² + 1 = 0)', () => {
    assert.throws(() => new Broyden({ fun: (x: T) => x.square().add(1), maxiter: 50 }).run(mg.tensor([0.5], f64)), /Broyden\.run: (did not converge|diverged|the error is)/);
  });
});

describe('Newton', () => {
  it('x³ = θ: cube root, derivative 1/(3x²) and second derivative against the closed form', () => {
    const nt = new Newton({ fun: (x: T, th: T) => x.pow(3).sub(th), tol: 1e-13, linearSolver: mg.linearSolve.solveDense() });
    const th = mg.tensor([8, 27], { ...f64, requiresGrad: true });
    const x = nt.run(mg.tensor([1, 1], f64), th).params as T;
    assertClose(x, [2, 3], 1e-12);
    const [d1] = mg.autograd.grad(x.sum(), th, { createGraph: true }) as T[];
    assertClose(d1, [1 / 12, 1 / 27], 1e-10);
    const [d2] = mg.autograd.grad(d1.sum(), th) as T[];
    // d²/dθ² θ^{1/3} = −(2/9) θ^{−5/3}
    assertClose(d2, [8, 27].map((t) => (-2 / 9) * t ** (-5 / 3)), 1e-9);
  });

  it('unrolled (implicitDiff: false) equals the implicit gradient on the tanh system', () => {
    const c = REF.broyden.tanh;
    const F = (x: T, A: T, cc: T) => A.matmul(x.tanh()).add(x).sub(cc);
    const A = mg.tensor(c.A, f64);
    const nt = new Newton({ fun: F, tol: 1e-12, linearSolver: mg.linearSolve.solveDense(), implicitDiff: false });
    assertClose(jacobian((v) => nt.run(mg.zeros([6], f64), A, v).params as T, mg.tensor(c.c, f64)).flat(), c.jacobianC.flat(), 1e-8);
  });

  it('a singular Jacobian is reported as singular (F(x) = x² at 0 with a dense solve)', () => {
    const r = new Newton({ fun: (x: T) => x.square().add(1), linearSolver: mg.linearSolve.solveDense(), throw: false }).run(mg.tensor([0], f64));
    assert.equal(r.state.result, 'singular');
    assert.match(r.state.message, /Newton system .* could not be solved/);
  });

  it('the line search fails loudly when no step decreases ‖F‖', () => {
    assert.throws(() => new Newton({ fun: (x: T) => x.square().add(1), linesearch: true, maxiter: 50 }).run(mg.tensor([0.5], f64)), /Newton\.run: (no step along the Newton direction|did not converge)/);
  });
});

describe('LBFGS (JAXopt tests/lbfgs_test.py)', () => {
  const c = REF.lbfgs.logreg;
  const X = mg.tensor(c.X, f64);
  const y = mg.tensor(c.y, f64);
  const logreg = (w: T, lam: T | number): T => {
    const z = X.matmul(w);
    return mg.softplus(z).sub(y.mul(z)).mean().add(w.square().sum().mul(lam).mul(0.5));
  };

  it('binary logistic regression: the solution and ∂w*/∂λ equal JAXopt’s; unrolled agrees', () => {
    const solver = new LBFGS({ fun: logreg, tol: 1e-12, maxiter: 1000, implicitDiffSolve: mg.linearSolve.solveCg({ rtol: 1e-13 }) });
    const sol = solver.run(mg.zeros([5], f64), c.lam).params as T;
    assertClose(sol, c.solution, 1e-9);
    const lam = mg.tensor(c.lam, f64);
    const J = jacobian((l: T) => solver.run(mg.zeros([5], f64), l).params as T, lam).flat();
    assertClose(J, c.jacobianLam, 1e-8);
    const unrolled = new LBFGS({ fun: logreg, tol: 1e-12, maxiter: 1000, implicitDiff: false });
    const Ju = jacobian((l: T) => unrolled.run(mg.zeros([5], f64), l).params as T, lam).flat();
    assertClose(Ju, c.jacobianLam, 1e-6);
    assertClose(fdScalar((s) => solver.run(mg.zeros([5], f64), s).params as T, c.lam), c.jacobianLam, 1e-6);
  });

  it('Rosenbrock in 4 dimensions reaches JAXopt’s minimum (1, 1, 1, 1)', () => {
    const rosen = (x: T): T => {
      const a = x.narrow(0, 0, 3);
      const b = x.narrow(0, 1, 3);
      return b.sub(a.square()).square().mul(100).add(mg.sub(1, a).square()).sum();
    };
    const r = new LBFGS({ fun: rosen, tol: 1e-10, maxiter: 2000 }).run(mg.tensor(REF.lbfgs.rosenbrock.x0, f64));
    assertClose(r.params as T, REF.lbfgs.rosenbrock.solution, 1e-7);
  });

  it('historySize 0 (gradient descent with the line search) still converges on the logistic regression', () => {
    const r = new LBFGS({ fun: logreg, tol: 1e-6, maxiter: 5000, historySize: 0 }).run(mg.zeros([5], f64), c.lam);
    assertClose(r.params as T, c.solution, 1e-5);
  });

  it('an unbounded objective fails loudly (f(x) = −‖x‖)', () => {
    assert.throws(() => new LBFGS({ fun: (x: T) => x.sum().neg(), maxiter: 100 }).run(mg.ones([2], f64)), /LBFGS\.run: (diverged|did not converge)/);
  });
});

describe('ProximalGradient (JAXopt tests/proximal_gradient_test.py): the lasso', () => {
  const c = REF.lasso;
  const X = mg.tensor(c.X, f64);
  const y = mg.tensor(c.y, f64);
  const fun = (w: T) => leastSquares(w, X, y);

  for (const acceleration of [true, false]) {
    it(`solution with λ = 10 equals JAXopt’s (acceleration ${acceleration}); error below tol 1e-3 with JAXopt's settings`, () => {
      const loose = new ProximalGradient({ fun, prox: mg.prox.l1, maxiter: 200, tol: 1e-3, acceleration }).run(mg.zeros([3], f64), c.lam);
      assert.ok(loose.state.error < 1e-3);
      assertClose(loose.params as T, c.solution, 1e-2);
      const tight = new ProximalGradient({ fun, prox: mg.prox.l1, maxiter: 5000, tol: 1e-12, acceleration }).run(mg.zeros([3], f64), c.lam);
      assertClose(tight.params as T, c.solution, 1e-9);
    });
  }

  it('∂w*/∂λ by implicit differentiation equals JAXopt’s and finite differences (a zero coordinate stays at zero)', () => {
    const pg = new ProximalGradient({ fun, prox: mg.prox.l1, tol: 1e-12, maxiter: 5000, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) });
    const sol = mg.tensor(c.solution, f64);
    const J = jacobian((lam: T) => pg.run(sol, lam).params as T, mg.tensor(c.lam, f64)).flat();
    assertClose(J, c.jacobianLam, 1e-8);
    assertClose(fdScalar((s) => pg.run(sol, s).params as T, c.lam, 1e-5), c.jacobianLam, 1e-6);
  });

  it('unrolled differentiation through the iterations gives the same ∂w*/∂λ', () => {
    const pg = new ProximalGradient({ fun, prox: mg.prox.l1, tol: 1e-12, maxiter: 5000, implicitDiff: false });
    const J = jacobian((lam: T) => pg.run(mg.zeros([3], f64), lam).params as T, mg.tensor(c.lam, f64)).flat();
    assertClose(J, c.jacobianLam, 1e-7);
  });

  it('a run that stops at maxiter raises, naming ProximalGradient; ProjectedGradient likewise', () => {
    assert.throws(() => new ProximalGradient({ fun, prox: mg.prox.l1, maxiter: 3, tol: 1e-12 }).run(mg.zeros([3], f64), c.lam), /ProximalGradient\.run: did not converge in 3 iterations/);
    assert.throws(() => new ProjectedGradient({ fun, projection: mg.projection.nonNegative, maxiter: 3, tol: 1e-12 }).run(mg.zeros([3], f64), null), /ProjectedGradient\.run: did not converge in 3 iterations/);
  });

  it('elastic net: JAXopt’s [λ, γ] = [2, 0.5] (l2 weight λγ) is l1reg 2, l2reg 1 here', () => {
    const r = new ProximalGradient({ fun, prox: mg.prox.elasticNet, tol: 1e-12, maxiter: 5000 }).run(mg.zeros([3], f64), [2, 1]);
    assertClose(r.params as T, c.elasticNet.solution, 1e-9);
  });

  it('GradientDescent on ridge regression equals the closed form (XᵀX/n + λI)⁻¹ Xᵀy/n, its gradient in λ too', () => {
    const n = c.y.length;
    const ridge = (w: T, lam: T) => fun(w).add(w.square().sum().mul(lam).mul(0.5));
    const gd = new GradientDescent({ fun: ridge, tol: 1e-12, maxiter: 5000, implicitDiffSolve: mg.linearSolve.solveCg({ rtol: 1e-13 }) });
    const closed = (lam: T): T => mg.linalg.solve(X.t().matmul(X).div(n).add(mg.eye(3, f64).mul(lam)), X.t().matmul(y).div(n));
    const lam = mg.tensor(0.5, f64);
    assertClose(gd.run(mg.zeros([3], f64), lam).params as T, closed(lam), 1e-9);
    assertClose(jacobian((l: T) => gd.run(mg.zeros([3], f64), l).params as T, lam).flat(), mg.func.jacrev(closed)(lam) as T, 1e-8);
  });

  it('a fixed step that is too large diverges loudly', () => {
    assert.throws(() => new GradientDescent({ fun, stepsize: 10, acceleration: false, maxiter: 500 }).run(mg.zeros([3], f64)), /GradientDescent\.run: diverged/);
  });
});

describe('ProjectedGradient (JAXopt tests/projected_gradient_test.py)', () => {
  const c = REF.projected;
  const X = mg.tensor(c.X, f64);
  const y = mg.tensor(c.y, f64);
  const fun = (w: T, yy: T = y) => leastSquares(w, X, yy);

  it('non-negative least squares equals JAXopt’s solution and satisfies the KKT conditions', () => {
    const r = new ProjectedGradient({ fun, projection: mg.projection.nonNegative, tol: 1e-12, maxiter: 5000 }).run(mg.zeros([5], f64), null);
    const w = r.params as T;
    assertClose(w, c.nonNegative, 1e-8);
    const g = mg.func.grad(fun)(w);
    (w.tolist() as number[]).forEach((wi, i) => {
      const gi = (g.tolist() as number[])[i];
      assert.ok(wi >= 0 && gi > -1e-8 && Math.abs(wi * gi) < 1e-8, `KKT at ${i}: w ${wi}, ∇ ${gi}`);
    });
  });

  it('the l2 ball of radius 0.1: solution inside the ball, ∂w*/∂radius equals JAXopt’s and finite differences', () => {
    const pg = new ProjectedGradient({ fun, projection: mg.projection.l2Ball, tol: 1e-12, maxiter: 5000, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) });
    const sol = (r: T | number) => pg.run(mg.zeros([5], f64), r).params as T;
    assertClose(sol(0.1), c.l2Ball.solution, 1e-9);
    assert.ok(sol(0.1).square().sum().sqrt().item() <= 0.1 + 1e-12);
    assertClose(jacobian(sol, mg.tensor(0.1, f64)).flat(), c.l2Ball.jacobianRadius, 1e-8);
    assertClose(fdScalar((s) => sol(s), 0.1), c.l2Ball.jacobianRadius, 1e-6);
  });

  it('the simplex: solution and ∂w*/∂y equal JAXopt’s', () => {
    const pg = new ProjectedGradient({ fun: (w: T, yy: T) => fun(w, yy), projection: mg.projection.simplex, tol: 1e-12, maxiter: 5000, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) });
    // run(init, hyperparamsProj, ...args): the simplex's sum is the hyperparameter.
    const sol = (yy: T) => pg.run(mg.zeros([5], f64), 1, yy).params as T;
    assertClose(sol(y), c.simplex.solution, 1e-9);
    assertClose(jacobian(sol, y).flat(), c.simplex.jacobianY.flat(), 1e-7);
  });

  it('runs under vmap with a fixed step: one box-constrained problem per member', () => {
    const pg = new ProjectedGradient({ fun, projection: mg.projection.box, stepsize: 0.2, tol: 1e-10, maxiter: 5000 });
    const bounds = mg.tensor([0.05, 0.1, 0.2], f64);
    const batched = mg.func.vmap((hi: T) => pg.run(mg.zeros([5], f64), [mg.neg(hi), hi]).params as T)(bounds);
    const loop = mg.stack([0.05, 0.1, 0.2].map((hi) => pg.run(mg.zeros([5], f64), [-hi, hi]).params as T));
    assertClose(batched, loop, 1e-9);
    // The line search needs a step per member: refused with the remedy.
    const searched = new ProjectedGradient({ fun, projection: mg.projection.box });
    assert.throws(() => mg.func.vmap((hi: T) => searched.run(mg.zeros([5], f64), [mg.neg(hi), hi]).params as T)(bounds), /cannot run inside vmap.*pass a fixed positive 'stepsize'/);
  });
});

describe('prox operators and projections against their definitions', () => {
  it('l1, l2Squared, elasticNet, nonNegative minimise ½‖z − x‖² + s·g(z) (checked against a grid)', () => {
    const xs = [-2, -0.3, 0, 0.4, 1.7];
    const s = 0.7;
    const cases: [string, (x: T) => T, (z: number) => number][] = [
      ['l1', (x) => mg.prox.l1(x, 0.5, s), (z) => 0.5 * Math.abs(z)],
      ['l2Squared', (x) => mg.prox.l2Squared(x, 2, s), (z) => z * z],
      ['elasticNet', (x) => mg.prox.elasticNet(x, [0.5, 2], s), (z) => 0.5 * Math.abs(z) + z * z],
      ['nonNegative', (x) => mg.prox.nonNegative(x), (z) => (z >= 0 ? 0 : Infinity)],
    ];
    for (const [name, p, g] of cases) {
      const got = p(mg.tensor(xs, f64)).tolist() as number[];
      xs.forEach((x, i) => {
        let best = 0;
        let bestV = Infinity;
        for (let z = -3; z <= 3; z += 1e-4) {
          const v = 0.5 * (z - x) ** 2 + (name === 'nonNegative' ? 1 : s) * g(z);
          if (v < bestV) [best, bestV] = [z, v];
        }
        assertClose(got[i], best, 2e-4, 0, `${name}(${x})`);
      });
    }
  });

  it('box and l2Ball project onto their sets; the l2 ball’s derivative in the radius is x/‖x‖ outside it', () => {
    const x = mg.tensor([3, -4], f64);
    assertClose(mg.projection.box(x, [-1, 2]), [2, -1]);
    assertClose(mg.projection.l2Ball(x, 1), [0.6, -0.8], 1e-12);
    assertClose(mg.projection.l2Ball(mg.tensor([0.1, 0.2], f64), 1), [0.1, 0.2], 1e-12);
    assertClose(mg.func.jacrev((r: T) => mg.projection.l2Ball(x, r))(mg.tensor(1, f64)) as T, [0.6, -0.8], 1e-12);
  });
});

describe('examples/lasso-bilevel.ts: λ learned through the lasso solution', () => {
  it('the hypergradient d val / d log λ equals finite differences, and tuning lowers the validation loss', () => {
    const at = mg.tensor(Math.log(0.3), { dtype: 'float64', requiresGrad: true });
    const [g] = mg.autograd.grad(ex.validationLoss(at), at) as T[];
    const eps = 1e-5;
    const fd = (ex.validationLoss(mg.tensor(Math.log(0.3) + eps, f64)).item() - ex.validationLoss(mg.tensor(Math.log(0.3) - eps, f64)).item()) / (2 * eps);
    assertClose(g.item(), fd, 1e-7, 1e-5);
    const path = ex.tune(10);
    assert.ok(path[path.length - 1].valLoss < 0.1 * path[0].valLoss, JSON.stringify(path));
  });
});
