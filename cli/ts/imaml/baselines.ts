/**
 * What iMAML is compared with, and how any initialisation is scored: adapt it to each held-out
 * task's support points with the same inner procedure, then measure the query MSE.
 */
import { type Tensor, applyUpdates, autograd, nn, noGrad } from 'metagrad';
import { type SinusoidTask, sampleSinusoidTasks } from '../tasks';
import type { ImamlConfig } from './config';
import type { Executor } from './executor';
import { column } from './inner';
import type { AdaptResult } from './jobs';
import { flatParams } from '../params';
import { mlpForward } from './model';
import { metaOptimizer } from './state';
import { STREAMS, streamGenerator } from '../streams';

/** Mean and standard error of the mean. */
export interface Score {
  /** Mean query MSE over the tasks. */
  mean: number;
  /** Standard error of that mean. */
  stderr: number;
}

/** Mean and standard error of per-task losses. */
export function score(results: readonly AdaptResult[]): Score {
  const n = results.length;
  const mean = results.reduce((s, r) => s + r.queryLoss, 0) / n;
  const variance = n > 1 ? results.reduce((s, r) => s + (r.queryLoss - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stderr: Math.sqrt(variance / n) };
}

/** Adapts `init` to every task (on the executor) and returns per-task results. */
export function adaptAll(exec: Executor, init: readonly Tensor[], tasks: SinusoidTask[], cfg: ImamlConfig, grid = new Float32Array(0)): Promise<AdaptResult[]> {
  return exec.run({
    kind: 'adapt',
    theta: flatParams(init),
    tasks,
    inner: { steps: cfg.innerSteps, lr: cfg.innerLr, lambda: cfg.lambda, cgIterations: cfg.cgIterations },
    grid,
    batching: cfg.batching,
  });
}

/**
 * The pretrained baseline: the same network from the same initialisation, trained by the same
 * Adam (learning rate and schedule) to fit all tasks jointly, every support and query point of
 * `metaBatch` fresh tasks per step, for as many steps as meta-training takes: the same budget of
 * tasks and updates. Its own task stream keeps it independent of meta-training.
 */
export function pretrain(init: readonly Tensor[], cfg: ImamlConfig): Tensor[] {
  const gen = streamGenerator(cfg.seed, STREAMS.pretrain);
  const params = init.map((p) => p.detach().clone().requiresGrad_(true));
  const opt = metaOptimizer(cfg);
  let state = opt.init(params);
  for (let it = 0; it < cfg.iterations; it++) {
    const tasks = sampleSinusoidTasks(gen, cfg.metaBatch, { support: cfg.shots, query: cfg.queries });
    const x = column(Float32Array.from(tasks.flatMap((t) => [...t.xSupport, ...t.xQuery])));
    const y = column(Float32Array.from(tasks.flatMap((t) => [...t.ySupport, ...t.yQuery])));
    const grads = autograd.grad(nn.functional.mseLoss(mlpForward(params, x), y), params);
    let updates: unknown;
    [updates, state] = opt.update(grads, state, { params });
    noGrad(() => applyUpdates(params, updates));
  }
  return params.map((p) => p.detach());
}
