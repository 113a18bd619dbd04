/**
 * `metagrad fewshot`: iMAML on N-way K-shot MNIST digits (meta-training on digits 0–4, meta-test
 * on 5–9), with checkpoints, resumption, progress output, baselines, and the output files
 * (metrics.json, history.jsonl, curve.svg, accuracy.svg, checkpoint.safetensors, model.safetensors).
 */
import { type Tensor, applyUpdates, noGrad } from 'metagrad';
import { saveSafetensors } from '../checkpoint';
import { CliError } from '../errors';
import { appendHistory, readHistory, writeHistory } from '../history';
import { flatParams } from '../params';
import { createProgress } from '../progress';
import { inRunDir, runFiles } from '../run-dir';
import { type JobExit, type StopFlag, onSignals } from '../signals';
import { LossLog, endIteration, meanGradients } from '../train-loop';
import { STREAMS, streamGenerator } from '../streams';
import { type Interval, interval, pretrain } from './baselines';
import { type FewshotConfig, RUN_DEFINING, TEST_CLASSES, TRAIN_CLASSES } from './config';
import { type DigitPools, type Episode, loadDigitPools, sampleEpisodes } from './episodes';
import type { InnerConfig } from './inner';
import { createQueuePool } from '../queue';
import { type Executor, createExecutor, executorOf } from './jobs';
import { initConvNet } from './model';
import { type FewshotMetrics, type HistoryRecord, METHODS, type MethodName, printTable, writeReport } from './report';
import { MODEL_FORMAT, type TrainState, loadTrainState, metaOptimizer, namedParams, saveTrainState } from './state';

/** Paths of the run's files. */
export const jobFiles = (out: string) => runFiles(out, ['curve', 'accuracy'] as const);

/** The inner procedure of a config. */
export function innerOf(cfg: FewshotConfig): InnerConfig {
  // Armijo's textbook constant: ½ would cut the first steps on a batch-normalised net to a crawl.
  return { steps: cfg.innerSteps, lr: cfg.innerLr, lambda: cfg.lambda, solveIterations: cfg.solveIterations, sufficientDecrease: 1e-4 };
}

/** Checks the settings that the option parser cannot. */
function checkConfig(cfg: FewshotConfig): void {
  if (cfg.ways < 2 || cfg.ways > TRAIN_CLASSES.length) throw new CliError(`fewshot: --ways must be between 2 and ${TRAIN_CLASSES.length} (each split has ${TRAIN_CLASSES.length} digits), got ${cfg.ways}`);
  // The smallest class of the package has 863 digits.
  if (cfg.shots + cfg.queries > 800) throw new CliError(`fewshot: --shots + --queries must be at most 800 (images per class drawn without replacement), got ${cfg.shots + cfg.queries}`);
}

/** Runs `metagrad fewshot`; `explicit` holds the settings given on the command line. */
export async function runFewshot(cfg0: FewshotConfig, explicit: ReadonlySet<string>): Promise<JobExit> {
  checkConfig(cfg0);
  const files = jobFiles(cfg0.out);
  return inRunDir(cfg0, [files.checkpoint, files.history, files.metrics, files.model], () => runLocked(cfg0, explicit, files));
}

/** Scores of every method on the episodes, per episode. */
async function scoreAll(exec: Executor, cfg: FewshotConfig, theta: readonly Tensor[], init: readonly Tensor[], pretrained: readonly Tensor[], episodes: Episode[]): Promise<Record<MethodName, number[]>> {
  const inner = innerOf(cfg);
  const run = async (params: readonly Tensor[], method: 'adapt' | 'prototype'): Promise<number[]> =>
    (await exec.score({ method, theta: flatParams(params), tasks: episodes, inner, ways: cfg.ways })).map((r) => r.accuracy);
  return {
    imaml: await run(theta, 'adapt'),
    pretrained: await run(pretrained, 'adapt'),
    scratch: await run(init, 'adapt'),
    prototype: await run(pretrained, 'prototype'),
  };
}

async function runLocked(cfg0: FewshotConfig, explicit: ReadonlySet<string>, files: ReturnType<typeof jobFiles>): Promise<JobExit> {
  const theta0 = (cfg: FewshotConfig): Tensor[] => initConvNet(cfg.channels, cfg.ways, streamGenerator(cfg.seed, STREAMS.init));
  let cfg = cfg0;
  let st: TrainState;
  let history: HistoryRecord[];
  if (cfg0.resume) {
    [st, cfg] = loadTrainState(files.checkpoint, cfg0, explicit);
    history = readHistory<HistoryRecord>(files.history, ['metaLoss', 'metaAccuracy'], st.iteration);
  } else {
    const theta = theta0(cfg);
    st = { theta, optState: metaOptimizer(cfg).init(theta), episodeGen: streamGenerator(cfg.seed, STREAMS.train), iteration: 0, seconds: 0 };
    history = [];
  }
  writeHistory(files.history, history);

  const pools: DigitPools = loadDigitPools();
  const shape = { ways: cfg.ways, shots: cfg.shots, queries: cfg.queries };
  const curveEpisodes = sampleEpisodes(pools, TEST_CLASSES, shape, streamGenerator(cfg.seed, STREAMS.curve), cfg.curveEpisodes);
  const opt = metaOptimizer(cfg);
  const inner = innerOf(cfg);
  const exec = cfg.queue === undefined ? createExecutor(cfg.workers) : executorOf(await createQueuePool('fewshot', { queue: cfg.queue, queueName: cfg.queueName }, cfg.chunkSize));
  const progress = createProgress({ label: 'fewshot', lossName: 'metaLoss', json: cfg.json });
  const flag: StopFlag = { signal: null, immediate: false };
  const offSignals = onSignals(flag);
  const sessionStart = performance.now();
  const secondsNow = (): number => st.seconds + (performance.now() - sessionStart) / 1000;
  const checkpoint = (): void => saveTrainState(files.checkpoint, cfg, { ...st, seconds: secondsNow() });
  const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

  try {
    if (cfg0.resume) progress.note(`resuming from ${files.checkpoint} at iteration ${st.iteration}`);
    progress.start(cfg.iterations, st.iteration);
    const losses = new LossLog(progress, cfg.logEvery, cfg.iterations);
    while (st.iteration < cfg.iterations) {
      const episodes = sampleEpisodes(pools, TRAIN_CLASSES, shape, st.episodeGen, cfg.metaBatch);
      const results = await exec.meta({ theta: flatParams(st.theta), tasks: episodes, inner });
      const grads = meanGradients(st.theta, results.map((r) => r.grads));
      let updates: unknown;
      [updates, st.optState] = opt.update(grads, st.optState, { params: st.theta });
      noGrad(() => applyUpdates(st.theta, updates));
      st.iteration += 1;

      const rec: HistoryRecord = {
        iteration: st.iteration,
        metaLoss: meanOf(results.map((r) => r.queryLoss)),
        metaAccuracy: meanOf(results.map((r) => r.queryAccuracy)),
        backwardResidual: meanOf(results.map((r) => r.residual)),
        rootResidual: meanOf(results.map((r) => r.rootResidual)),
        seconds: Number(secondsNow().toFixed(3)),
      };
      if (st.iteration % cfg.evalEvery === 0 || st.iteration === cfg.iterations) {
        rec.curveAccuracy = meanOf((await exec.score({ method: 'adapt', theta: flatParams(st.theta), tasks: curveEpisodes, inner, ways: cfg.ways })).map((r) => r.accuracy));
      }
      history.push(rec);
      appendHistory(files.history, rec);
      losses.add(st.iteration, rec.metaLoss, { metaAccuracy: rec.metaAccuracy, ...(rec.curveAccuracy === undefined ? {} : { heldOutAccuracy: rec.curveAccuracy }) }, rec.curveAccuracy !== undefined);
      const stop = await endIteration({ iteration: st.iteration, iterations: cfg.iterations, checkpointEvery: cfg.checkpointEvery, checkpoint, file: files.checkpoint, flag, progress });
      if (stop !== null) return stop;
    }
    progress.stop();
    if (history.length === 0 || history[history.length - 1].iteration !== cfg.iterations) checkpoint();
    flag.immediate = true;
    const trainSeconds = history.length > 0 ? history[history.length - 1].seconds : 0;
    saveSafetensors(files.model, namedParams(cfg, st.theta), { format: MODEL_FORMAT, channels: String(cfg.channels), ways: String(cfg.ways) });

    progress.note(`pretraining the baseline on digits ${TRAIN_CLASSES.join(', ')} (${cfg.iterations} Adam steps)`);
    const t0 = performance.now();
    const init = theta0(cfg);
    const pretrained = pretrain(init, pools, cfg);
    const pretrainSeconds = (performance.now() - t0) / 1000;
    progress.note(`testing on ${cfg.testEpisodes} episodes of digits ${TEST_CLASSES.join(', ')}`);
    const t1 = performance.now();
    const testEpisodes = sampleEpisodes(pools, TEST_CLASSES, shape, streamGenerator(cfg.seed, STREAMS.eval), cfg.testEpisodes);
    const acc = await scoreAll(exec, cfg, st.theta, init, pretrained, testEpisodes);
    const testSeconds = (performance.now() - t1) / 1000;
    const accuracy = Object.fromEntries(METHODS.map((k) => [k, interval(acc[k])])) as Record<MethodName, Interval>;
    const paired = (k: Exclude<MethodName, 'imaml'>): Interval => interval(acc.imaml.map((a, i) => a - acc[k][i]));
    const metrics: FewshotMetrics = {
      setting: shape,
      iterations: cfg.iterations,
      seconds: Number(secondsNow().toFixed(3)),
      trainSeconds,
      pretrainSeconds: Number(pretrainSeconds.toFixed(3)),
      testSeconds: Number(testSeconds.toFixed(3)),
      testEpisodes: cfg.testEpisodes,
      accuracy,
      imamlMinus: { pretrained: paired('pretrained'), scratch: paired('scratch'), prototype: paired('prototype') },
      seed: cfg.seed,
      workers: cfg.workers,
      config: Object.fromEntries(RUN_DEFINING.map((k) => [k, cfg[k]])),
    };
    await writeReport(files, metrics, history);
    if (cfg.json) process.stdout.write(`${JSON.stringify({ task: 'fewshot', result: metrics, files })}\n`);
    else printTable(metrics, cfg, files);
    return 0;
  } finally {
    offSignals();
    progress.stop();
    await exec.close();
  }
}
