/**
 * The inner problem of iMAML (Rajeswaran et al. 2019), whatever the model: for meta-parameters θ
 * and a task's support loss L, the adapted parameters are
 *   φ*(θ) = argmin_φ  L(φ) + (λ/2)‖φ − θ‖²,
 * approximated by a few gradient steps with backtracking. Shared by the jobs (`imaml`, `fewshot`).
 */
import { type Tensor, autograd, diff, enableGrad, type linearSolve, noGrad, tensor } from 'metagrad';

/** The adaptation steps. */
export interface ProximalSteps {
  /** Gradient steps on the inner objective. */
  steps: number;
  /** Initial step size (halved when a step does not decrease the objective enough). */
  lr: number;
  /** Strength λ of the proximal term (λ/2)‖φ − θ‖². */
  lambda: number;
  /**
   * Armijo's constant c: a step must decrease the objective by c·η‖g‖² (default ½, which suits
   * smooth regression; sharper losses such as a batch-normalised classifier's need the textbook
   * 1e-4, or every step is cut down to a crawl).
   */
  sufficientDecrease?: number;
}

/** A support loss of the parameters. */
export type SupportLoss = (params: readonly Tensor[]) => Tensor;

/** Halvings of the step size tried per step before giving up on that step. */
export const MAX_HALVINGS = 12;

// The adaptation loop runs thousands of times per run; the proximal term and the step arithmetic
// are therefore plain loops over the typed arrays. The model itself stays in tensor ops.

/** Σ_i ‖a_i − b_i‖². */
export function sqDist(a: readonly Tensor[], b: readonly Tensor[]): number {
  let s = 0;
  a.forEach((t, i) => {
    const [x, y] = [t.data, b[i].data];
    for (let j = 0; j < x.length; j++) s += (x[j] - y[j]) ** 2;
  });
  return s;
}

/** a + alpha·b, elementwise, as a new tensor shaped like a (and of its dtype). */
function axpy(a: Tensor, alpha: number, b: Float32Array | Float64Array): Tensor {
  const x = a.data;
  const out = x instanceof Float64Array ? new Float64Array(x.length) : new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) out[j] = x[j] + alpha * b[j];
  return tensor(out, { shape: [...a.shape] });
}

/**
 * `cfg.steps` gradient steps on L(φ) + (λ/2)‖φ − θ‖² from φ = θ, with backtracking: a step that
 * does not decrease the objective enough (Armijo, f(φ − ηg) ≤ f(φ) − cη‖g‖²) is retried with half
 * the step size, which is kept for the following steps. Meta-learning sharpens the
 * initialisation, and a fixed step size that suits the first iterations can later diverge on
 * some tasks; backtracking never increases the objective. Returns detached tensors.
 */
export function adaptProximal(theta: readonly Tensor[], loss: SupportLoss, cfg: ProximalSteps): Tensor[] {
  const anchor = theta.map((t) => t.detach());
  const objective = (p: readonly Tensor[]): number => noGrad(() => loss(p).item()) + (cfg.lambda / 2) * sqDist(p, anchor);
  let phi = anchor.map((t) => t.clone());
  let f = objective(phi);
  let lr = cfg.lr;
  const c = cfg.sufficientDecrease ?? 0.5;
  for (let s = 0; s < cfg.steps; s++) {
    const leaves = phi.map((t) => t.detach().requiresGrad_(true));
    const gLoss = enableGrad(() => autograd.grad(loss(leaves), leaves));
    // ∇ of the proximal term, λ(φ − θ), added by hand.
    const g = gLoss.map((gi, i) => {
      const out = gi.data instanceof Float64Array ? Float64Array.from(gi.data) : Float32Array.from(gi.data);
      const [p, a] = [phi[i].data, anchor[i].data];
      for (let j = 0; j < out.length; j++) out[j] += cfg.lambda * (p[j] - a[j]);
      return out;
    });
    const g2 = g.reduce((acc, gi) => acc + (gi as Float64Array).reduce((u, v) => u + v * v, 0), 0);
    let accepted = false;
    for (let h = 0; h <= MAX_HALVINGS && !accepted; h++) {
      const trial = phi.map((t, i) => axpy(t, -lr, g[i]));
      const ft = objective(trial);
      if (ft <= f - c * lr * g2) {
        [phi, f, accepted] = [trial, ft, true];
      } else {
        lr /= 2;
      }
    }
    if (!accepted) break; // no decrease along −g at any tried step: stationary to float precision
  }
  return phi;
}

/**
 * ∇_φ of the inner objective, ∇L(φ) + λ(φ − θ): zero at the adapted parameters (the optimality
 * condition of customRoot). The proximal part is written out rather than differentiated, which
 * keeps the graphs the implicit backward differentiates through again small.
 */
export function proximalGradient(phi: readonly Tensor[], theta: readonly Tensor[], loss: SupportLoss, lambda: number, createGraph: boolean): Tensor[] {
  const g = autograd.grad(loss(phi), [...phi], { createGraph });
  return g.map((gi, i) => gi.add(phi[i].sub(theta[i]).mul(lambda)));
}

/** An inner solver wrapped by customRoot, and the residuals of its latest backward solve. */
export interface ImplicitProximal {
  /** (φ0, θ, x, y, λ) ↦ φ*(θ), differentiable in θ by the implicit function theorem. */
  solver: (phi0: Tensor[], theta: Tensor[], x: Tensor, y: Tensor, lambda: number) => Tensor[];
  /** Residual norm of the latest backward linear solve. */
  residual: number;
  /** ‖F(φ, θ)‖ at the latest forward solution. */
  rootResidual: number;
}

/**
 * `adapt` wrapped by customRoot on the proximal optimality condition of `loss(x, y)` (argnums 1,
 * θ), with the linear solver `solve`. The fixed budget of inner steps leaves φ off the root of
 * the proximal objective; the jobs record that residual (history.jsonl) instead of refusing it.
 */
export function implicitProximal(loss: (x: Tensor, y: Tensor) => SupportLoss, solve: linearSolve.LinearSolver<unknown>, adapt: (theta: Tensor[], x: Tensor, y: Tensor) => Tensor[]): ImplicitProximal {
  const optimality = (phi: Tensor[], theta: Tensor[], x: Tensor, y: Tensor, lambda: number): Tensor[] => proximalGradient(phi, theta, loss(x, y), lambda, true);
  const onSolve = (info: { residualNorm: number; rootResidual?: number }): void => {
    entry.residual = info.residualNorm;
    entry.rootResidual = info.rootResidual ?? Number.NaN;
  };
  const wrap = diff.implicit.customRoot(optimality, { argnums: 1, solve, onSolve, warnNotConverged: false, checkRoot: false });
  const entry: ImplicitProximal = {
    solver: wrap((_phi0: Tensor[], theta: Tensor[], x: Tensor, y: Tensor) => adapt(theta, x, y)),
    residual: Number.NaN,
    rootResidual: Number.NaN,
  };
  return entry;
}
