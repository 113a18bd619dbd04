/**
 * The resumable state of few-shot meta-training and its checkpoint file: θ under PyTorch's
 * `nn.Sequential` state-dict names (so `safetensors.torch.load_file` + `load_state_dict` loads
 * them), Adam's moments as extra tensors `optimizer.<i>`, and as string metadata the iteration,
 * the elapsed time, the episode generator's state and the settings that must not change.
 */
import { type Generator, type GradientTransformation, type StoredTensor, type Tensor, adam } from 'metagrad';
import { decodeGeneratorState, encodeGeneratorState, loadSafetensors, restoreTree, saveSafetensors, storeTree, storedOf, tensorOf } from '../checkpoint';
import { CliError } from '../errors';
import { resumePoint, settingsMetadata } from '../resume';
import { type FewshotConfig, RESUMABLE, RUN_DEFINING } from './config';
import { convNetSpecs } from './model';

/** Identifies the file layout, so an unrelated safetensors file is refused with a clear message. */
export const CHECKPOINT_FORMAT = 'metagrad-fewshot-checkpoint/1';
/** The layout of model.safetensors. */
export const MODEL_FORMAT = 'metagrad-fewshot-model/1';

/** Everything needed to continue meta-training exactly. */
export interface TrainState {
  /** Meta-parameters θ (in PyTorch's parameter order). */
  theta: Tensor[];
  /** Adam's state for θ. */
  optState: unknown;
  /** The generator of the training episodes. */
  episodeGen: Generator;
  /** Iterations completed. */
  iteration: number;
  /** Seconds spent so far (over all sessions of the run). */
  seconds: number;
}

/** The Adam optimizer of the meta-parameters. */
export function metaOptimizer(cfg: Pick<FewshotConfig, 'metaLr'>): GradientTransformation {
  return adam({ lr: cfg.metaLr });
}

/** Parameters as named stored tensors, in PyTorch's names. */
export function namedParams(cfg: Pick<FewshotConfig, 'channels' | 'ways'>, params: readonly Tensor[]): [string, StoredTensor][] {
  return convNetSpecs(cfg.channels, cfg.ways).map((s, i) => [s.name, storedOf(params[i])]);
}

/** Writes the checkpoint atomically. */
export function saveTrainState(file: string, cfg: FewshotConfig, s: TrainState): void {
  const opt = storeTree('optimizer.', s.optState);
  saveSafetensors(file, [...namedParams(cfg, s.theta), ...opt.tensors], {
    format: CHECKPOINT_FORMAT,
    iteration: String(s.iteration),
    seconds: String(s.seconds),
    ...settingsMetadata(cfg, RUN_DEFINING, RESUMABLE),
    optimizer: opt.spec,
    episodeGenerator: encodeGeneratorState(s.episodeGen),
  });
}

/** Reads a checkpoint for `cfg` (see ../resume.ts for which settings it keeps); returns the state and the config to continue with. */
export function loadTrainState(file: string, cfg: FewshotConfig, explicit: ReadonlySet<string>): [TrainState, FewshotConfig] {
  const content = loadSafetensors(file);
  const meta = content.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) throw new CliError(`${file}: not a metagrad fewshot checkpoint (format ${JSON.stringify(meta.format ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  const { config, iteration, seconds } = resumePoint(file, meta, cfg, explicit, RUN_DEFINING, RESUMABLE);
  const theta = convNetSpecs(config.channels, config.ways).map((s) => tensorOf(file, s.name, content.tensors.get(s.name), s.shape));
  const optState = restoreTree(file, content, 'optimizer.', meta.optimizer, metaOptimizer(config).init(theta));
  const episodeGen = decodeGeneratorState(file, meta.episodeGenerator, 'training-episode');
  return [{ theta, optState, episodeGen, iteration, seconds }, config];
}
