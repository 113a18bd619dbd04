/**
 * What iMAML is compared with on the held-out digits: the initial network adapted the same way
 * (scratch), a network pretrained to classify the meta-training digits and then adapted the same
 * way with a fresh head (its own head's classes mean nothing for new digits), and nearest class
 * means on that pretrained network's features (prototypes); and how any of them is scored.
 */
import { type Tensor, applyUpdates, autograd, nn, noGrad, rand, tensor, zeros } from 'metagrad';
import { STREAMS, streamGenerator } from '../streams';
import { type FewshotConfig, TRAIN_CLASSES } from './config';
import { type DigitPools, PIXELS } from './episodes';
import { images } from './inner';
import { convLogits, initLayer } from './model';
import { metaOptimizer } from './state';

/** The mean of per-episode accuracies and the half-width of its 95 % interval (normal approximation, 1.96 standard errors). */
export interface Interval {
  /** Mean over the episodes. */
  mean: number;
  /** Half-width of the 95 % confidence interval. */
  ci95: number;
}

/** Mean and 95 % interval of per-episode values. */
export function interval(values: readonly number[]): Interval {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, ci95: 1.96 * Math.sqrt(variance / n) };
}

/**
 * The pretrained baseline: the same network from the same initial body, with a head over all
 * meta-training digits, trained by the same Adam to classify them on batches of as many images as
 * a meta-batch holds (metaBatch × ways × (shots + queries)), for as many steps as meta-training
 * takes: the same budget of images and updates. Its own stream keeps it independent. Returns the
 * body with a zero head of `ways` classes (the network that is adapted to new digits).
 */
export function pretrain(init: readonly Tensor[], pools: DigitPools, cfg: FewshotConfig): Tensor[] {
  const gen = streamGenerator(cfg.seed, STREAMS.pretrain);
  // A head over the meta-training digits, drawn as PyTorch initialises a Linear layer.
  const head = initLayer([TRAIN_CLASSES.length, cfg.channels], gen);
  const params = [...init.slice(0, -2), ...head].map((p) => p.detach().clone().requiresGrad_(true));
  const opt = metaOptimizer(cfg);
  let state = opt.init(params);
  const batch = cfg.metaBatch * cfg.ways * (cfg.shots + cfg.queries);
  for (let it = 0; it < cfg.iterations; it++) {
    // Balanced labels, each image drawn uniformly from its class.
    const u = rand([batch], { generator: gen, dtype: 'float64' }).data;
    const x = new Float32Array(batch * PIXELS);
    const y = new Float32Array(batch);
    for (let i = 0; i < batch; i++) {
      const label = i % TRAIN_CLASSES.length;
      const pool = pools[TRAIN_CLASSES[label]];
      const k = Math.min(pool.length / PIXELS - 1, Math.floor(u[i] * (pool.length / PIXELS)));
      x.set(pool.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
      y[i] = label;
    }
    const grads = autograd.grad(nn.functional.crossEntropy(convLogits(params, images(x)), tensor(y)), params);
    let updates: unknown;
    [updates, state] = opt.update(grads, state, { params });
    noGrad(() => applyUpdates(params, updates));
  }
  const body = params.slice(0, -2).map((p) => p.detach());
  return [...body, zeros([cfg.ways, cfg.channels]), zeros([cfg.ways])];
}
