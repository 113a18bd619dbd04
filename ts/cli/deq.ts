/**
 * `metagrad deq`: a deep equilibrium model (Bai et al. 2019) on a small regression task. The
 * hidden state is the fixed point z* = tanh(W z* + U x + b), found by plain iteration; the output
 * is V z* + c. Gradients with respect to W, U and b come from the implicit function theorem
 * (customFixedPoint), so memory and time do not grow with the number of forward iterations.
 * ‖W‖_F is kept below 0.9 (a projection after each step): tanh is 1-Lipschitz, so the map stays a
 * contraction and the fixed point exists and is unique.
 */
import { Generator, type Tensor, autograd, diff, linearSolve, nn, noGrad, rand, randn, zeros } from '../index';
import { adam, applyUpdates } from '../optim/index';

/** Settings of `metagrad deq`. */
export interface DeqConfig {
  /** Full-batch training epochs. */
  epochs: number;
  /** Size of the equilibrium state z. */
  width: number;
  /** Training samples (as many again are held out). */
  samples: number;
  /** Adam learning rate. */
  lr: number;
  /** Seed of every random draw. */
  seed: number;
  /** JSON lines instead of text. */
  json: boolean;
}

/** Defaults: a few seconds of training. */
export const DEQ_DEFAULTS: Omit<DeqConfig, 'json'> = { epochs: 150, width: 24, samples: 256, lr: 0.01, seed: 0 };

/** Input dimension of the task. */
const IN = 2;
/** Bound on ‖W‖_F that keeps z ↦ tanh(Wz + Ux + b) a contraction. */
const W_BOUND = 0.9;
/** Forward iteration budget and tolerance (max-abs change between iterates). */
const FORWARD = { maxIter: 100, tol: 1e-5 };

/** The regression target: a smooth function of two inputs. */
function target(x: Tensor): Tensor {
  const [x0, x1] = [x.narrow(1, 0, 1), x.narrow(1, 1, 1)];
  return x0.mul(1.5).sin().mul(x1.cos()).add(x0.mul(x1).mul(0.25));
}

/** A regression data set: x ~ U[−2, 2]², y = target(x). */
function dataset(generator: Generator, n: number): { x: Tensor; y: Tensor } {
  const x = rand([n, IN], { generator }).mul(4).sub(2);
  return { x, y: target(x) };
}

/** T(z) = tanh(z Wᵀ + x Uᵀ + b) for a batch of states z [N, width]. */
function layer(z: Tensor, W: Tensor, U: Tensor, b: Tensor, x: Tensor): Tensor {
  return nn.functional.linear(z, W).add(nn.functional.linear(x, U, b)).tanh();
}

/** Iterates T from z0 to its fixed point; records how many iterations it took. */
function makeSolver(stats: { iterations: number }) {
  const solver = (z0: Tensor, W: Tensor, U: Tensor, b: Tensor, x: Tensor): Tensor => {
    let z = z0;
    for (let k = 1; k <= FORWARD.maxIter; k++) {
      const next = layer(z, W, U, b, x);
      const change = next.sub(z).abs().max().item();
      z = next;
      stats.iterations = k;
      if (change < FORWARD.tol) break;
    }
    return z;
  };
  return diff.implicit.customFixedPoint(layer, { argnums: [1, 2, 3], solve: linearSolve.solveNormalCg({ maxiter: 30 }), warnNotConverged: false })(solver);
}

/** Runs `metagrad deq`; returns the exit code. */
export function runDeq(cfg: DeqConfig): number {
  const gen = new Generator().manualSeed(cfg.seed);
  const train = dataset(gen, cfg.samples);
  const test = dataset(gen, cfg.samples);
  const scale = (t: Tensor, s: number): Tensor => t.mul(s).detach().requiresGrad_(true);
  const W = scale(randn([cfg.width, cfg.width], { generator: gen }), 0.3 / cfg.width);
  const U = scale(randn([cfg.width, IN], { generator: gen }), 1 / Math.sqrt(IN));
  const b = scale(randn([cfg.width], { generator: gen }), 0.1);
  const V = scale(randn([1, cfg.width], { generator: gen }), 1 / Math.sqrt(cfg.width));
  const c = scale(randn([1], { generator: gen }), 0);
  const params = [W, U, b, V, c];
  const stats = { iterations: 0 };
  const solve = makeSolver(stats);
  const predict = (x: Tensor): Tensor => nn.functional.linear(solve(zeros([x.shape[0], cfg.width]), W, U, b, x), V, c);
  const mse = (d: { x: Tensor; y: Tensor }): number => noGrad(() => nn.functional.mseLoss(predict(d.x), d.y).item());

  const opt = adam({ lr: cfg.lr });
  let state = opt.init(params);
  const out = (o: Record<string, unknown>, text: string): void => {
    process.stdout.write(cfg.json ? `${JSON.stringify({ task: 'deq', ...o })}\n` : `${text}\n`);
  };
  const before = { train: mse(train), test: mse(test) };
  out({ epoch: 0, trainMse: before.train, testMse: before.test }, `DEQ z = tanh(Wz + Ux + b), width ${cfg.width}, ${cfg.samples} samples; implicit gradients by customFixedPoint\nepoch    0  train MSE ${before.train.toFixed(5)}  test MSE ${before.test.toFixed(5)}`);
  const every = Math.max(1, Math.round(cfg.epochs / 10));
  const t0 = performance.now();
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const loss = nn.functional.mseLoss(predict(train.x), train.y);
    const grads = autograd.grad(loss, params);
    let updates: unknown;
    [updates, state] = opt.update(grads, state, { params });
    noGrad(() => {
      applyUpdates(params, updates);
      const norm = Math.sqrt(W.square().sum().item());
      if (norm > W_BOUND) W.mul_(W_BOUND / norm);
    });
    if (epoch % every === 0 || epoch === cfg.epochs) {
      const te = mse(test);
      out(
        { epoch, trainMse: loss.item(), testMse: te, forwardIterations: stats.iterations, seconds: (performance.now() - t0) / 1000 },
        `epoch ${String(epoch).padStart(4)}  train MSE ${loss.item().toFixed(5)}  test MSE ${te.toFixed(5)}  (fixed point in ${stats.iterations} iterations)`,
      );
    }
  }
  const after = { train: mse(train), test: mse(test) };
  const wNorm = Math.sqrt(noGrad(() => W.square().sum().item()));
  const seconds = (performance.now() - t0) / 1000;
  out(
    { result: { trainMse: { before: before.train, after: after.train }, testMse: { before: before.test, after: after.test }, wNorm, seconds } },
    `test MSE ${before.test.toFixed(5)} -> ${after.test.toFixed(5)} in ${seconds.toFixed(1)} s (‖W‖_F = ${wNorm.toFixed(3)}, bound ${W_BOUND})`,
  );
  return 0;
}
