/**
 * mg.nn.DEQ and mg.nn.deq: the equilibrium, the three gradient modes against independent answers
 * (finite differences, unrolled differentiation to convergence, their defining formulas), the
 * Hutchinson Jacobian regulariser against the dense ‖J‖²_F, and the spectral radius estimate.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';

const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

/** z ↦ tanh(W z + U x + b), a contraction for small W. */
class Cell extends mg.nn.Module {
  declare W: T;
  declare U: T;
  declare b: T;
  constructor(width: number, inputs: number, seed: number) {
    super();
    const g = new mg.Generator().manualSeed(seed);
    this.W = new mg.nn.Parameter(mg.randn([width, width], { generator: g, dtype: 'float64' }).mul(0.3 / Math.sqrt(width)));
    this.U = new mg.nn.Parameter(mg.randn([width, inputs], { generator: g, dtype: 'float64' }));
    this.b = new mg.nn.Parameter(mg.randn([width], { generator: g, dtype: 'float64' }).mul(0.1));
  }
  override forward(z: T, x: T): T {
    return mg.nn.functional.linear(z, this.W).add(mg.nn.functional.linear(x, this.U, this.b)).tanh();
  }
}

const X = mg.randn([4, 3], { generator: new mg.Generator().manualSeed(7), dtype: 'float64' });
const z0 = mg.zeros([4, 5], f64);
const tight = { tol: 1e-13, maxiter: 500 };
const gmres = mg.linearSolve.solveGmres({ rtol: 1e-13 });

/** The loss ⟨w, z*⟩ and its gradient with respect to the cell's parameters. */
function gradsOf(deq: mg.nn.DEQ, cell: Cell): T[] {
  const w = mg.randn([4, 5], { generator: new mg.Generator().manualSeed(3), dtype: 'float64' });
  const z = deq.forward(X, z0);
  return mg.autograd.grad(z.mul(w).sum(), cell.parameters()) as T[];
}

describe('nn.DEQ: the equilibrium and its gradients', () => {
  it('forward finds z* = f(z*, x) with every solver; Anderson needs fewer iterations than plain iteration', () => {
    const cell = new Cell(5, 3, 0);
    const its: Record<string, number> = {};
    for (const solver of ['fixedPoint', 'anderson', 'broyden'] as const) {
      const deq = new mg.nn.DEQ(cell, { solver, solverOptions: { tol: 1e-10, maxiter: 500 } });
      const z = mg.noGrad(() => deq.forward(X, z0));
      assertClose(z, mg.noGrad(() => cell.forward(z, X)), 1e-9);
      its[solver] = (deq.lastSolve as mg.solvers.SolverState).iterNum;
      assert.ok(deq.lastSolve?.converged);
    }
    assert.ok(its.anderson < its.fixedPoint, JSON.stringify(its));
    // A solver class works as well as its name.
    const byClass = new mg.nn.DEQ(cell, { solver: mg.solvers.AndersonAcceleration, solverOptions: { tol: 1e-10 } });
    assertClose(mg.noGrad(() => byClass.forward(X, z0)), mg.noGrad(() => new mg.nn.DEQ(cell, { solverOptions: { tol: 1e-10 } }).forward(X, z0)), 1e-12);
  });

  it("'ift' equals finite differences and unrolled differentiation through a converged plain iteration", () => {
    const cell = new Cell(5, 3, 1);
    const ift = gradsOf(new mg.nn.DEQ(cell, { solverOptions: tight, implicitDiffSolve: gmres }), cell);
    const unrolled = gradsOf(new mg.nn.DEQ(cell, { solver: 'fixedPoint', solverOptions: { ...tight, implicitDiff: false } }), cell);
    ift.forEach((g, i) => assertClose(g, unrolled[i], 1e-10));
    // Central differences along a random direction of W.
    const w = mg.randn([4, 5], { generator: new mg.Generator().manualSeed(3), dtype: 'float64' });
    const D = mg.randn([5, 5], { generator: new mg.Generator().manualSeed(9), dtype: 'float64' });
    const eps = 1e-6;
    const L = (): number => mg.noGrad(() => new mg.nn.DEQ(cell, { solverOptions: tight }).forward(X, z0).mul(w).sum().item());
    const W0 = cell.W.detach().clone();
    mg.noGrad(() => cell.W.copy_(W0.add(D.mul(eps))));
    const plus = L();
    mg.noGrad(() => cell.W.copy_(W0.sub(D.mul(eps))));
    const minus = L();
    mg.noGrad(() => cell.W.copy_(W0));
    assertClose(ift[0].mul(D).sum().item(), (plus - minus) / (2 * eps), 1e-7, 1e-6);
  });

  it("'phantom' with many undamped steps tends to 'ift'; one undamped step is 'jfb', which is ∂f/∂θ at z*", () => {
    const cell = new Cell(5, 3, 2);
    const ift = gradsOf(new mg.nn.DEQ(cell, { solverOptions: tight, implicitDiffSolve: gmres }), cell);
    const long = gradsOf(new mg.nn.DEQ(cell, { backward: 'phantom', phantomSteps: 200, tau: 1, solverOptions: tight }), cell);
    long.forEach((g, i) => assertClose(g, ift[i], 1e-9));
    const one = gradsOf(new mg.nn.DEQ(cell, { backward: 'phantom', phantomSteps: 1, tau: 1, solverOptions: tight }), cell);
    const jfb = gradsOf(new mg.nn.DEQ(cell, { backward: 'jfb', solverOptions: tight }), cell);
    one.forEach((g, i) => assertClose(g, jfb[i], 1e-14));
    // JFB by its definition: the gradient of ⟨w, f(z*, x)⟩ with z* held fixed.
    const zs = mg.noGrad(() => new mg.nn.DEQ(cell, { solverOptions: tight }).forward(X, z0));
    const w = mg.randn([4, 5], { generator: new mg.Generator().manualSeed(3), dtype: 'float64' });
    const direct = mg.autograd.grad(cell.forward(zs, X).mul(w).sum(), cell.parameters()) as T[];
    jfb.forEach((g, i) => assertClose(g, direct[i], 1e-10));
    // The damped phantom gradient is a different (approximate) gradient: not equal to IFT with k = 2.
    const short = gradsOf(new mg.nn.DEQ(cell, { backward: 'phantom', phantomSteps: 2, tau: 0.5, solverOptions: tight }), cell);
    assert.ok(short[0].sub(ift[0]).abs().max().item() > 1e-4);
  });

  it('a plain function with explicit parameters works like a module', () => {
    const cell = new Cell(5, 3, 4);
    const fn = (z: T, x: T, W: T, U: T, b: T) => mg.nn.functional.linear(z, W).add(mg.nn.functional.linear(x, U, b)).tanh();
    const deq = new mg.nn.DEQ(fn, { parameters: cell.parameters(), solverOptions: tight, implicitDiffSolve: gmres });
    const viaModule = gradsOf(new mg.nn.DEQ(cell, { solverOptions: tight, implicitDiffSolve: gmres }), cell);
    gradsOf(deq, cell).forEach((g, i) => assertClose(g, viaModule[i], 1e-11));
  });

  it('non-convergence is loud by default and returned with throw: false', () => {
    const cell = new Cell(5, 3, 5);
    mg.noGrad(() => cell.W.mul_(40));
    assert.throws(() => new mg.nn.DEQ(cell, { solver: 'fixedPoint', solverOptions: { maxiter: 20, tol: 1e-12 } }).forward(X, z0), /FixedPointIteration\.run: did not converge in 20 iterations/);
    const quiet = new mg.nn.DEQ(cell, { solver: 'fixedPoint', backward: 'jfb', solverOptions: { maxiter: 20, tol: 1e-12, throw: false } });
    quiet.forward(X, z0);
    assert.equal(quiet.lastSolve?.converged, false);
  });

  it('bad options are named', () => {
    const cell = new Cell(2, 1, 0);
    assert.throws(() => new mg.nn.DEQ(cell, { backward: 'adjoint' as never }), /new nn\.DEQ: argument 'backward' must be 'ift', 'phantom' or 'jfb'/);
    assert.throws(() => new mg.nn.DEQ(cell, { tau: 0 }), /argument 'tau' must be a number in \(0, 1\]/);
    assert.throws(() => new mg.nn.DEQ((z: T) => z), /pass the tensors f depends on as 'parameters'/);
    assert.throws(() => new mg.nn.DEQ(cell, { solver: 'newton' as never }), /argument 'solver'/);
  });
});

describe('nn.deq.jacobianRegularization and spectralRadius', () => {
  const cell = new Cell(5, 3, 6);
  const z = mg.noGrad(() => new mg.nn.DEQ(cell, { solverOptions: tight }).forward(X, z0));
  /** Dense ‖∂f/∂z‖²_F of the batched map (z [4, 5] → f [4, 5]). */
  const dense = (): number => (mg.func.jacrev((zz: T) => cell.forward(zz, X))(z) as T).square().sum().item();

  it('the Hutchinson estimate is unbiased: 4000 probes give ‖J‖²_F within 3%; mean divides by z.numel', () => {
    const est = mg.nn.deq.jacobianRegularization(cell, z, X, { samples: 4000, generator: new mg.Generator().manualSeed(1) }).item();
    assertClose(est, dense(), 0, 0.03);
    const mean = mg.nn.deq.jacobianRegularization(cell, z, X, { samples: 3, reduction: 'mean', generator: new mg.Generator().manualSeed(2) }).item();
    const sum = mg.nn.deq.jacobianRegularization(cell, z, X, { samples: 3, generator: new mg.Generator().manualSeed(2) }).item();
    assertClose(mean, sum / z.numel, 1e-14);
  });

  it('is differentiable in the parameters: its gradient in W equals finite differences (same probes)', () => {
    const reg = () => mg.nn.deq.jacobianRegularization(cell, z, X, { samples: 2, generator: new mg.Generator().manualSeed(5) });
    const [gW] = mg.autograd.grad(reg(), [cell.W]) as T[];
    const D = mg.randn([5, 5], { generator: new mg.Generator().manualSeed(11), dtype: 'float64' });
    const W0 = cell.W.detach().clone();
    const eps = 1e-6;
    const at = (s: number): number => {
      mg.noGrad(() => cell.W.copy_(W0.add(D.mul(s))));
      return reg().item();
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    mg.noGrad(() => cell.W.copy_(W0));
    assertClose(gW.mul(D).sum().item(), fd, 1e-7, 1e-6);
  });

  it('spectralRadius of a linear map with eigenvalues 0.5, −0.8, 0.3 is 0.8', () => {
    const A = mg.tensor([[0.5, 0, 0], [0, -0.8, 0], [0, 0, 0.3]], f64);
    const rho = mg.nn.deq.spectralRadius((zz: T, x: T) => zz.matmul(A).add(x), mg.zeros([1, 3], f64), mg.ones([1, 3], f64), { iterations: 200, generator: new mg.Generator().manualSeed(0) });
    assertClose(rho, 0.8, 1e-9);
    // For the contractive cell it is below 1.
    assert.ok(mg.nn.deq.spectralRadius(cell, z, X) < 1);
  });
});
