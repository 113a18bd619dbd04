/**
 * The resumable state of meta-training and its checkpoint file. The meta-parameters are stored
 * under PyTorch's `nn.Sequential` state-dict names (`0.weight`, …) so
 * `safetensors.torch.load_file` + `load_state_dict(strict=False)` loads them; Adam's moments are
 * extra tensors `optimizer.<i>`; the iteration, the elapsed time, the training-task generator's
 * state and the settings that must not change are string metadata.
 */
import { type Generator, type GradientTransformation, type StoredTensor, type Tensor, adam, schedule } from 'metagrad';
import { decodeGeneratorState, encodeGeneratorState, loadSafetensors, restoreTree, saveSafetensors, storeTree, storedOf, tensorOf } from '../checkpoint';
import { CliError } from '../errors';
import { resumePoint, settingsMetadata } from '../resume';
import { type ImamlConfig, RESUMABLE, RUN_DEFINING, layerSizes } from './config';
import { mlpParamSpecs } from './model';

/** Identifies the file layout, so an unrelated safetensors file is refused with a clear message. */
export const CHECKPOINT_FORMAT = 'metagrad-imaml-checkpoint/1';

/** Everything needed to continue meta-training exactly. */
export interface TrainState {
  /** Meta-parameters θ (in PyTorch's parameter order). */
  theta: Tensor[];
  /** Adam's state for θ. */
  optState: unknown;
  /** The generator of the training tasks. */
  taskGen: Generator;
  /** Iterations completed. */
  iteration: number;
  /** Seconds spent so far (over all sessions of the run). */
  seconds: number;
}

/** The Adam optimizer of the meta-parameters, with its learning-rate schedule. */
export function metaOptimizer(cfg: Pick<ImamlConfig, 'metaLr' | 'metaLrHalfLife'>): GradientTransformation {
  const lr = cfg.metaLrHalfLife > 0 ? schedule.exponentialDecay({ initValue: cfg.metaLr, decayRate: 0.5, transitionSteps: cfg.metaLrHalfLife }) : cfg.metaLr;
  return adam({ lr });
}

/** Meta-parameters as named stored tensors, in PyTorch's names. */
export function namedTheta(cfg: ImamlConfig, theta: readonly Tensor[]): [string, StoredTensor][] {
  return mlpParamSpecs(layerSizes(cfg)).map((s, i) => [s.name, storedOf(theta[i])]);
}

/** Writes the checkpoint atomically. */
export function saveTrainState(file: string, cfg: ImamlConfig, s: TrainState): void {
  const opt = storeTree('optimizer.', s.optState);
  saveSafetensors(file, [...namedTheta(cfg, s.theta), ...opt.tensors], {
    format: CHECKPOINT_FORMAT,
    iteration: String(s.iteration),
    seconds: String(s.seconds),
    ...settingsMetadata(cfg, RUN_DEFINING, RESUMABLE),
    optimizer: opt.spec,
    taskGenerator: encodeGeneratorState(s.taskGen),
  });
}

/**
 * Reads a checkpoint for `cfg`. Settings that define the run must match; `explicit` names the ones
 * the user gave on the command line (a mismatch there is an error), the others are taken from the
 * checkpoint, as are the planned iterations and intervals unless given again. Returns the state
 * and the config to continue with.
 */
export function loadTrainState(file: string, cfg: ImamlConfig, explicit: ReadonlySet<string>): [TrainState, ImamlConfig] {
  const content = loadSafetensors(file);
  const meta = content.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) throw new CliError(`${file}: not a metagrad imaml checkpoint (format ${JSON.stringify(meta.format ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  // Checkpoints from before --batching ran their tasks one by one, and from before --jit computed eagerly.
  const { config: merged, iteration, seconds } = resumePoint(file, meta, cfg, explicit, RUN_DEFINING, RESUMABLE, { batching: 'loop', jit: false });
  const specs = mlpParamSpecs(layerSizes(merged));
  const theta = specs.map((s) => tensorOf(file, s.name, content.tensors.get(s.name), s.shape));
  const optState = restoreTree(file, content, 'optimizer.', meta.optimizer, metaOptimizer(merged).init(theta));
  const taskGen = decodeGeneratorState(file, meta.taskGenerator, 'training-task');
  return [{ theta, optState, taskGen, iteration, seconds }, merged];
}
