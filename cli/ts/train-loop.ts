/** Steps shared by the jobs' meta-training loops (`imaml`, `fewshot`). */
import { type Tensor, tensor } from 'metagrad';
import type { Progress } from './progress';
import { type JobExit, type StopFlag, exitCodeOf } from './signals';

/**
 * The mean of per-task gradients (one array per parameter, per task), summed in task order in
 * float64, so the mean does not depend on how the work was split; float32 tensors shaped like θ.
 */
export function meanGradients(theta: readonly Tensor[], perTask: readonly (readonly (Float32Array | Float64Array)[])[]): Tensor[] {
  const sums = theta.map((p) => new Float64Array(p.numel));
  for (const grads of perTask) {
    grads.forEach((g, i) => {
      const s = sums[i];
      for (let j = 0; j < g.length; j++) s[j] += g[j];
    });
  }
  return sums.map((s, i) => tensor(Float32Array.from(s, (v) => v / perTask.length), { shape: [...theta[i].shape] }));
}

/** What {@link endIteration} needs. */
export interface IterationEnd {
  /** Iterations done. */
  iteration: number;
  /** Iterations planned. */
  iterations: number;
  /** A checkpoint every this many iterations. */
  checkpointEvery: number;
  /** Writes the checkpoint. */
  checkpoint: () => void;
  /** The checkpoint's path (for the message). */
  file: string;
  /** Set by the signal handlers. */
  flag: StopFlag;
  /** The progress display. */
  progress: Progress;
}

/**
 * The end of a training iteration: a checkpoint at the interval and at the last iteration, then
 * a yield to the event loop so signal handlers run even when all work is on this thread. Returns
 * the exit code when a signal asked to stop (after saving a checkpoint), else null.
 */
export async function endIteration(e: IterationEnd): Promise<JobExit | null> {
  if (e.iteration % e.checkpointEvery === 0 || e.iteration === e.iterations) e.checkpoint();
  await new Promise((resolve) => setImmediate(resolve));
  if (e.flag.signal === null) return null;
  e.checkpoint();
  e.progress.stop();
  e.progress.note(`interrupted by ${e.flag.signal} at iteration ${e.iteration}; checkpoint saved to ${e.file} (continue with --resume)`);
  return exitCodeOf(e.flag.signal);
}

/**
 * The progress lines of a training loop: the mean loss since the last line, a line every
 * `logEvery` iterations, at evaluations and at the last iteration.
 */
export class LossLog {
  private sum = 0;
  private count = 0;
  constructor(
    private readonly progress: Progress,
    private readonly logEvery: number,
    private readonly iterations: number,
  ) {}

  /** Adds an iteration's loss; `evaluated` marks an iteration with a held-out score in `extra`. */
  add(iteration: number, loss: number, extra: Record<string, number> | undefined, evaluated: boolean): void {
    this.sum += loss;
    this.count += 1;
    const log = iteration % this.logEvery === 0 || evaluated || iteration === this.iterations;
    this.progress.update({ iteration, loss: this.sum / this.count, extra }, log);
    if (log) [this.sum, this.count] = [0, 0];
  }
}
