/**
 * Runs jobs over tasks on the main thread or spread over worker threads (piscina). A job's tasks
 * are split into one contiguous slice per worker and the results are put back in task order, so
 * the outcome is the same for any number of workers.
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';
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

/** Splits `items` into `parts` contiguous slices of near-equal length (none empty). */
export function slices<T>(items: readonly T[], parts: number): T[][] {
  const n = Math.max(1, Math.min(parts, items.length));
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(items.slice(Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)));
  return out;
}

function workerFile(): { filename: string; execArgv: string[] } {
  // Under tsx (tests, `node --import tsx`) this file is .ts and so is the worker; make sure the
  // worker can load TypeScript even when tsx was registered in-process rather than by a flag.
  const ext = path.extname(__filename);
  const filename = path.join(__dirname, `worker${ext}`);
  const execArgv = [...process.execArgv];
  if (ext === '.ts' && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', 'tsx');
  return { filename, execArgv };
}

/** An executor with `workers` threads (0 runs everything on the calling thread). */
export function createExecutor(workers: number): Executor {
  if (workers === 0) {
    return {
      workers,
      run: (async (job: Job) => runJob(job)) as Executor['run'],
      close: async () => {},
    };
  }
  const { filename, execArgv } = workerFile();
  const pool = new Piscina({ filename, minThreads: workers, maxThreads: workers, idleTimeout: 60_000, execArgv });
  const run = async (job: Job): Promise<(MetaResult | AdaptResult)[]> => {
    const parts = await Promise.all(slices(job.tasks, workers).map((tasks) => pool.run({ ...job, tasks }) as Promise<(MetaResult | AdaptResult)[]>));
    return parts.flat();
  };
  return { workers, run: run as Executor['run'], close: () => pool.destroy() };
}
