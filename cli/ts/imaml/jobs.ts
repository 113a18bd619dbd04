/**
 * The work the training loop hands out, as plain data (it crosses to worker threads by structured
 * clone): per-task meta-gradients, and adaptation to held-out tasks. `runJob` is what both the
 * main thread and a worker execute, so the numbers do not depend on where a job ran.
 */
import { type Tensor, nn, noGrad } from 'metagrad';
import type { SinusoidTask } from '../tasks';
import { type InnerConfig, adapt, adaptAllBatched, column, taskMetaGradient, taskMetaGradientsBatched } from './inner';
import { type FlatParams, thetaLeaves } from '../params';
import { mlpForward } from './model';

/** Meta-gradients of a slice of a meta-batch. */
export interface MetaJob {
  /** Job kind. */
  kind: 'meta';
  /** Meta-parameters θ. */
  theta: FlatParams;
  /** Tasks, in meta-batch order. */
  tasks: SinusoidTask[];
  /** Inner problem settings. */
  inner: InnerConfig;
  /** The tasks in one vmapped pass, or one after the other. */
  batching: Batching;
  /** With vmap batching: the meta-gradient through `mg.jit`. */
  jit: boolean;
}

/** How a job's tasks run: all at once under func.vmap, or one after the other. */
export type Batching = 'vmap' | 'loop';

/** Adaptation of an initialisation to tasks, measuring query MSE (and predictions on a grid). */
export interface AdaptJob {
  /** Job kind. */
  kind: 'adapt';
  /** The initialisation adapted from. */
  theta: FlatParams;
  /** Tasks to adapt to. */
  tasks: SinusoidTask[];
  /** Inner problem settings. */
  inner: InnerConfig;
  /** Inputs at which to return the adapted network's predictions (none when empty). */
  grid: Float32Array;
  /** As {@link MetaJob.batching}. */
  batching: Batching;
}

/** A unit of work. */
export type Job = MetaJob | AdaptJob;

/** One task's outcome of an {@link AdaptJob}. */
export interface AdaptResult {
  /** Query MSE after adaptation. */
  queryLoss: number;
  /** Predictions at the job's grid. */
  predictions: Float32Array;
}

/** One task's outcome of a {@link MetaJob}. */
export interface MetaResult {
  /** Query MSE after adaptation. */
  queryLoss: number;
  /** Meta-gradient, one array per parameter. */
  grads: Float32Array[];
  /** Residual norm of the implicit backward solve. */
  residual: number;
  /** ‖F(φ, θ)‖ at the adapted parameters (the inner problem's distance from its root). */
  rootResidual: number;
}

/** Runs a job; results are aligned with `job.tasks`. */
export function runJob(job: Job): MetaResult[] | AdaptResult[] {
  if (job.kind === 'meta') {
    if (job.tasks.length === 0) return [];
    if (job.batching === 'vmap') return taskMetaGradientsBatched(job.theta.values, job.theta.shapes, job.tasks, job.inner, job.jit);
    return job.tasks.map((t) => taskMetaGradient(job.theta.values, job.theta.shapes, t, job.inner));
  }
  const init: Tensor[] = thetaLeaves(job.theta.values, job.theta.shapes).map((p) => p.detach());
  const adapted = job.batching === 'vmap' && job.tasks.length > 0 ? adaptAllBatched(init, job.tasks, job.inner) : null;
  return job.tasks.map((t, m) => {
    const phi = adapted ? adapted[m] : adapt(init, column(t.xSupport), column(t.ySupport), job.inner);
    return noGrad(() => ({
      queryLoss: nn.functional.mseLoss(mlpForward(phi, column(t.xQuery)), column(t.yQuery)).item(),
      predictions: job.grid.length === 0 ? new Float32Array(0) : Float32Array.from(mlpForward(phi, column(job.grid)).data),
    }));
  });
}
