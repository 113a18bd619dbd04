/** The worker-thread entry of the iMAML pool (piscina loads this file's default export). */
import { type AdaptResult, type Job, type MetaResult, runJob } from './jobs';

/** Runs one job in this worker. */
export default function work(job: Job): MetaResult[] | AdaptResult[] {
  return runJob(job);
}
