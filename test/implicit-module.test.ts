/** ImplicitMetaGradientModule: the DEQ program against a dense IFT gradient and finite differences, errors, and repeated solves. */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { FixedPoint, makeMetaNet } from '../examples/deq-module';
import { assertClose, warningsOf } from './helpers/check';
import { denseSolve } from './helpers/dense';

const { ImplicitMetaGradientModule } = mg.diff.implicit;


/** Count of graph nodes reachable from a tensor. */
function graphSize(t: mg.Tensor): number {
  const seen = new Set<unknown>();
  const stack: unknown[] = t.gradFn ? [t.gradFn] : [];
  while (stack.length) {
    const n = stack.pop() as { next: ({ node: unknown } | { leaf: unknown } | null)[] };
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) if (e && 'node' in e) stack.push(e.node);
  }
  return seen.size;
}

describe('ImplicitMetaGradientModule: DEQ fixed point x* = f(x*) (TorchOpt tutorial program)', () => {
  mg.manualSeed(0);
  const metaNet = makeMetaNet().double();
  const x0 = mg.randn([1, 4], { dtype: 'float64' });
  const f = (x: mg.Tensor) => metaNet.forward(x) as mg.Tensor;
  const fixedPoint = (steps: number) => {
    let x = x0;
    for (let i = 0; i < steps; i++) x = f(x);
    return x;
  };

  it('gives the implicit-function-theorem gradient of mean(x*) (dense Jacobians) and matches finite differences', () => {
    const inner = new FixedPoint(metaNet, 60);
    inner.registerX(x0.clone());
    inner.solve();
    assert.ok(inner.x.gradFn, 'after solve, x is a differentiable non-leaf');
    const names = metaNet.namedParameters().map(([n]) => n);
    const params = metaNet.parameters();
    const grads = mg.autograd.grad(inner.x.mean(), params) as mg.Tensor[];

    // Independent IFT: g = (∂f/∂θ)ᵀ (I − ∂f/∂x)⁻ᵀ (1/4)·1, with dense Jacobians from jacrev.
    const xs = mg.noGrad(() => fixedPoint(200));
    const Jx = (mg.func.jacrev((x: mg.Tensor) => f(x).reshape(-1))(xs.reshape(1, 4)).reshape(4, 4).tolist()) as number[][];
    const IminusJxT = Jx[0].map((_, j) => Jx.map((row, i) => (i === j ? 1 : 0) - row[j]));
    const lam = denseSolve(IminusJxT, [0.25, 0.25, 0.25, 0.25]);
    params.forEach((p, k) => {
      const Jp = mg.func.jacrev((q: mg.Tensor) => mg.func.functionalCall(metaNet, { [names[k]]: q }, [xs]) as mg.Tensor)(p.detach());
      const flatJ = Jp.reshape(4, -1).tolist() as number[][];
      const ift = flatJ[0].map((_, j) => flatJ.reduce((s, row, i) => s + row[j] * lam[i], 0));
      assertClose(grads[k], ift, 1e-9, 1e-6, `IFT d/d${names[k]}`);
      // Finite differences of a converged forward solve.
      const fd = Array.from(p.data).map((_, j) => {
        const orig = p.data[j];
        p.data[j] = orig + 1e-6;
        const plus = mg.noGrad(() => fixedPoint(200).mean().item());
        p.data[j] = orig - 1e-6;
        const minus = mg.noGrad(() => fixedPoint(200).mean().item());
        p.data[j] = orig;
        return (plus - minus) / 2e-6;
      });
      assertClose(grads[k], fd, 1e-7, 1e-5, `finite differences d/d${names[k]}`);
    });
  });

  it('repeated solves on one instance keep the graph the same size (no leak)', () => {
    const inner = new FixedPoint(metaNet, 10);
    inner.registerX(x0.clone());
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      inner.solve();
      mg.autograd.grad(inner.x.mean(), metaNet.parameters());
      sizes.push(graphSize(inner.x));
    }
    assert.ok(sizes.every((s) => s === sizes[0]), `graph sizes ${sizes.join(', ')}`);
  });
});

describe('ImplicitMetaGradientModule: meta-parameters and errors', () => {
  class Quadratic extends ImplicitMetaGradientModule {
    declare w: mg.Tensor;
    declare target: mg.Tensor;
    constructor(target: mg.Tensor) {
      super(target);
      this.target = target;
      this.w = new mg.nn.Parameter(mg.zeros([3], { dtype: 'float64' }));
    }
    override objective(): mg.Tensor {
      // argmin_w ½‖w − 2·target‖² → w* = 2·target.
      return this.w.sub(this.target.mul(2)).square().sum().mul(0.5);
    }
    solve(): this {
      this.w = new mg.nn.Parameter(this.target.mul(2).detach());
      return this;
    }
  }

  it('a grad-requiring tensor passed to super is a meta-parameter and gets the implicit gradient', () => {
    const target = mg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const q = new Quadratic(target);
    assert.deepEqual(q.namedMetaParameters().map(([n]) => n), ['target']);
    assert.deepEqual(q.namedParameters().map(([n]) => n), ['w']);
    q.solve();
    const [g] = mg.autograd.grad(q.w.mul(mg.tensor([1, 10, 100], { dtype: 'float64' })).sum(), target);
    assertClose(g as mg.Tensor, [2, 20, 200], 1e-8);
  });

  it('a module with only objective exposes the derived optimality: ∇_w objective, differentiable in the meta-parameters', () => {
    const target = mg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const q = new Quadratic(target);
    q.w = new mg.nn.Parameter(mg.tensor([0.5, 0, -1], { dtype: 'float64' }));
    const opt = (q as unknown as { optimality(): mg.Tensor[] }).optimality();
    assert.equal(opt.length, 1);
    // ∇_w ½‖w − 2t‖² = w − 2t.
    assertClose(opt[0], [0.5 - 2, 0 - 4, -1 - 6], 1e-12);
    const [g] = mg.autograd.grad(opt[0].sum(), target);
    assertClose(g as mg.Tensor, [-2, -2, -2], 1e-12);
    // The parameters are left as they were.
    assertClose(q.w, [0.5, 0, -1]);
  });

  it('solve must return the module: a solve that returns something else raises naming the class, and is a type error', () => {
    class ReturnsLoss extends Quadratic {
      // @ts-expect-error: solve's declared contract is to return this
      override solve(): number {
        this.w = new mg.nn.Parameter(this.target.mul(2).detach());
        return 1;
      }
    }
    const m = new ReturnsLoss(mg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true }));
    assert.throws(() => m.solve(), { name: 'TypeError', message: /^ReturnsLoss\.solve must return this \(the module, as in TorchOpt\), got 1/ });
  });

  it('raises for a subclass with neither objective nor optimality', () => {
    class Bad extends ImplicitMetaGradientModule {
      solve(): this {
        return this;
      }
    }
    assert.throws(() => new Bad(makeMetaNet()), /either objective\(\.\.\.inputs\) or optimality/);
  });

  it('raises for no inner parameters and for no meta-parameters', () => {
    class NoInner extends ImplicitMetaGradientModule {
      override optimality(): mg.Tensor[] { return []; }
      solve(): this {
        return this;
      }
    }
    assert.throws(() => (new NoInner(makeMetaNet()) as unknown as { solve(): void }).solve(), /no inner parameters/);
    class NoMeta extends ImplicitMetaGradientModule {
      declare w: mg.Tensor;
      constructor() { super(); this.w = new mg.nn.Parameter(mg.zeros([2])); }
      override optimality(): mg.Tensor[] { return [this.w]; }
      solve(): this {
        return this;
      }
    }
    assert.throws(() => (new NoMeta() as unknown as { solve(): void }).solve(), /no meta-parameters/);
  });

  it('an optimality output with the wrong shape names the parameter and both shapes', () => {
    class WrongShape extends FixedPoint {
      override optimality(): mg.Tensor[] { return [this.x.sub(this.forward(this.x)).reshape(-1)]; }
    }
    const m = new WrongShape(makeMetaNet());
    m.registerX(mg.randn([1, 4]));
    // The root check evaluates the optimality at the solution, so the mismatch surfaces in solve().
    assert.throws(() => m.solve(), /parameter 'x' has shape \[4\], but the parameter has shape \[1, 4\]/);
  });
});

describe('ImplicitMetaGradientModule: options and diagnostics through the module', () => {
  /** A ridge-regularised least-squares inner problem on 12 unknowns; 3 CG steps do not converge. */
  function makeInner(implicitOptions: mg.diff.implicit.ImplicitModuleOptions | undefined) {
    class Ridge extends ImplicitMetaGradientModule {
      static override linearSolve = mg.linearSolve.solveNormalCg({ maxiter: 3, atol: 0 });
      static override implicitOptions = implicitOptions;
      declare w: mg.nn.Parameter;
      declare theta: mg.Tensor;
      constructor(theta: mg.Tensor) {
        super(theta);
        this.theta = theta;
        this.w = new mg.nn.Parameter(mg.zeros([12], { dtype: 'float64' }));
      }
      override optimality(A: mg.Tensor, b: mg.Tensor): mg.Tensor[] {
        return [A.t().matmul(A.matmul(this.w).sub(b)).add(this.w.sub(this.theta))];
      }
      solve(A: mg.Tensor, b: mg.Tensor): this {
        // The exact minimiser: (AᵀA + I) w = Aᵀb + θ.
        const M = A.t().matmul(A).add(mg.eye(12, { dtype: 'float64' }));
        const w = mg.linalg.solve(M, A.t().matmul(b).add(this.theta));
        mg.noGrad(() => this.w.copy_(w));
        return this;
      }
    }
    return Ridge;
  }

  it('static implicitOptions reach customRoot: onSolve per solve, one warning per module, checkRoot', async () => {
    mg.manualSeed(1);
    const A = mg.randn([20, 12], { dtype: 'float64' });
    const b = mg.randn([20], { dtype: 'float64' });
    const infos: mg.diff.implicit.BackwardSolveInfo[] = [];
    const Quiet = makeInner({ onSolve: (i) => infos.push(i), warnNotConverged: false });
    const Loud = makeInner(undefined);
    const warnings = await warningsOf(() => {
      const theta = mg.randn([12], { dtype: 'float64', requiresGrad: true });
      const quiet = new Quiet(theta);
      const loud = new Loud(theta);
      for (let i = 0; i < 20; i++) {
        for (const m of [quiet, loud]) {
          m.solve(A, b);
          mg.autograd.grad(m.w.sum(), [theta]);
        }
      }
    });
    assert.equal(infos.length, 20);
    assert.ok(infos.every((i) => !i.converged && i.site === 'customRoot(Ridge.solve)' && (i.rootResidual ?? 1) < 1e-9));
    assert.equal(warnings.filter((w) => w.code === 'METAGRAD_SOLVE_NOT_CONVERGED').length, 1, 'one warning for 20 solves of one module');
    // checkRoot through the module: a solve that stops short is refused unless relaxed.
    class Short extends makeInner(undefined) {
      override solve(_A: mg.Tensor, _b: mg.Tensor): this {
        return this;
      }
    }
    const theta = mg.randn([12], { dtype: 'float64', requiresGrad: true });
    assert.throws(() => new Short(theta).solve(A, b), /customRoot\(Short\.solve\): the solver's result is not a root/);
    class ShortOk extends makeInner({ checkRoot: false, warnNotConverged: false }) {
      override solve(_A: mg.Tensor, _b: mg.Tensor): this {
        return this;
      }
    }
    assert.doesNotThrow(() => new ShortOk(theta).solve(A, b));
  });
});
