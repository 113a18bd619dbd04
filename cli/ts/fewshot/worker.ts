/** The worker-thread entry of the few-shot pool (piscina loads this file's default export). */
import { type Job, runJob } from './jobs';

/** Runs one job in this worker. */
export default function work(job: Job): ReturnType<typeof runJob> {
  return runJob(job);
}
