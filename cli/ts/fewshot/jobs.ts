/**
 * The work the few-shot training loop hands out, as plain data (it crosses to worker threads by
 * structured clone): per-episode meta-gradients, and scores of an initialisation on test episodes.
 * `runJob` is what both the main thread and a worker execute.
 */
import { type FlatParams, thetaLeaves } from '../params';
import { type Pool, createPool, workerModule } from '../pool';
import type { Episode } from './episodes';
import { type EpisodeScore, type InnerConfig, type MetaResult, adaptedScore, episodeMetaGradient, prototypeScore } from './inner';

/** Meta-gradients of a slice of a meta-batch. */
export interface MetaJob {
  /** Job kind. */
  kind: 'meta';
  /** Meta-parameters θ. */
  theta: FlatParams;
  /** Episodes, in meta-batch order. */
  tasks: Episode[];
  /** Inner problem settings. */
  inner: InnerConfig;
}

/** How an initialisation is scored on an episode: adapted by the inner procedure, or nearest class means of its features. */
export type ScoreMethod = 'adapt' | 'prototype';

/** Scores of an initialisation on test episodes. */
export interface ScoreJob {
  /** Job kind. */
  kind: 'score';
  /** How. */
  method: ScoreMethod;
  /** The initialisation (or, for prototypes, the feature network). */
  theta: FlatParams;
  /** Episodes. */
  tasks: Episode[];
  /** Inner problem settings. */
  inner: InnerConfig;
  /** Classes per episode. */
  ways: number;
}

/** A unit of work. */
export type Job = MetaJob | ScoreJob;

/** Runs a job; results are aligned with `job.tasks`. */
export function runJob(job: Job): (MetaResult | EpisodeScore)[] {
  if (job.kind === 'meta') return job.tasks.map((ep) => episodeMetaGradient(job.theta, ep, job.inner));
  const params = thetaLeaves(job.theta.values, job.theta.shapes).map((p) => p.detach());
  return job.tasks.map((ep) => (job.method === 'adapt' ? adaptedScore(params, ep, job.inner) : prototypeScore(params, ep, job.ways)));
}

/** Where the jobs run. */
export interface Executor {
  /** Threads doing the work (0: the main thread). */
  readonly workers: number;
  /** Meta-gradients, in episode order. */
  meta(job: Omit<MetaJob, 'kind'>): Promise<MetaResult[]>;
  /** Scores, in episode order. */
  score(job: Omit<ScoreJob, 'kind'>): Promise<EpisodeScore[]>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

/** An executor with `workers` threads (0 runs everything on the calling thread). */
export function createExecutor(workers: number): Executor {
  return executorOf(createPool<Job, MetaResult | EpisodeScore>(workers, workerModule(__filename, 'worker'), runJob));
}

/** The executor of a pool (local threads, or a queue: ../queue.ts). */
export function executorOf(pool: Pool<Job, MetaResult | EpisodeScore>): Executor {
  const workers = pool.workers;
  return {
    workers,
    meta: async (job) => (await pool.run({ kind: 'meta', ...job })) as MetaResult[],
    score: async (job) => (await pool.run({ kind: 'score', ...job })) as EpisodeScore[],
    close: () => pool.close(),
  };
}
