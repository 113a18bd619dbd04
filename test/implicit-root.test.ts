/** customRoot / customFixedPoint / rootVjp / rootJvp against closed forms and finite differences. */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose, warningsOf } from './helpers/check';
import { denseSolve } from './helpers/dense';

const f64 = { dtype: 'float64' as const };
const { customRoot, customFixedPoint, rootVjp, rootJvp } = mg.diff.implicit;
const S = mg.linearSolve;


describe('customRoot: scalar root of y² = x³', () => {
  const F = (y: mg.Tensor, x: mg.Tensor) => y.square().sub(x.pow(3));
  const solver = customRoot(F, { argnums: 1, solve: S.solveCg({ rtol: 1e-12 }) })((_y0: mg.Tensor, x: mg.Tensor) => x.pow(1.5));

  it('value √125, first derivative 1.5·√5 (reverse) and second derivative 0.75/√5', () => {
    const x = mg.tensor(5, { ...f64, requiresGrad: true });
    const y = solver(mg.tensor(1, f64), x);
    assertClose(y, Math.sqrt(125), 1e-12);
    const [d1] = mg.autograd.grad(y, x, { createGraph: true });
    assertClose(d1 as mg.Tensor, 1.5 * Math.sqrt(5), 1e-10);
    const [d2] = mg.autograd.grad(d1 as mg.Tensor, x);
    assertClose(d2 as mg.Tensor, 0.75 / Math.sqrt(5), 1e-10);
  });

  it('forward mode through the solution (func.jvp) gives 1.5·√5', () => {
    const [y, dy] = mg.func.jvp((x: mg.Tensor) => solver(mg.tensor(1, f64), x), [mg.tensor(5, f64)], [mg.tensor(1, f64)]);
    assertClose(y as mg.Tensor, Math.sqrt(125), 1e-12);
    assertClose(dy as mg.Tensor, 1.5 * Math.sqrt(5), 1e-10);
  });

  it('rootVjp and rootJvp give the same derivative', () => {
    const x = mg.tensor(5, f64);
    const y = mg.tensor(Math.sqrt(125), f64);
    const [v] = rootVjp(F, y, [y, x], mg.tensor(1, f64), { argnums: 1 }) as mg.Tensor[];
    assertClose(v, 1.5 * Math.sqrt(5), 1e-8);
    const t = rootJvp(F, y, [y, x], [mg.tensor(1, f64)], { argnums: 1 }) as mg.Tensor;
    assertClose(t, 1.5 * Math.sqrt(5), 1e-8);
  });

  it('a singular backward system raises instead of returning a gradient (y² = x³ at x = 0)', () => {
    const x = mg.tensor(0, { ...f64, requiresGrad: true });
    for (const solve of [S.solveCg(), S.solveNormalCg(), S.solveDense({ method: 'lu' })]) {
      const s = customRoot(F, { argnums: 1, solve })((_y0: mg.Tensor, xx: mg.Tensor) => xx.pow(1.5));
      const y = s(mg.tensor(1, f64), x);
      assert.throws(() => mg.autograd.grad(y, x), (e: Error) => e instanceof mg.MetagradError && /singular|breakdown|non-finite|positive/i.test(e.message));
    }
  });
});

describe('customRoot: ridge regression hyper-gradient dw*/dλ = −(XᵀX/n + λI)⁻¹ w*', () => {
  mg.manualSeed(3);
  const n = 20;
  const d = 4;
  const X = mg.randn([n, d], f64);
  const y = mg.randn([n], f64);
  const lam = 0.7;
  // Closed form, computed independently.
  const Xa = X.tolist() as number[][];
  const ya = y.tolist() as number[];
  const H = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => Xa.reduce((s, r) => s + r[i] * r[j], 0) / n + (i === j ? lam : 0)));
  const Xty = Array.from({ length: d }, (_, i) => Xa.reduce((s, r, k) => s + r[i] * ya[k], 0) / n);
  const wStar = denseSolve(H, Xty);
  const dw = denseSolve(H, wStar).map((v) => -v);

  const F = (w: mg.Tensor, l: mg.Tensor) => X.t().matmul(X.matmul(w).sub(y)).div(n).add(w.mul(l));
  const inner = (_w0: mg.Tensor, l: mg.Tensor): mg.Tensor => {
    // Solve the inner problem by plain gradient descent to high accuracy (not differentiated).
    let w = mg.zeros([d], f64);
    for (let i = 0; i < 3000; i++) w = w.sub(F(w, l).mul(0.3));
    return w;
  };
  const solvers: [string, mg.diff.implicit.LinearSolver][] = [
    ['solveCg', S.solveCg({ rtol: 1e-13 })],
    ['solveNormalCg', S.solveNormalCg({ rtol: 1e-13 })],
    ['solveInv (direct)', S.solveInv()],
    ['solveInv (Neumann)', S.solveInv({ ns: true, maxiter: 2000, alpha: 0.3, rtol: 1e-14 })],
    ['solveGmres', S.solveGmres({ rtol: 1e-13 })],
    ['solveBicgstab', S.solveBicgstab({ rtol: 1e-13 })],
    ['solveDense lu', S.solveDense({ method: 'lu' })],
    ['solveDense cholesky', S.solveDense({ method: 'cholesky' })],
    ['solveDense qr', S.solveDense({ method: 'qr' })],
  ];
  for (const [name, solve] of solvers) {
    it(`${name} matches to 1e-8`, () => {
      const l = mg.tensor(lam, { ...f64, requiresGrad: true });
      const w = customRoot(F, { argnums: 1, solve })(inner)(mg.zeros([d], f64), l);
      assertClose(w, wStar, 1e-10, 0, 'w*');
      const J = mg.func.jacrev((ll: mg.Tensor) => customRoot(F, { argnums: 1, solve })(inner)(mg.zeros([d], f64), ll))(l);
      assertClose(J, dw, 1e-8, 0, 'dw*/dλ');
    });
  }
});

describe('customRoot: argnums subsets on F(x, A, b, s) = A x − s·b (x* = s·A⁻¹b)', () => {
  const A = mg.tensor([[3, 1, 0], [1, 4, 1], [0, 2, 5]], f64);
  const b = mg.tensor([1, -2, 0.5], f64);
  const s = mg.tensor(1.5, f64);
  const v = mg.tensor([0.3, -1, 2], f64);
  const F = (x: mg.Tensor, A_: mg.Tensor, b_: mg.Tensor, s_: mg.Tensor) => A_.matmul(x).sub(b_.mul(s_));
  const inner = (_x0: mg.Tensor, A_: mg.Tensor, b_: mg.Tensor, s_: mg.Tensor) =>
    mg.tensor(denseSolve(A_.tolist() as number[][], (b_.mul(s_).tolist() as number[])), f64);
  const Aa = A.tolist() as number[][];
  const AT = Aa[0].map((_, j) => Aa.map((r) => r[j]));
  const lam = denseSolve(AT, v.tolist() as number[]); // A⁻ᵀ v
  const xStar = denseSolve(Aa, (b.tolist() as number[]).map((q) => q * 1.5));
  const solve = S.solveGmres({ rtol: 1e-13 });

  it('argnums 2 (not a prefix): v·dx*/db = s·A⁻ᵀv', () => {
    const bb = b.clone().requiresGrad_();
    const x = customRoot(F, { argnums: 2, solve })(inner)(mg.zeros([3], f64), A, bb, s);
    const [g] = mg.autograd.grad(x, bb, { gradOutputs: v });
    assertClose(g as mg.Tensor, lam.map((q) => 1.5 * q), 1e-10);
  });

  it('argnums [1, 3]: dA = −(A⁻ᵀv) x*ᵀ and ds = vᵀA⁻¹b', () => {
    const AA = A.clone().requiresGrad_();
    const ss = s.clone().requiresGrad_();
    const x = customRoot(F, { argnums: [1, 3], solve })(inner)(mg.zeros([3], f64), AA, b, ss);
    const [gA, gs] = mg.autograd.grad(x, [AA, ss], { gradOutputs: v });
    assertClose(gA as mg.Tensor, lam.flatMap((l) => xStar.map((xj) => -l * xj)), 1e-10);
    const Ainvb = denseSolve(Aa, b.tolist() as number[]);
    assertClose(gs as mg.Tensor, Ainvb.reduce((q, z, i) => q + z * (v.data[i]), 0), 1e-10);
  });

  it('arguments outside argnums get no gradient, and non-tensor arguments pass through', () => {
    const AA = A.clone().requiresGrad_();
    const bb = b.clone().requiresGrad_();
    const wrapped = customRoot((x: mg.Tensor, A_: mg.Tensor, opts: { scale: number }, b_: mg.Tensor) => A_.matmul(x).sub(b_.mul(opts.scale)), { argnums: 3, solve })(
      (_x0: mg.Tensor, A_: mg.Tensor, opts: { scale: number }, b_: mg.Tensor) => inner(_x0, A_, b_, mg.tensor(opts.scale, f64)),
    );
    const x = wrapped(mg.zeros([3], f64), AA, { scale: 1.5 }, bb);
    const [gA, gb] = mg.autograd.grad(x, [AA, bb], { gradOutputs: v, allowUnused: true });
    assert.equal(gA, null);
    assertClose(gb as mg.Tensor, lam.map((q) => 1.5 * q), 1e-10);
  });

  it('rejects argnums 0 and out-of-range argnums with clear errors', () => {
    assert.throws(() => customRoot(F, { argnums: 0 }), /argnums.*>= 1/);
    const w = customRoot(F, { argnums: 7, solve })(inner);
    assert.throws(() => w(mg.zeros([3], f64), A, b, s), /argnums refers to argument 7/);
    assert.throws(() => customRoot(F, { argnums: 1, sovle: solve } as unknown as mg.diff.implicit.CustomRootOptions), /unknown option 'sovle'/);
  });
});

describe('customRoot: tree-structured solutions, hasAux and shape checks', () => {
  it('solution as an object of tensors with aux passing through', () => {
    // F({u, w}, c) = {u − c, w − c²}: u* = c, w* = c².
    const F = (x: { u: mg.Tensor; w: mg.Tensor }, c: mg.Tensor) => ({ u: x.u.sub(c), w: x.w.sub(c.square()) });
    const solver = customRoot(F, { argnums: 1, hasAux: true, solve: S.solveCg() })((_x0: unknown, c: mg.Tensor) => [
      { u: c.clone(), w: c.square() },
      'aux-value',
    ]);
    const c = mg.tensor([1, 2], { ...f64, requiresGrad: true });
    const [sol, aux] = solver(null, c) as [{ u: mg.Tensor; w: mg.Tensor }, string];
    assert.equal(aux, 'aux-value');
    const [g] = mg.autograd.grad(sol.u.sum().add(sol.w.sum()), c);
    assertClose(g as mg.Tensor, [1 + 2 * 1, 1 + 2 * 2], 1e-10);
  });

  it('an optimality output whose shape differs from the solution raises naming both shapes', () => {
    const F = (x: mg.Tensor, c: mg.Tensor) => x.sub(c).reshape(1, -1);
    const solver = customRoot(F, { argnums: 1 })((_x0: unknown, c: mg.Tensor) => c.clone());
    const c = mg.tensor([1, 2], { ...f64, requiresGrad: true });
    assert.throws(() => mg.autograd.grad(solver(null, c).sum(), c), /shape \[1, 2\].*shape \[2\]/);
  });
});

describe('customFixedPoint: DEQ layer z = tanh(Wz + Ux + b)', () => {
  mg.manualSeed(11);
  const d = 5;
  const W0 = mg.randn([d, d], f64).mul(0.15); // ‖W‖ < 1: a contraction
  const U0 = mg.randn([d, 3], f64);
  const b0 = mg.randn([d], f64);
  const x0 = mg.randn([3], f64);
  const T = (z: mg.Tensor, W: mg.Tensor, U: mg.Tensor, b: mg.Tensor, x: mg.Tensor) => W.matmul(z).add(U.matmul(x)).add(b).tanh();
  const iterate = (_z0: mg.Tensor, W: mg.Tensor, U: mg.Tensor, b: mg.Tensor, x: mg.Tensor, steps = 200) => {
    let z = mg.zeros([d], f64);
    for (let i = 0; i < steps; i++) z = T(z, W, U, b, x);
    return z;
  };
  const loss = (z: mg.Tensor) => z.mul(mg.arange(1, d + 1, f64)).sum();

  it('gradients w.r.t. W, U, b, x match finite differences of a converged forward solve', () => {
    const params = [W0, U0, b0, x0].map((t) => t.clone().requiresGrad_());
    const deq = customFixedPoint(T, { argnums: [1, 2, 3, 4], solve: S.solveGmres({ rtol: 1e-12 }) })(iterate);
    const z = deq(mg.zeros([d], f64), ...(params as [mg.Tensor, mg.Tensor, mg.Tensor, mg.Tensor]));
    const grads = mg.autograd.grad(loss(z), params) as mg.Tensor[];
    const eps = 1e-6;
    params.forEach((p, k) => {
      const base = [W0, U0, b0, x0].map((t) => t.clone());
      const fd = Array.from(base[k].data).map((_, j) => {
        const orig = base[k].data[j];
        base[k].data[j] = orig + eps;
        const lp = loss(iterate(mg.zeros([d], f64), ...(base as [mg.Tensor, mg.Tensor, mg.Tensor, mg.Tensor]))).item();
        base[k].data[j] = orig - eps;
        const lm = loss(iterate(mg.zeros([d], f64), ...(base as [mg.Tensor, mg.Tensor, mg.Tensor, mg.Tensor]))).item();
        base[k].data[j] = orig;
        return (lp - lm) / (2 * eps);
      });
      assertClose(grads[k], fd, 1e-7, 1e-6, `grad ${['W', 'U', 'b', 'x'][k]}`);
    });
  });

  it('exposes the backward solve info and reports it through onSolve', () => {
    const seen: mg.diff.implicit.BackwardSolveInfo[] = [];
    const deq = customFixedPoint(T, { argnums: 4, solve: S.solveGmres({ rtol: 1e-10 }), onSolve: (i) => seen.push(i) })(iterate);
    const x = x0.clone().requiresGrad_();
    mg.autograd.grad(loss(deq(mg.zeros([d], f64), W0, U0, b0, x)), x);
    assert.equal(seen.length, 1);
    const info = mg.diff.implicit.lastSolveInfo();
    assert.ok(info && info.iterations > 0 && info.converged && info.residualNorm < 1e-8);
  });
});

describe('customRoot: the not-converged warning', () => {
  // F(x, A) = A x − 1 with a 3×3 SPD A: one CG iteration cannot converge.
  const A = mg.tensor([[4, 1, 0], [1, 3, 1], [0, 1, 2]], f64);
  const F = (x: mg.Tensor, A_: mg.Tensor) => A_.matmul(x).sub(1);
  const inner = (_x0: unknown, A_: mg.Tensor) => mg.tensor(denseSolve(A_.tolist() as number[][], [1, 1, 1]), f64);

  const warningsDuring = async (run: () => void): Promise<string[]> =>
    (await warningsOf(run)).filter((w) => w.code === 'METAGRAD_SOLVE_NOT_CONVERGED').map((w) => w.message);

  it('warns once per wrapper when a backward solve stops early, and not at all with warnNotConverged: false', async () => {
    const loud = customRoot(F, { argnums: 1, solve: S.solveCg({ maxiter: 1 }) })(inner);
    const quiet = customRoot(F, { argnums: 1, solve: S.solveCg({ maxiter: 1 }), warnNotConverged: false })(inner);
    const grads = (w: typeof loud) => {
      const AA = A.clone().requiresGrad_();
      mg.autograd.grad(w(null, AA).sum(), AA);
    };
    const loudWarnings = await warningsDuring(() => {
      grads(loud);
      grads(loud);
    });
    assert.equal(loudWarnings.length, 1);
    assert.match(loudWarnings[0], /stopped after 1 iterations/);
    assert.deepEqual(await warningsDuring(() => grads(quiet)), []);
    const info = mg.diff.implicit.lastSolveInfo();
    assert.ok(info && !info.converged && info.iterations === 1, 'the info still reports the early stop');
  });
});
