/**
 * iMAML on an episode: the inner problem is the support cross-entropy plus (λ/2)‖φ − θ‖²
 * (../proximal.ts), solved by a fixed budget of gradient steps; the meta-gradient of the query
 * cross-entropy comes from the implicit function theorem on ∇_φ = 0 (customRoot), solving with
 * (∇²L + λI) by a few GMRES steps. The iMAML paper uses CG, but this matrix is symmetric and
 * indefinite here (a batch-normalised conv net away from a minimum: CG broke down with pᵀAp ≈ −7e3
 * in the first iterations), and GMRES minimises the residual whatever the signs, at one
 * Hessian-vector product per step (normal CG would take two). Also the scores of an initialisation
 * adapted the same way, and of nearest class means (prototypes) on a network's features. Shared
 * by the main thread and the worker threads, so both produce identical numbers.
 */
import { type Tensor, argmax, autograd, linearSolve, nn, noGrad, tensor } from 'metagrad';
import { type FlatParams, thetaLeaves } from '../params';
import { type ImplicitProximal, type ProximalSteps, type SupportLoss, adaptProximal, implicitProximal } from '../proximal';
import { type Episode, PIXELS } from './episodes';
import { convFeatures, convLogits } from './model';

/** How an episode is adapted to and how its meta-gradient is formed. */
export interface InnerConfig extends ProximalSteps {
  /** GMRES steps (Hessian-vector products) of the implicit backward solve. */
  solveIterations: number;
  /** Arithmetic of the model (default float32; the tests check the meta-gradient in float64). */
  dtype?: 'float32' | 'float64';
}

/** Images [n, 784] as a tensor. */
export function images(x: Float32Array, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return tensor(dtype === 'float64' ? Float64Array.from(x) : x, { shape: [x.length / PIXELS, PIXELS] });
}

/** The cross-entropy of the network on (x, y) as a function of its parameters. */
function crossEntropyOn(x: Tensor, y: Tensor): SupportLoss {
  return (p) => nn.functional.crossEntropy(convLogits(p, x), y);
}

/** Fraction of rows of `logits` whose argmax is the label. */
export function accuracyOf(logits: Tensor, labels: Float32Array): number {
  const pred = argmax(logits, 1).data;
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / pred.length;
}

// One wrapper per configuration: customRoot's diagnostics are per wrapper.
const solvers = new Map<string, ImplicitProximal>();

function implicitSolver(cfg: InnerConfig): ImplicitProximal {
  const key = JSON.stringify(cfg);
  let entry = solvers.get(key);
  if (entry === undefined) {
    // A fixed budget of Krylov steps with no tolerance, as iMAML's (and TorchOpt's example) backward.
    const solve = linearSolve.solveGmres({ restart: cfg.solveIterations, maxiter: 1, rtol: 0, atol: 0 });
    entry = implicitProximal(crossEntropyOn, solve, (theta, x, y) => adaptProximal(theta, crossEntropyOn(x, y), cfg));
    solvers.set(key, entry);
  }
  return entry;
}

/** What one episode contributes to a meta-batch. */
export interface MetaResult {
  /** Query cross-entropy after adaptation. */
  queryLoss: number;
  /** Query accuracy after adaptation. */
  queryAccuracy: number;
  /** d L_query / d θ, one array per parameter (in the model's dtype). */
  grads: (Float32Array | Float64Array)[];
  /** Residual norm of the backward linear solve. */
  residual: number;
  /** ‖F(φ, θ)‖ at the adapted parameters. */
  rootResidual: number;
}

/** Adapts θ to the episode's support set; returns the query loss, accuracy and implicit meta-gradient. */
export function episodeMetaGradient(theta: FlatParams, ep: Episode, cfg: InnerConfig): MetaResult {
  const dtype = cfg.dtype ?? 'float32';
  const params = thetaLeaves(theta.values, theta.shapes, dtype);
  const entry = implicitSolver(cfg);
  const phi = entry.solver(params, params, images(ep.xSupport, dtype), tensor(ep.ySupport), cfg.lambda);
  const logits = convLogits(phi, images(ep.xQuery, dtype));
  const loss = nn.functional.crossEntropy(logits, tensor(ep.yQuery));
  const grads = autograd.grad(loss, params);
  return {
    queryLoss: loss.item(),
    queryAccuracy: noGrad(() => accuracyOf(logits, ep.yQuery)),
    grads: grads.map((g) => g.data.slice() as Float32Array | Float64Array),
    residual: entry.residual,
    rootResidual: entry.rootResidual,
  };
}

/** How an initialisation did on one test episode. */
export interface EpisodeScore {
  /** Query accuracy. */
  accuracy: number;
}

/** Adapts `init` to the episode's support set with the inner procedure; scores the query set. */
export function adaptedScore(init: readonly Tensor[], ep: Episode, cfg: ProximalSteps): EpisodeScore {
  const phi = adaptProximal(init, crossEntropyOn(images(ep.xSupport), tensor(ep.ySupport)), cfg);
  return { accuracy: noGrad(() => accuracyOf(convLogits(phi, images(ep.xQuery)), ep.yQuery)) };
}

/**
 * Nearest class mean (prototypical networks' rule, Snell et al. 2017) on the network's features:
 * each query image takes the label of the closest mean of the support features (Euclidean).
 */
export function prototypeScore(params: readonly Tensor[], ep: Episode, ways: number): EpisodeScore {
  return noGrad(() => {
    const fs = convFeatures(params, images(ep.xSupport));
    const fq = convFeatures(params, images(ep.xQuery));
    const dim = fs.shape[1];
    const shots = fs.shape[0] / ways;
    // Support rows are class-major: the mean over each class's `shots` rows.
    const means = fs.reshape(ways, shots, dim).mean(1);
    const d2 = fq.unsqueeze(1).sub(means.unsqueeze(0)).square().sum(2);
    return { accuracy: accuracyOf(d2.neg(), ep.yQuery) };
  });
}
