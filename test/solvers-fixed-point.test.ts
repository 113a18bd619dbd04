/**
 * FixedPointIteration and AndersonAcceleration: JAXopt's own test cases
 * (tests/fixed_point_iteration_test.py, tests/anderson_test.py) ported with their inputs and
 * tolerances, plus gradients against finite differences in float64 and against unrolled
 * differentiation, and the failure cases that must raise.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose, gradcheck } from './helpers/check';
import { denseSolve } from './helpers/dense';

const { FixedPointIteration, AndersonAcceleration, Broyden } = mg.solvers;
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

/** JAXopt's random contractive affine map: M symmetric, scaled so that its spectral radius is below 1/2. */
function contractiveAffine(n: number, seed: number, dtype: mg.DType = 'float64'): { M: T; b: T } {
  const gen = new mg.Generator().manualSeed(seed);
  let M = mg.rand([n, n], { generator: gen, dtype: 'float64' }).mul(2).sub(1);
  M = M.add(M.t());
  // Spectral radius of a symmetric matrix by power iteration on M² (dominant |λ|).
  let v = mg.ones([n], f64);
  for (let i = 0; i < 500; i++) v = M.matmul(M.matmul(v)).div(M.matmul(M.matmul(v)).square().sum().sqrt());
  const rho = Math.sqrt(M.matmul(v).square().sum().item() / v.square().sum().item());
  M = M.div(2 * rho + 1e-4);
  const b = mg.rand([n], { generator: gen, dtype: 'float64' });
  return { M: M.to(dtype), b: b.to(dtype) };
}

const norm = (x: unknown): number => Math.sqrt(mg.tree.leaves(x).reduce((s, t) => s + t.square().sum().item(), 0));

for (const [label, make] of [
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cases' parameter types differ (tensors, tuples)
  ['FixedPointIteration', (o: Record<string, unknown>): mg.solvers.IterativeSolver<any> => new FixedPointIteration(o as never)],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ['AndersonAcceleration', (o: Record<string, unknown>): mg.solvers.IterativeSolver<any> => new AndersonAcceleration({ historySize: 5, ridge: 1e-6, ...o } as never)],
] as const) {
  describe(`${label}: JAXopt's test cases`, () => {
    it('geometric decay with ratios 0.9, 0.99, 0.999 reaches tol 1e-5 and ‖x‖ < 1e-2', () => {
      const r = mg.tensor([0.9, 0.99, 0.999]);
      const solver = make({ fixedPointFun: (x: T) => r.mul(x), maxiter: 10000, tol: 1e-5 });
      const { params, state } = solver.run(mg.tensor([1, 0.4, -0.2]));
      assert.ok(state.error < 1e-5, `error ${state.error}`);
      assert.ok(state.converged && state.result === 'successful');
      assert.ok(norm(params) < 1e-2);
    });

    it('sin/polynomial fixed point on a tree (tuple input) converges to 0 within 1e-6', () => {
      const f = (x: [T, T]): [T, T] => [x[0].sin().mul(x[0].square()), x[1].pow(3)];
      const solver = make({ fixedPointFun: f, maxiter: label === 'AndersonAcceleration' ? 100000 : 100, tol: 1e-6 });
      const { params, state } = solver.run([mg.tensor([0.6, 0, -0.1]), mg.tensor([[0.7], [0.5]])]);
      assert.ok(state.error < 1e-6, `error ${state.error}`);
      assert.ok(norm(params) < 1e-6);
      assertClose(params[0], [0, 0, 0], 1e-6);
      assertClose(params[1], [0, 0], 1e-6);
    });

    it('cos fixed point with an extra argument θ: [0.7390851, π/2]', () => {
      const tol = label === 'FixedPointIteration' ? 1e-2 : 1e-6;
      const solver = make({ fixedPointFun: (x: T, theta: T) => x.cos().add(theta), maxiter: label === 'FixedPointIteration' ? 100000 : 100, tol });
      const { params, state } = solver.run(mg.tensor([0.3, Math.PI / 4]), mg.tensor([0, Math.PI / 2]));
      assert.ok(state.error < tol);
      assertClose(params, [0.73908614842288, Math.PI / 2], label === 'FixedPointIteration' ? 1e-2 : 1e-5);
    });

    it('hasAux: the aux of the last evaluation is kept in state.aux (cos fixed point 0.739085)', () => {
      const f = (x: T): [T, T] => [x.mul(0.5).add(0.5).mul(0).add(x.cos()), x.mul(10)];
      const solver = make({ fixedPointFun: f, hasAux: true, maxiter: 10000, tol: 1e-4 });
      const { params, state } = solver.run(mg.tensor([1]));
      assert.ok(state.error < 1e-4);
      assertClose(params, [0.739085], 1e-3);
      assertClose(state.aux as T, mg.tensor([0.739085 * 10]), 1e-2);
    });

    it('a manual init/update loop (logistic-map aux as in JAXopt) reaches error < 2e-2 in 10 steps', () => {
      const f = (x: T, r: T, y: T): [T, T] => [x.cos(), r.mul(y).mul(mg.sub(1, y))];
      const solver = make({ fixedPointFun: f, hasAux: true });
      const r = mg.tensor([3.95]);
      let x = mg.tensor([1]);
      let y = mg.tensor([0.6]);
      let state = solver.init(x, r, y);
      for (let i = 0; i < 10; i++) {
        ({ params: x, state } = solver.update(x, state as never, r, y) as { params: T; state: typeof state });
        y = state.aux as T;
      }
      assert.ok(state.error < 2e-2 || label === 'FixedPointIteration', `error ${state.error}`);
      assert.equal(state.iterNum, 10);
    });

    it("JAXopt's gradient input θ = [0, π/2] is not a contraction at x* = π/2 (|T'| = 1): a plain run says it did not converge", () => {
      // JAXopt's test_simple_grads stops there silently at maxiter (error ≈ 5e-2 after 4000 steps).
      const solver = make({ fixedPointFun: (x: T, theta: T) => x.cos().add(theta), maxiter: 4000, tol: 1e-6 });
      const run = () => solver.run(mg.tensor([0, Math.PI / 4], f64), mg.tensor([0, Math.PI / 2], f64));
      if (label === 'FixedPointIteration') assert.throws(run, /did not converge in 4000 iterations/);
      else assert.ok(run().state.error < 1e-6);
    });

    for (const implicitDiff of [true, false]) {
      it(`gradient of the cos fixed point in θ (${implicitDiff ? 'implicit' : 'unrolled'}) equals finite differences and the closed form`, () => {
        const solver = make({
          fixedPointFun: (x: T, theta: T) => x.cos().add(theta), maxiter: 4000, tol: 1e-12, implicitDiff,
          implicitDiffSolve: mg.linearSolve.solveNormalCg({ rtol: 1e-12 }),
        });
        const x0 = mg.tensor([0, Math.PI / 4], f64);
        const theta = mg.tensor([0, 1], f64);
        gradcheck((th: T) => solver.run(x0, th).params, [theta], 1e-6, 1e-5);
        // x = cos x + θ ⇒ dx/dθ = 1 / (1 + sin x), leaf by leaf.
        const th = theta.clone().requiresGrad_(true);
        const x = solver.run(x0, th).params;
        const [g] = mg.autograd.grad(x.sum(), th);
        assertClose(g as T, x.detach().sin().add(1).reciprocal(), 1e-9);
      });
    }

    it('flat landscape x = θ ⊙ x (θ = [0.05, 0.2]): the gradient of the solution 0 is 0', () => {
      const solver = make({ fixedPointFun: (x: T, theta: T) => theta.mul(x), maxiter: 10000, tol: 1e-10 });
      gradcheck((th: T) => solver.run(mg.tensor([1, -0.5], f64), th).params, [mg.tensor([0.05, 0.2], f64)], 1e-8, 1e-5);
    });

    it('affine contractive map in 200 dimensions: converges to (I − M)⁻¹ b, gradients in M and b match a dense solve and finite differences', () => {
      const n = 200;
      const { M, b } = contractiveAffine(n, 0);
      const solver = make({ fixedPointFun: (x: T, A: T, c: T) => A.matmul(x).add(c), maxiter: 100, tol: 1e-10, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) });
      const x0 = mg.zeros([n], f64);
      const { params, state } = solver.run(x0, M, b);
      assert.ok(state.error < 1e-10);
      const Md = M.tolist() as number[][];
      const IminusM = Md.map((row, i) => row.map((v, j) => (i === j ? 1 : 0) - v));
      assertClose(params, denseSolve(IminusM, b.tolist() as number[]), 1e-9);
      // L = ⟨w, x*⟩: dL/db = (I − M)⁻ᵀ w, dL/dM = u x*ᵀ with u = dL/db.
      const w = mg.randn([n], f64);
      const [Mg, bg] = [M.clone().requiresGrad_(true), b.clone().requiresGrad_(true)];
      const L = solver.run(x0, Mg, bg).params.mul(w).sum();
      const [dM, db] = mg.autograd.grad(L, [Mg, bg]) as T[];
      const u = denseSolve(IminusM[0].map((_, j) => IminusM.map((row) => row[j])), w.tolist() as number[]);
      assertClose(db, u, 1e-8);
      const xs = params.tolist() as number[];
      assertClose(dM, u.flatMap((ui) => xs.map((xj) => ui * xj)), 1e-8);
      // And a directional finite difference in M.
      const D = mg.randn([n, n], f64);
      const eps = 1e-6;
      const Lat = (A: T) => solver.run(x0, A, b).params.mul(w).sum().item();
      const fd = (Lat(M.add(D.mul(eps))) - Lat(M.sub(D.mul(eps)))) / (2 * eps);
      assertClose(dM.mul(D).sum().item(), fd, 1e-6, 1e-6);
    });
  });
}

describe("AndersonAcceleration: JAXopt's Anderson-only cases", () => {
  it('supports 0-d parameters (x = x/2 + 1/2)', () => {
    const { params, state } = new AndersonAcceleration({ fixedPointFun: (x: T) => x.mul(0.5).add(0.5), historySize: 5, maxiter: 10000, ridge: 1e-6, tol: 1e-4 }).run(mg.tensor(0));
    assert.ok(state.error < 1e-4);
    assertClose(params, 1, 1e-4);
  });

  it('rotation map (not a contraction, no Banach theorem): converges to the rotation centre', () => {
    const angles = [2, 3, 4, 5, 6, 1.27, 1.73].map((d) => Math.PI / d);
    const n = 2 * angles.length;
    const R = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    angles.forEach((a, k) => {
      R[2 * k][2 * k] = Math.cos(a);
      R[2 * k][2 * k + 1] = -Math.sin(a);
      R[2 * k + 1][2 * k] = Math.sin(a);
      R[2 * k + 1][2 * k + 1] = Math.cos(a);
    });
    const M = mg.tensor(R);
    const c = mg.arange(1, n + 1);
    const rot = (x: T, A: T, centre: T) => A.matmul(x.sub(centre)).add(centre);
    const x0 = mg.rand([n], { generator: new mg.Generator().manualSeed(0) });
    const aa = new AndersonAcceleration({ fixedPointFun: rot, historySize: 10, maxiter: 400, ridge: 1e-7, tol: 1e-4 });
    const { params, state } = aa.run(x0, M, c);
    assert.ok(state.error < 1e-4, `error ${state.error}`);
    assertClose(params, c, 1e-3);
    // Plain iteration does not converge on a rotation: it must say so.
    assert.throws(() => new FixedPointIteration({ fixedPointFun: rot, maxiter: 400, tol: 1e-4 }).run(x0, M, c), /FixedPointIteration.run: did not converge in 400 iterations/);
  });

  for (const mixingFrequency of [1, 5, 10]) {
    it(`mixingFrequency ${mixingFrequency} on a 10-dimensional contractive affine map reaches tol 1e-6`, () => {
      const { M, b } = contractiveAffine(10, 1, 'float32');
      const aa = new AndersonAcceleration({ fixedPointFun: (x: T, A: T, c: T) => A.matmul(x).add(c), historySize: 5, mixingFrequency, maxiter: 100, ridge: 1e-6, tol: 1e-6 });
      const { state } = aa.run(mg.zerosLike(b), M, b);
      assert.ok(state.error < 1e-6, `error ${state.error}`);
    });
  }

  it('needs fewer iterations than plain iteration on the 200-dimensional affine map', () => {
    const { M, b } = contractiveAffine(200, 0);
    const f = (x: T, A: T, c: T) => A.matmul(x).add(c);
    const plain = new FixedPointIteration({ fixedPointFun: f, maxiter: 1000, tol: 1e-10 }).run(mg.zerosLike(b), M, b).state.iterNum;
    const aa = new AndersonAcceleration({ fixedPointFun: f, maxiter: 1000, tol: 1e-10 }).run(mg.zerosLike(b), M, b).state.iterNum;
    assert.ok(aa < plain, `Anderson ${aa} vs plain ${plain}`);
  });
});

describe('fixed-point solvers: failures are reported, never returned silently', () => {
  const expanding = (x: T) => x.mul(2).add(1);

  it('a diverging iteration raises NumericalError naming the solver and the iteration', () => {
    assert.throws(
      () => new FixedPointIteration({ fixedPointFun: expanding, maxiter: 1000 }).run(mg.tensor([1])),
      (e: Error) => e instanceof mg.NumericalError && /FixedPointIteration\.run: diverged: the error grew to .* at iteration \d+/.test(e.message),
    );
  });

  it('non-finite values raise, naming the iteration', () => {
    assert.throws(
      () => new AndersonAcceleration({ fixedPointFun: (x: T) => x.log(), maxiter: 50 }).run(mg.tensor([-1])),
      /AndersonAcceleration\.run: the error is NaN after 1 iteration/,
    );
  });

  it('throw: false returns the last iterate with converged false, the result code and the reason', () => {
    const { params, state } = new FixedPointIteration({ fixedPointFun: (x: T) => x.mul(0.999), maxiter: 5, tol: 1e-9, throw: false }).run(mg.tensor([1]));
    assert.equal(state.converged, false);
    assert.equal(state.result, 'maxIterationsReached');
    assert.match(state.message, /did not converge in 5 iterations/);
    assertClose(params, 0.999 ** 5, 1e-6);
  });

  it('differentiating a failed run returned with throw: false is refused (the root check)', () => {
    const theta = mg.tensor([0.5], { ...f64, requiresGrad: true });
    const solver = new FixedPointIteration({ fixedPointFun: (x: T, th: T) => x.cos().add(th), maxiter: 2, tol: 1e-12, throw: false });
    assert.throws(() => solver.run(mg.tensor([0], f64), theta), /not a root|is not a root/);
  });

  it("Anderson's singular residual system (ridge 0, repeated residuals) is reported as 'singular', not NaN", () => {
    // T(x) = x + 1 (no fixed point): every residual is the same vector, so G = R Rᵀ is singular.
    const aa = new AndersonAcceleration({ fixedPointFun: (x: T) => x.add(1), ridge: 0, maxiter: 20, throw: false });
    const { state } = aa.run(mg.tensor([0, 0], f64));
    assert.equal(state.result, 'singular');
    assert.match(state.message, /residual Gram system is singular.*use a ridge > 0.*at iteration 3/);
    assert.throws(() => new AndersonAcceleration({ fixedPointFun: (x: T) => x.add(1), ridge: 0, maxiter: 20 }).run(mg.tensor([0, 0], f64)), mg.NumericalError);
  });

  it('bad options name the solver, the option and what was given', () => {
    assert.throws(() => new AndersonAcceleration({ fixedPointFun: (x: T) => x, historySize: 1 }), /new AndersonAcceleration: argument 'historySize' must be an integer >= 2, got 1/);
    assert.throws(() => new FixedPointIteration({ fixedPointFun: 3 as never }), /new FixedPointIteration: argument 'fixedPointFun' must be a function, got 3/);
    assert.throws(() => new FixedPointIteration({ fixedPointFun: (x: T) => x, maxIter: 3 } as never), /unknown option 'maxIter'/);
    assert.throws(() => new Broyden({ fun: (x: T) => x, fixedPointFun: (x: T) => x }), /exactly one of 'fun'/);
  });
});

describe('fixed-point solvers under vmap and forward mode', () => {
  const f = (x: T, theta: T) => x.cos().add(theta);
  const thetas = mg.tensor([[0, 1], [0.5, -0.3], [2, 0.1]], f64);

  for (const make of [
    () => new AndersonAcceleration({ fixedPointFun: f, tol: 1e-12, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) }),
    () => new FixedPointIteration({ fixedPointFun: f, tol: 1e-12, maxiter: 2000, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) }),
    () => new Broyden({ fixedPointFun: f, tol: 1e-12, implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-12 }) }),
  ]) {
    const solver = make();
    it(`${solver.name}: vmap over θ equals a loop, members stop on their own, and grad through the vmapped run is each member's`, () => {
      const x0 = mg.zeros([2], f64);
      const batched = mg.func.vmap((th: T) => solver.run(x0, th).params as T)(thetas);
      const loop = mg.stack([0, 1, 2].map((i) => solver.run(x0, thetas.select(0, i)).params as T));
      assertClose(batched, loop, 1e-11);
      const th = thetas.clone().requiresGrad_(true);
      const [g] = mg.autograd.grad(mg.func.vmap((t: T) => solver.run(x0, t).params as T)(th).sum(), th) as T[];
      assertClose(g, loop.sin().add(1).reciprocal(), 1e-9);
    });

    it(`${solver.name}: forward mode (func.jvp) through run equals the closed form`, () => {
      const x0 = mg.zeros([2], f64);
      const [x, dx] = mg.func.jvp((th: T) => solver.run(x0, th).params as T, [thetas.select(0, 0)], [mg.tensor([1, 2], f64)]);
      assertClose(dx, (x as T).sin().add(1).reciprocal().mul(mg.tensor([1, 2], f64)), 1e-9);
    });
  }

  it('under mg.jit a solver is refused with the reason and the way out', () => {
    const s = new FixedPointIteration({ fixedPointFun: (x: T, t: T) => x.cos().add(t), tol: 1e-8 });
    const f = mg.jit((t: T) => s.run(mg.zeros([2]), t).params as T);
    assert.throws(() => f(mg.tensor([0, 1])), (e: Error) => e instanceof mg.TraceError && /^FixedPointIteration\.run: the solver decides when to stop from its error on the host/.test(e.message));
  });

  it('a member that fails under vmap is named', () => {
    const solver = new FixedPointIteration({ fixedPointFun: (x: T, a: T) => x.mul(a), maxiter: 50, tol: 1e-8 });
    assert.throws(() => mg.func.vmap((a: T) => solver.run(mg.ones([1], f64), a).params as T)(mg.tensor([[0.5], [3], [0.1]], f64)), /member 1 of the vmap batch: diverged/);
  });
});

describe('solver input errors name the solver', () => {
  it('a map that changes the shape, a map that returns no tensor, an initial guess without tensors, a non-scalar objective', () => {
    for (const S of [FixedPointIteration, AndersonAcceleration]) {
      assert.throws(() => new S({ fixedPointFun: (x: T) => mg.cat([x, x]) }).run(mg.ones([2])), new RegExp(`${S.name}\\.update: fixedPointFun returned shape \\[4\\] for leaf 0 of the iterate, which has shape \\[2\\]`));
      assert.throws(() => new S({ fixedPointFun: () => 3 }).run(mg.ones([2])), /fixedPointFun returned 0 tensor\(s\)/);
    }
    assert.throws(() => new Broyden({ fun: (x: T) => x.sum() }).run(mg.ones([2])), /Broyden\.run: fun returned shape \[\] for leaf 0 of the iterate, which has shape \[2\]/);
    assert.throws(() => new FixedPointIteration({ fixedPointFun: (x: T) => x }).run(3 as never), /FixedPointIteration\.run: argument 'initParams' must be a Tensor or a tree of tensors, got 3/);
    assert.throws(() => new mg.solvers.GradientDescent({ fun: (x: T) => x }).run(mg.ones([2])), /GradientDescent\.update: fun must return a one-element tensor, got shape \[2\]/);
    assert.throws(() => new mg.solvers.LBFGS({ fun: (x: T) => x }).run(mg.ones([2])), /LBFGS\.init: fun must return a one-element tensor/);
  });
});
