/** Settings of `metagrad fewshot`, their defaults, and which of them a resumed run must keep. */
import type { JobSettings } from '../job-settings';

/** Everything that defines a few-shot run. */
export interface FewshotConfig extends JobSettings {
  /** Episodes (tasks) per meta-batch. */
  metaBatch: number;
  /** Classes per episode (N of N-way; at most 5, the size of each class split). */
  ways: number;
  /** Support images per class (K of K-shot). */
  shots: number;
  /** Query images per class. */
  queries: number;
  /** Gradient steps of the inner problem. */
  innerSteps: number;
  /** Initial step size of the inner steps (halved when a step does not decrease the objective). */
  innerLr: number;
  /** Proximal strength λ of the inner problem. */
  lambda: number;
  /** GMRES steps (Hessian-vector products) of the implicit backward solve. */
  solveIterations: number;
  /** Adam learning rate on the meta-parameters. */
  metaLr: number;
  /** Channels of each of the four conv blocks. */
  channels: number;
  /** Seed of every random draw. */
  seed: number;
  /** Test episodes of the final evaluation (on the held-out classes). */
  testEpisodes: number;
  /** Episodes of the evaluations during training (for the curve; held-out classes, a fixed set). */
  curveEpisodes: number;
}

/** The defaults: 5-way 1-shot, sized to finish in a few minutes on two cores. */
export const FEWSHOT_DEFAULTS: Omit<FewshotConfig, 'workers'> = {
  iterations: 200,
  metaBatch: 4,
  ways: 5,
  shots: 1,
  queries: 10,
  innerSteps: 10,
  innerLr: 0.5,
  lambda: 0.5,
  solveIterations: 5,
  metaLr: 0.003,
  channels: 16,
  seed: 0,
  testEpisodes: 600,
  curveEpisodes: 100,
  evalEvery: 50,
  logEvery: 10,
  checkpointEvery: 25,
  out: 'runs/fewshot',
  resume: false,
  force: false,
  json: false,
  queueName: 'metagrad',
  chunkSize: 1,
};

/** Settings that determine the numbers a run produces; a resumed run must use the checkpoint's. */
export const RUN_DEFINING = ['metaBatch', 'ways', 'shots', 'queries', 'innerSteps', 'innerLr', 'lambda', 'solveIterations', 'metaLr', 'channels', 'seed', 'curveEpisodes'] as const;

/** Settings a resumed run takes from the checkpoint unless given again on the command line. */
export const RESUMABLE = ['iterations', 'evalEvery', 'logEvery', 'checkpointEvery', 'testEpisodes'] as const;

/** Digits of meta-training; the other five are only ever seen at meta-test. */
export const TRAIN_CLASSES = [0, 1, 2, 3, 4] as const;
/** Digits of meta-test. */
export const TEST_CLASSES = [5, 6, 7, 8, 9] as const;
