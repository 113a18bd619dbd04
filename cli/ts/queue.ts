/**
 * The jobs on a BullMQ queue (`mg.distributed`): `metagrad worker` registers the jobs' functions,
 * and a job run with `--queue` sends its meta-batches there in chunks instead of to local threads.
 * A chunk is what a local worker thread would get (one vmapped pass), so the results, and the
 * run's numbers, are those of the single-process run.
 */
import { distributed } from 'metagrad';
import { CliError } from './errors';
import { runJob as runFewshotJob } from './fewshot/jobs';
import type { Job as FewshotJob } from './fewshot/jobs';
import { runJob as runImamlJob } from './imaml/jobs';
import type { Job as ImamlJob } from './imaml/jobs';
import { slices } from './pool';
import type { Pool } from './pool';

/** Names of the functions a `metagrad worker` runs. */
export const QUEUE_FUNCTIONS = {
  imaml: (job: unknown) => runImamlJob(job as ImamlJob),
  fewshot: (job: unknown) => runFewshotJob(job as FewshotJob),
} as const;

/** Where a run's queue is. */
export interface QueueSettings {
  /** The Redis URL. */
  queue: string;
  /** The queue's name. */
  queueName: string;
}

/** A Redis failure as the command line reports it. */
function cliError(e: unknown): never {
  if (e instanceof distributed.DistributedError) throw new CliError(e.message.replace(/^distributed\.\w+: /, ''));
  throw e;
}

/**
 * A pool (../pool.ts) whose jobs go to the queue's workers as `fn` jobs of `chunkSize` tasks
 * each, results in task order.
 */
export async function createQueuePool<J extends { tasks: readonly unknown[] }, R>(fn: keyof typeof QUEUE_FUNCTIONS, s: QueueSettings, chunkSize: number): Promise<Pool<J, R>> {
  const coordinator = await distributed.createCoordinator({ url: s.queue, queue: s.queueName }).catch(cliError);
  return {
    workers: 0,
    run: async (job) => {
      const chunks = slices(job.tasks, Math.ceil(job.tasks.length / chunkSize)).map((tasks) => ({ ...job, tasks }));
      const parts = (await coordinator.map(fn, chunks).catch(cliError)) as R[][];
      return parts.flat();
    },
    close: () => coordinator.close(),
  };
}

/** `metagrad worker`: runs jobs from the queue until SIGINT/SIGTERM; returns the exit code. */
export async function runWorker(s: QueueSettings & { concurrency: number; json: boolean }): Promise<number> {
  const worker = await distributed.createWorker({ url: s.queue, queue: s.queueName, functions: QUEUE_FUNCTIONS, concurrency: s.concurrency }).catch(cliError);
  const say = (o: Record<string, unknown>, text: string): void => {
    process.stdout.write(s.json ? `${JSON.stringify({ task: 'worker', ...o })}\n` : `${text}\n`);
  };
  say({ ready: true, queue: s.queueName, pid: process.pid }, `metagrad worker ${process.pid}: waiting for jobs on queue '${s.queueName}' (${Object.keys(QUEUE_FUNCTIONS).join(', ')})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  say({ stopping: signal }, `metagrad worker ${process.pid}: ${signal}, finishing the running job`);
  await worker.close();
  return 0;
}
