/** The settings every training job of the command line has (`imaml`, `fewshot`). */

/** How a training job runs, where it writes, and where its work goes. */
export interface JobSettings {
  /** Meta-training iterations (outer Adam steps). */
  iterations: number;
  /** A held-out evaluation every this many iterations (for the curve). */
  evalEvery: number;
  /** A progress line every this many iterations. */
  logEvery: number;
  /** A checkpoint every this many iterations. */
  checkpointEvery: number;
  /** Output directory. */
  out: string;
  /** Continue from `out/checkpoint.safetensors`. */
  resume: boolean;
  /** Start a fresh run even if `out` holds an earlier one (replacing its files). */
  force: boolean;
  /** Worker threads (0: run on the main thread). */
  workers: number;
  /** JSON lines instead of a progress bar and a table. */
  json: boolean;
  /** A Redis URL: the work goes to `metagrad worker` processes on this queue instead of local threads. */
  queue?: string;
  /** The queue's name (one per run). */
  queueName: string;
  /** Tasks per queue job. */
  chunkSize: number;
}
