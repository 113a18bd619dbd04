/**
 * Independent random streams derived from the one seed: each purpose gets its own generator, so
 * e.g. changing how often the held-out set is evaluated cannot shift the training tasks.
 */
import { Generator } from 'metagrad';

/** The purposes that draw random numbers. */
export const STREAMS = {
  /** Initial meta-parameters (also the scratch and pretraining starting point). */
  init: 1,
  /** Training tasks of meta-training (saved in checkpoints). */
  train: 2,
  /** The held-out evaluation tasks. */
  eval: 3,
  /** Training tasks of the pretrained baseline. */
  pretrain: 4,
  /** The fixed held-out tasks of the learning curve (few-shot). */
  curve: 5,
} as const;

/** A generator for `stream`, seeded from `seed` and the stream number. */
export function streamGenerator(seed: number, stream: number): Generator {
  return new Generator().manualSeed((BigInt(seed) << 8n) + BigInt(stream));
}
