/**
 * `metagrad deq`: a deep equilibrium model (Bai et al. 2019) on a small regression task. The
 * hidden state is the fixed point z* = tanh(W z* + U x + b) of an `nn.DEQ` layer, found by the
 * chosen solver (plain iteration, Anderson or Broyden); the output is V z* + c. The gradient with
 * respect to W, U and b is the chosen mode (implicit function theorem, phantom or Jacobian-free),
 * optionally with the Jacobian regulariser added to the loss. ‖W‖_F is kept below 0.9 (a projection
 * after each step): tanh is 1-Lipschitz, so the map stays a contraction and the fixed point exists
 * and is unique. `--compare` trains once per solver and per gradient mode and prints a table.
 */
import { Generator, type Tensor, adam, adamw, applyUpdates, argmax, autograd, data, linearSolve, nn, noGrad, rand, randn, schedule, zeros } from 'metagrad';
import { loadMnist, shiftDigits } from './mnist';

/** Forward solvers of the job. */
export const DEQ_SOLVERS = ['fixed-point', 'anderson', 'broyden'] as const;
/** Gradient modes of the job. */
export const DEQ_BACKWARDS = ['ift', 'phantom', 'jfb'] as const;

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
  /** Forward solver. */
  solver: (typeof DEQ_SOLVERS)[number];
  /** Gradient mode. */
  backward: (typeof DEQ_BACKWARDS)[number];
  /** Weight of the Jacobian regulariser in the loss (0: none). */
  jacReg: number;
  /** Train once per solver and per gradient mode and print the comparison. */
  compare: boolean;
  /** 'synthetic' (the regression task) or 'mnist' (a digit classifier). */
  data: 'synthetic' | 'mnist';
  /** Mini-batch size for mnist. */
  batchSize: number;
  /** mnist: training digits translated by up to this many pixels, afresh each epoch (0: none). */
  shift: number;
  /** JSON lines instead of text. */
  json: boolean;
}

/** Defaults: a few seconds of training. */
export const DEQ_DEFAULTS: Omit<DeqConfig, 'json'> = { epochs: 150, width: 24, samples: 256, lr: 0.01, seed: 0, solver: 'anderson', backward: 'ift', jacReg: 0, compare: false, data: 'synthetic', batchSize: 100, shift: 0 };

/** What `--data mnist` uses where the options are not given. */
export const DEQ_MNIST_DEFAULTS = { epochs: 15, width: 256, samples: 8000, lr: 1e-3, batchSize: 64, shift: 2 };

/** Input dimension of the task. */
const IN = 2;
/** Bound on ‖W‖_F that keeps z ↦ tanh(Wz + Ux + b) a contraction. */
const W_BOUND = 0.9;
/** Forward tolerance and iteration budget. */
const FORWARD = { maxiter: 200, tol: 1e-5 };

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

/** The equilibrium map T(z, x) = tanh(z Wᵀ + x Uᵀ + b). */
class Cell extends nn.Module {
  declare W: Tensor;
  declare U: Tensor;
  declare b: Tensor;
  constructor(width: number, gen: Generator) {
    super();
    this.W = new nn.Parameter(randn([width, width], { generator: gen }).mul(0.3 / width));
    this.U = new nn.Parameter(randn([width, IN], { generator: gen }).mul(1 / Math.sqrt(IN)));
    this.b = new nn.Parameter(randn([width], { generator: gen }).mul(0.1));
  }
  override forward(z: Tensor, x: Tensor): Tensor {
    return nn.functional.linear(z, this.W).add(nn.functional.linear(x, this.U, this.b)).tanh();
  }
}

/** One training run's outcome. */
interface RunResult {
  solver: string;
  backward: string;
  trainMse: { before: number; after: number };
  testMse: { before: number; after: number };
  /** Mean forward iterations per epoch. */
  forwardIterations: number;
  wNorm: number;
  seconds: number;
}

const SOLVER_NAME: Record<DeqConfig['solver'], 'fixedPoint' | 'anderson' | 'broyden'> = { 'fixed-point': 'fixedPoint', anderson: 'anderson', broyden: 'broyden' };

/** Trains one model; `report` receives each logged epoch. */
function train(cfg: DeqConfig, solver: DeqConfig['solver'], backward: DeqConfig['backward'], report: (o: Record<string, unknown>, text: string) => void): RunResult {
  const gen = new Generator().manualSeed(cfg.seed);
  const trainSet = dataset(gen, cfg.samples);
  const testSet = dataset(gen, cfg.samples);
  const cell = new Cell(cfg.width, gen);
  const V = randn([1, cfg.width], { generator: gen }).mul(1 / Math.sqrt(cfg.width)).requiresGrad_(true);
  const c = zeros([1]).requiresGrad_(true);
  const deq = new nn.DEQ(cell, {
    solver: SOLVER_NAME[solver],
    backward,
    solverOptions: FORWARD,
    implicitDiffSolve: linearSolve.solveNormalCg({ maxiter: 30 }),
  });
  const params = [...cell.parameters(), V, c];
  const z0 = (x: Tensor) => zeros([x.shape[0], cfg.width]);
  const mse = (d: { x: Tensor; y: Tensor }): number => noGrad(() => nn.functional.mseLoss(nn.functional.linear(deq.forward(d.x, z0(d.x)), V, c), d.y).item());
  const opt = adam({ lr: cfg.lr });
  let state = opt.init(params);
  const before = { train: mse(trainSet), test: mse(testSet) };
  report({ solver, backward, epoch: 0, trainMse: before.train, testMse: before.test }, `epoch    0  train MSE ${before.train.toFixed(5)}  test MSE ${before.test.toFixed(5)}`);
  const every = Math.max(1, Math.round(cfg.epochs / 10));
  let iterations = 0;
  const t0 = performance.now();
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const z = deq.forward(trainSet.x, z0(trainSet.x));
    const its = deq.lastSolve?.iterNum ?? 0;
    iterations += its;
    const fit = nn.functional.mseLoss(nn.functional.linear(z, V, c), trainSet.y);
    const loss = cfg.jacReg > 0 ? fit.add(nn.deq.jacobianRegularization(cell, z, trainSet.x, { reduction: 'mean', generator: gen }).mul(cfg.jacReg)) : fit;
    const grads = autograd.grad(loss, params);
    let updates: unknown;
    [updates, state] = opt.update(grads, state, { params });
    noGrad(() => {
      applyUpdates(params, updates);
      const norm = Math.sqrt(cell.W.square().sum().item());
      if (norm > W_BOUND) cell.W.mul_(W_BOUND / norm);
    });
    if (epoch % every === 0 || epoch === cfg.epochs) {
      const te = mse(testSet);
      report(
        { solver, backward, epoch, trainMse: fit.item(), testMse: te, forwardIterations: its, seconds: (performance.now() - t0) / 1000 },
        `epoch ${String(epoch).padStart(4)}  train MSE ${fit.item().toFixed(5)}  test MSE ${te.toFixed(5)}  (fixed point in ${its} iterations)`,
      );
    }
  }
  const after = { train: mse(trainSet), test: mse(testSet) };
  return {
    solver,
    backward,
    trainMse: { before: before.train, after: after.train },
    testMse: { before: before.test, after: after.test },
    forwardIterations: iterations / cfg.epochs,
    wNorm: Math.sqrt(noGrad(() => cell.W.square().sum().item())),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** z ↦ tanh(z Wᵀ + u): the equilibrium map of the digit classifier, with the injection u = x Uᵀ + b given. */
class Injected extends nn.Module {
  declare W: Tensor;
  constructor(width: number, gen: Generator) {
    super();
    this.W = new nn.Parameter(randn([width, width], { generator: gen }).mul(0.3 / width));
  }
  override forward(z: Tensor, u: Tensor): Tensor {
    return nn.functional.linear(z, this.W).add(u).tanh();
  }
}

/** Fraction of rows whose argmax equals the label. */
function accuracy(logits: Tensor, y: Tensor): number {
  const pred = argmax(logits, 1).data;
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y.data[i]) ok++;
  return ok / pred.length;
}

/** `metagrad deq --data mnist`: a DEQ digit classifier against an explicit net of the same size. */
function runDeqMnist(cfg: DeqConfig, out: (o: Record<string, unknown>, text: string) => void): number {
  const t0 = performance.now();
  const { train, test, blank } = loadMnist(cfg.seed, cfg.samples);
  const gen = new Generator().manualSeed(cfg.seed);
  const width = cfg.width;
  const U = new nn.Linear(784, width);
  const cell = new Injected(width, gen);
  const head = new nn.Linear(width, 10);
  const deq = new nn.DEQ(cell, {
    solver: SOLVER_NAME[cfg.solver],
    backward: cfg.backward,
    solverOptions: { maxiter: 60, tol: 1e-4 },
    implicitDiffSolve: linearSolve.solveGmres({ maxiter: 40, rtol: 1e-5 }),
  });
  let probe = randn([width], { generator: gen });
  const deqLogits = (x: Tensor): Tensor => {
    const u = U.forward(x);
    return head.forward(deq.forward(u, zeros([x.shape[0], width])));
  };
  // The explicit baseline: the same layers unrolled once (x → tanh(Ux + b) → tanh(W h + c) → head).
  const explicit = new nn.Sequential(new nn.Linear(784, width), new nn.Tanh(), new nn.Linear(width, width), new nn.Tanh(), new nn.Linear(width, 10));
  const models: { name: string; params: Tensor[]; logits: (x: Tensor) => Tensor; project?: () => void }[] = [
    {
      name: 'DEQ',
      params: [...U.parameters(), ...cell.parameters(), ...head.parameters()],
      logits: deqLogits,
      // ‖W‖₂ ≤ 0.9 keeps the map a contraction; the spectral norm (power iteration, warm-started)
      // bounds far less of W's capacity than the Frobenius norm the regression job uses.
      project: () => {
        for (let k = 0; k < 3; k++) probe = cell.W.t().matmul(cell.W.matmul(probe)).div(cell.W.t().matmul(cell.W.matmul(probe)).square().sum().sqrt());
        const sigma = Math.sqrt(cell.W.matmul(probe).square().sum().item());
        if (sigma > W_BOUND) cell.W.mul_(W_BOUND / sigma);
      },
    },
    { name: 'explicit', params: explicit.parameters(), logits: (x) => explicit.forward(x) as Tensor },
  ];
  out(
    { data: 'mnist', train: train.y.numel, test: test.y.numel, width, solver: cfg.solver, backward: cfg.backward, parameters: models.map((m) => m.params.reduce((n, p) => n + p.numel, 0)) },
    `MNIST (the mnist package): ${train.y.numel} train / ${test.y.numel} test digits; DEQ z = tanh(Wz + Ux + b) with ‖W‖₂ ≤ ${W_BOUND}, width ${width}, forward ${cfg.solver}, gradient ${cfg.backward}; explicit net of the same layers`,
  );
  const results: Record<string, { accuracy: number; seconds: number; forwardIterations?: number }> = {};
  for (const m of models) {
    const shuffle = new Generator().manualSeed(cfg.seed + 1);
    const shifts = new Generator().manualSeed(cfg.seed + 2);
    const loaderOf = (x: Tensor) => new data.DataLoader(new data.TensorDataset(x, train.y), { batchSize: cfg.batchSize, shuffle: true, generator: shuffle });
    let loader = loaderOf(train.x);
    // AdamW with the learning rate decayed linearly to 0 over the run (the same for both models).
    const opt = adamw({ lr: schedule.linear({ initValue: cfg.lr, endValue: 0, transitionSteps: cfg.epochs * loader.length }), weightDecay: 1e-4 });
    let state = opt.init(m.params);
    const start = performance.now();
    let its = 0;
    let batches = 0;
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      let lossSum = 0;
      if (cfg.shift > 0) loader = loaderOf(shiftDigits(train.x, cfg.shift, blank, shifts));
      for (const [xb, yb] of loader) {
        const loss = nn.functional.crossEntropy(m.logits(xb), yb);
        const grads = autograd.grad(loss, m.params);
        let updates: unknown;
        [updates, state] = opt.update(grads, state, { params: m.params });
        noGrad(() => {
          applyUpdates(m.params, updates);
          m.project?.();
        });
        lossSum += loss.item();
        batches++;
        if (m.name === 'DEQ') its += deq.lastSolve?.iterNum ?? 0;
      }
      const acc = noGrad(() => accuracy(m.logits(test.x), test.y));
      out(
        { model: m.name, epoch, trainLoss: lossSum / loader.length, testAccuracy: acc, ...(m.name === 'DEQ' ? { forwardIterations: its / batches } : {}), seconds: (performance.now() - start) / 1000 },
        `${m.name.padEnd(8)} epoch ${String(epoch).padStart(2)}  train loss ${(lossSum / loader.length).toFixed(4)}  test accuracy ${(100 * acc).toFixed(2)} %${m.name === 'DEQ' ? `  (${(its / batches).toFixed(1)} forward iterations per batch)` : ''}`,
      );
      results[m.name] = { accuracy: acc, seconds: (performance.now() - start) / 1000, ...(m.name === 'DEQ' ? { forwardIterations: its / batches } : {}) };
    }
  }
  out({ result: results, seconds: (performance.now() - t0) / 1000 }, `test accuracy: DEQ ${(100 * results.DEQ.accuracy).toFixed(2)} % (${results.DEQ.seconds.toFixed(0)} s), explicit ${(100 * results.explicit.accuracy).toFixed(2)} % (${results.explicit.seconds.toFixed(0)} s)`);
  return 0;
}

/** Runs `metagrad deq`; returns the exit code. */
export function runDeq(cfg: DeqConfig): number {
  const out = (o: Record<string, unknown>, text: string): void => {
    process.stdout.write(cfg.json ? `${JSON.stringify({ task: 'deq', ...o })}\n` : `${text}\n`);
  };
  if (cfg.data === 'mnist') return runDeqMnist(cfg, out);
  if (!cfg.compare) {
    out(
      { solver: cfg.solver, backward: cfg.backward, jacReg: cfg.jacReg },
      `DEQ z = tanh(Wz + Ux + b), width ${cfg.width}, ${cfg.samples} samples; forward ${cfg.solver}, gradient ${cfg.backward}${cfg.jacReg > 0 ? `, Jacobian regulariser ${cfg.jacReg}` : ''}`,
    );
    const r = train(cfg, cfg.solver, cfg.backward, out);
    out(
      { result: r },
      `test MSE ${r.testMse.before.toFixed(5)} -> ${r.testMse.after.toFixed(5)} in ${r.seconds.toFixed(1)} s, ${r.forwardIterations.toFixed(1)} forward iterations per epoch (‖W‖_F = ${r.wNorm.toFixed(3)}, bound ${W_BOUND})`,
    );
    return 0;
  }
  // The comparison: each solver with the IFT gradient, then each gradient mode with Anderson.
  const runs: RunResult[] = [];
  const quiet = (): void => {};
  for (const s of DEQ_SOLVERS) runs.push(train(cfg, s, 'ift', quiet));
  for (const b of DEQ_BACKWARDS) if (b !== 'ift') runs.push(train(cfg, 'anderson', b, quiet));
  if (cfg.json) {
    for (const r of runs) out({ compare: r }, '');
    return 0;
  }
  const rows = runs.map((r) => `| ${r.solver.padEnd(11)} | ${r.backward.padEnd(7)} | ${r.forwardIterations.toFixed(1).padStart(10)} | ${r.testMse.after.toFixed(5).padStart(8)} | ${r.seconds.toFixed(1).padStart(5)} |`);
  out({}, [
    `DEQ z = tanh(Wz + Ux + b), width ${cfg.width}, ${cfg.samples} samples, ${cfg.epochs} epochs, tol ${FORWARD.tol}; test MSE before training ${runs[0].testMse.before.toFixed(5)}`,
    '| solver      | grad    | fwd it/ep  | test MSE | s     |',
    '|-------------|---------|------------|----------|-------|',
    ...rows,
  ].join('\n'));
  return 0;
}
