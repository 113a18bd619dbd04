/**
 * Bilevel hyperparameter tuning with a sparse inner problem: the lasso's λ is learned by gradient
 * descent on a validation loss, the gradient of the lasso solution w*(λ) coming from implicit
 * differentiation of ProximalGradient's fixed point (JAXopt's `lasso_implicit_diff` example).
 *
 *   npx tsx examples/lasso-bilevel.ts
 */
import * as mg from 'metagrad';

type T = mg.Tensor;

/** A sparse regression problem: 5 of 20 features matter; train and validation splits. */
export function lassoData(seed = 0): { train: [T, T]; val: [T, T] } {
  const g = new mg.Generator().manualSeed(seed);
  const wTrue = mg.cat([mg.tensor([3, -2, 1.5, -1, 0.5], { dtype: 'float64' }), mg.zeros([15], { dtype: 'float64' })]);
  const draw = (n: number): [T, T] => {
    const X = mg.randn([n, 20], { generator: g, dtype: 'float64' });
    return [X, X.matmul(wTrue).add(mg.randn([n], { generator: g, dtype: 'float64' }).mul(0.5))];
  };
  return { train: draw(30), val: draw(30) };
}

/** ½·mean((Xw − y)²). */
const leastSquares = (w: T, X: T, y: T): T => X.matmul(w).sub(y).square().mean().mul(0.5);

/** The lasso solver: min_w ½·mean((Xw − y)²) + λ‖w‖₁, run(w0, λ, X, y). */
export const lasso = new mg.solvers.ProximalGradient({
  fun: leastSquares,
  prox: mg.prox.l1,
  tol: 1e-9,
  maxiter: 5000,
  implicitDiffSolve: mg.linearSolve.solveGmres({ rtol: 1e-10 }),
});

/** Validation loss of the lasso fit with λ = exp(logLam), differentiable in logLam. */
export function validationLoss(logLam: T, data = lassoData()): T {
  const w = lasso.run(mg.zeros([20], { dtype: 'float64' }), logLam.exp(), ...data.train).params as T;
  return leastSquares(w, ...data.val);
}

/** Learns log λ by gradient descent on the validation loss; returns the path. */
export function tune(steps = 30, lr = 1): { logLam: number; valLoss: number }[] {
  const data = lassoData();
  const logLam = mg.tensor(Math.log(2), { dtype: 'float64', requiresGrad: true });
  const path: { logLam: number; valLoss: number }[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = validationLoss(logLam, data);
    path.push({ logLam: logLam.item(), valLoss: loss.item() });
    const [g] = mg.autograd.grad(loss, logLam) as T[];
    mg.noGrad(() => logLam.sub_(g.mul(lr)));
  }
  return path;
}

if (require.main === module) {
  const path = tune();
  for (const p of path.filter((_, i) => i % 5 === 0 || i === path.length - 1)) {
    console.log(`λ = ${Math.exp(p.logLam).toFixed(4)}  validation loss ${p.valLoss.toFixed(5)}`);
  }
}
