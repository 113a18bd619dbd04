/** Settings of `metagrad imaml`, their defaults, and which of them a resumed run must keep. */
import type { JobSettings } from '../job-settings';

/** Everything that defines an iMAML run. */
export interface ImamlConfig extends JobSettings {
  /** Tasks per meta-batch. */
  metaBatch: number;
  /** Gradient steps of the inner problem. */
  innerSteps: number;
  /** Step size of the inner gradient steps. */
  innerLr: number;
  /** Proximal strength λ of the inner problem. */
  lambda: number;
  /** Normal-CG iterations of the implicit backward solve. */
  cgIterations: number;
  /** Adam learning rate on the meta-parameters (at iteration 0). */
  metaLr: number;
  /** Iterations over which the meta learning rate halves (0: constant). */
  metaLrHalfLife: number;
  /** Support points per task (K). */
  shots: number;
  /** Query points per task. */
  queries: number;
  /** Hidden layer widths of the MLP. */
  hidden: number[];
  /** Seed of every random draw. */
  seed: number;
  /** Held-out tasks for evaluation. */
  evalTasks: number;
  /** The tasks of a meta-batch (and of an evaluation) in one vmapped pass, or one after the other. */
  batching: 'vmap' | 'loop';
  /** With `batching: 'vmap'`, the meta-gradient of a meta-batch through `mg.jit` (recorded once per chunk shape, replayed natively). */
  jit: boolean;
}

/** The defaults: the benchmark's settings, sized to finish in a few minutes on two cores. */
export const IMAML_DEFAULTS: Omit<ImamlConfig, 'workers'> = {
  iterations: 500,
  metaBatch: 25,
  innerSteps: 20,
  innerLr: 0.1,
  lambda: 2,
  cgIterations: 5,
  metaLr: 0.003,
  metaLrHalfLife: 0,
  shots: 10,
  queries: 10,
  hidden: [40, 40],
  seed: 0,
  evalTasks: 100,
  evalEvery: 50,
  logEvery: 10,
  checkpointEvery: 50,
  out: 'runs/imaml',
  resume: false,
  force: false,
  json: false,
  batching: 'vmap',
  jit: true,
  queueName: 'metagrad',
  chunkSize: 5,
};

/**
 * Settings that determine the numbers a run produces; a resumed run must use the checkpoint's.
 * (`iterations` may grow: the run then continues further; `evalEvery` only adds curve points.)
 */
export const RUN_DEFINING = ['batching', 'jit', 'metaBatch', 'innerSteps', 'innerLr', 'lambda', 'cgIterations', 'metaLr', 'metaLrHalfLife', 'shots', 'queries', 'hidden', 'seed', 'evalTasks'] as const;

/** Settings a resumed run takes from the checkpoint unless given again on the command line. */
export const RESUMABLE = ['iterations', 'evalEvery', 'logEvery', 'checkpointEvery'] as const;

/** Layer widths of the network, input first. */
export function layerSizes(c: Pick<ImamlConfig, 'hidden'>): number[] {
  return [1, ...c.hidden, 1];
}
