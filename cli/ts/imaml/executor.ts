/** The iMAML job's worker pool (see ../pool.ts): meta-gradient and adaptation jobs. */
import { type Pool, createPool, workerModule } from '../pool';
import { type AdaptResult, type Job, type MetaResult, runJob } from './jobs';

/** Where jobs run. */
export interface Executor {
  /** Threads doing the work (0: the main thread). */
  readonly workers: number;
  /** Runs a meta-gradient job; results in task order. */
  run(job: Job & { kind: 'meta' }): Promise<MetaResult[]>;
  /** Runs an adaptation job; results in task order. */
  run(job: Job & { kind: 'adapt' }): Promise<AdaptResult[]>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

/** The executor of a pool (local threads, or a queue: ../queue.ts). */
export function executorOf(pool: Pool<Job, MetaResult | AdaptResult>): Executor {
  return { workers: pool.workers, run: pool.run as Executor['run'], close: () => pool.close() };
}

/** An executor with `workers` threads (0 runs everything on the calling thread). */
export function createExecutor(workers: number): Executor {
  return executorOf(createPool<Job, MetaResult | AdaptResult>(workers, workerModule(__filename, 'worker'), runJob));
}
