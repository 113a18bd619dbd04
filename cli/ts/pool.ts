/**
 * Runs a job's tasks on the calling thread or spread over worker threads (piscina). A job's tasks
 * are split into one contiguous slice per worker and the results are put back in task order, so
 * the outcome is the same for any number of workers. Shared by the jobs (`imaml`, `fewshot`).
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';

/** Where a job's tasks run. */
export interface Pool<J extends { tasks: readonly unknown[] }, R> {
  /** Threads doing the work (0: the calling thread). */
  readonly workers: number;
  /** Runs `job`; one result per task, in task order. */
  run(job: J): Promise<R[]>;
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

/**
 * The worker module `name` next to `from` (a module's `__filename`), with the flags to load it:
 * under tsx (tests, `node --import tsx`) the caller is .ts and so is the worker, which must then
 * load TypeScript even when tsx was registered in-process rather than by a flag.
 */
export function workerModule(from: string, name: string): { filename: string; execArgv: string[] } {
  const ext = path.extname(from);
  const filename = path.join(path.dirname(from), `${name}${ext}`);
  const execArgv = [...process.execArgv];
  if (ext === '.ts' && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', 'tsx');
  return { filename, execArgv };
}

/**
 * A pool of `workers` threads running the default export of `worker` (a {@link workerModule}),
 * or, with 0 workers, `runHere` on the calling thread. Both must compute the same function.
 */
export function createPool<J extends { tasks: readonly unknown[] }, R>(
  workers: number,
  worker: { filename: string; execArgv: string[] },
  runHere: (job: J) => R[],
): Pool<J, R> {
  if (workers === 0) return { workers, run: async (job) => runHere(job), close: async () => {} };
  const pool = new Piscina({ ...worker, minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
  return {
    workers,
    run: async (job) => (await Promise.all(slices(job.tasks, workers).map((tasks) => pool.run({ ...job, tasks }) as Promise<R[]>))).flat(),
    close: () => pool.destroy(),
  };
}
