/**
 * N-way K-shot episodes of MNIST digits: N classes drawn from a split, labelled 0…N−1 in a random
 * order, K support and Q query images per class drawn without replacement. Images are
 * standardised by the meta-training classes' pixel mean and standard deviation.
 */
import { type Generator, randperm } from 'metagrad';
import { mnistByClass } from '../mnist';
import { TRAIN_CLASSES } from './config';

/** Pixels per image (28 × 28). */
export const PIXELS = 784;

/** One episode, as plain arrays (it crosses to worker threads by structured clone). */
export interface Episode {
  /** Support images [N·K, 784], class-major. */
  xSupport: Float32Array;
  /** Support labels (0…N−1). */
  ySupport: Float32Array;
  /** Query images [N·Q, 784], class-major. */
  xQuery: Float32Array;
  /** Query labels. */
  yQuery: Float32Array;
  /** The digit behind each label. */
  digits: number[];
}

/** The digits of each class, standardised. */
export type DigitPools = Float32Array[];

/** The package's digits per class, standardised by the meta-training classes' pixels. */
export function loadDigitPools(): DigitPools {
  const raw = mnistByClass();
  let [n, sum, sq] = [0, 0, 0];
  for (const c of TRAIN_CLASSES) for (const v of raw[c]) [n, sum] = [n + 1, sum + v];
  const mean = sum / n;
  for (const c of TRAIN_CLASSES) for (const v of raw[c]) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / n);
  return raw.map((px) => px.map((v) => (v - mean) / std));
}

/** The shape of an episode. */
export interface EpisodeShape {
  /** Classes (N). */
  ways: number;
  /** Support images per class (K). */
  shots: number;
  /** Query images per class. */
  queries: number;
}

/** Draws one episode from `classes` (the generator's draws: the class order, then per class its images). */
export function sampleEpisode(pools: DigitPools, classes: readonly number[], shape: EpisodeShape, generator: Generator): Episode {
  const { ways, shots, queries } = shape;
  const digits = randperm(classes.length, { generator }).slice(0, ways).map((i) => classes[i]);
  const ep: Episode = {
    xSupport: new Float32Array(ways * shots * PIXELS),
    ySupport: new Float32Array(ways * shots),
    xQuery: new Float32Array(ways * queries * PIXELS),
    yQuery: new Float32Array(ways * queries),
    digits,
  };
  digits.forEach((d, label) => {
    const pool = pools[d];
    const order = randperm(pool.length / PIXELS, { generator });
    for (let k = 0; k < shots + queries; k++) {
      const img = pool.subarray(order[k] * PIXELS, (order[k] + 1) * PIXELS);
      if (k < shots) {
        ep.xSupport.set(img, (label * shots + k) * PIXELS);
        ep.ySupport[label * shots + k] = label;
      } else {
        ep.xQuery.set(img, (label * queries + k - shots) * PIXELS);
        ep.yQuery[label * queries + k - shots] = label;
      }
    }
  });
  return ep;
}

/** `count` episodes from `classes`. */
export function sampleEpisodes(pools: DigitPools, classes: readonly number[], shape: EpisodeShape, generator: Generator, count: number): Episode[] {
  return Array.from({ length: count }, () => sampleEpisode(pools, classes, shape, generator));
}
