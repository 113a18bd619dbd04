/**
 * `metagrad imaml`: meta-training with implicit gradients on the sinusoid benchmark, with
 * checkpoints, resumption, progress output, evaluation against two baselines, and the output files
 * (metrics.json, history.jsonl, curve.svg, fit.svg, checkpoint.safetensors, model.safetensors).
 */
import { type Tensor, applyUpdates, noGrad } from 'metagrad';
import { saveSafetensors } from '../checkpoint';
import { inRunDir, runFiles } from '../run-dir';
import { createProgress } from '../progress';
import { sampleSinusoidTasks } from '../tasks';
import { flatParams } from '../params';
import { adaptAll, pretrain, score } from './baselines';
import { type ImamlConfig, layerSizes } from './config';
import { createQueuePool } from '../queue';
import { createExecutor, executorOf } from './executor';
import { appendHistory, writeHistory } from '../history';
import { type JobExit, type StopFlag, onSignals } from '../signals';
import { LossLog, endIteration, meanGradients } from '../train-loop';
import { type HistoryRecord, readHistory } from './history';
import { initMlp } from './model';
import { type ImamlMetrics, printTable, writeReport } from './report';
import { type TrainState, loadTrainState, metaOptimizer, namedTheta, saveTrainState } from './state';
import { STREAMS, streamGenerator } from '../streams';

/** Paths of the run's files. */
export const jobFiles = (out: string) => runFiles(out, ['curve', 'fit'] as const);

/** Exit code of a run stopped by a signal (128 + its number), or 0. */
export type ImamlExit = JobExit;

/** Runs `metagrad imaml`; `explicit` holds the settings given on the command line. */
export async function runImaml(cfg0: ImamlConfig, explicit: ReadonlySet<string>): Promise<ImamlExit> {
  const files = jobFiles(cfg0.out);
  return inRunDir(cfg0, [files.checkpoint, files.history, files.metrics, files.model], () => runLocked(cfg0, explicit, files));
}

async function runLocked(cfg0: ImamlConfig, explicit: ReadonlySet<string>, files: ReturnType<typeof jobFiles>): Promise<ImamlExit> {
  const theta0 = (cfg: ImamlConfig): Tensor[] => initMlp(layerSizes(cfg), streamGenerator(cfg.seed, STREAMS.init));

  let cfg = cfg0;
  let st: TrainState;
  let history: HistoryRecord[];
  if (cfg0.resume) {
    [st, cfg] = loadTrainState(files.checkpoint, cfg0, explicit);
    history = readHistory(files.history, st.iteration);
  } else {
    const theta = theta0(cfg);
    st = { theta, optState: metaOptimizer(cfg).init(theta), taskGen: streamGenerator(cfg.seed, STREAMS.train), iteration: 0, seconds: 0 };
    history = [];
  }
  writeHistory(files.history, history);

  const opt = metaOptimizer(cfg);
  const inner = { steps: cfg.innerSteps, lr: cfg.innerLr, lambda: cfg.lambda, cgIterations: cfg.cgIterations };
  const evalTasks = sampleSinusoidTasks(streamGenerator(cfg.seed, STREAMS.eval), cfg.evalTasks, { support: cfg.shots, query: cfg.queries });
  const exec = cfg0.queue === undefined ? createExecutor(cfg.workers) : executorOf(await createQueuePool('imaml', { queue: cfg0.queue, queueName: cfg0.queueName }, cfg0.chunkSize));
  const progress = createProgress({ label: 'imaml', lossName: 'metaLoss', json: cfg.json });
  const flag: StopFlag = { signal: null, immediate: false };
  const offSignals = onSignals(flag);
  const sessionStart = performance.now();
  const secondsNow = (): number => st.seconds + (performance.now() - sessionStart) / 1000;
  const checkpoint = (): void => saveTrainState(files.checkpoint, cfg, { ...st, seconds: secondsNow() });

  try {
    if (cfg0.resume) progress.note(`resuming from ${files.checkpoint} at iteration ${st.iteration}`);
    progress.start(cfg.iterations, st.iteration);
    const losses = new LossLog(progress, cfg.logEvery, cfg.iterations);
    while (st.iteration < cfg.iterations) {
      const tasks = sampleSinusoidTasks(st.taskGen, cfg.metaBatch, { support: cfg.shots, query: cfg.queries });
      const results = await exec.run({ kind: 'meta', theta: flatParams(st.theta), tasks, inner, batching: cfg.batching, jit: cfg.jit });
      const grads = meanGradients(st.theta, results.map((r) => r.grads));
      const meanOf = (f: (r: (typeof results)[number]) => number): number => results.reduce((a, r) => a + f(r), 0) / results.length;
      let updates: unknown;
      [updates, st.optState] = opt.update(grads, st.optState, { params: st.theta });
      noGrad(() => applyUpdates(st.theta, updates));
      st.iteration += 1;

      const rec: HistoryRecord = { iteration: st.iteration, metaLoss: meanOf((r) => r.queryLoss), backwardResidual: meanOf((r) => r.residual), rootResidual: meanOf((r) => r.rootResidual), seconds: Number(secondsNow().toFixed(3)) };
      if (st.iteration % cfg.evalEvery === 0 || st.iteration === cfg.iterations) {
        rec.heldOutMse = score(await adaptAll(exec, st.theta, evalTasks, cfg)).mean;
      }
      history.push(rec);
      appendHistory(files.history, rec);
      losses.add(st.iteration, rec.metaLoss, rec.heldOutMse === undefined ? undefined : { heldOutMse: rec.heldOutMse }, rec.heldOutMse !== undefined);
      const stop = await endIteration({ iteration: st.iteration, iterations: cfg.iterations, checkpointEvery: cfg.checkpointEvery, checkpoint, file: files.checkpoint, flag, progress });
      if (stop !== null) return stop;
    }
    progress.stop();
    if (history.length === 0 || history[history.length - 1].iteration !== cfg.iterations) checkpoint();
    flag.immediate = true;

    progress.note('evaluating on held-out tasks (pretraining the baseline first)');
    const init = theta0(cfg);
    const pretrained = pretrain(init, cfg);
    const grid = Float32Array.from({ length: 101 }, (_, i) => -5 + i / 10);
    // Four tasks across the range of amplitudes (at the 1/8, 3/8, 5/8 and 7/8 quantiles), not the first four.
    const byAmplitude = evalTasks.map((t, i) => [t.amplitude, i] as const).sort((a, b) => a[0] - b[0]);
    const fitTasks = [1, 3, 5, 7].map((q) => evalTasks[byAmplitude[Math.floor((q * byAmplitude.length) / 8)][1]]);
    const results = {
      imaml: await adaptAll(exec, st.theta, evalTasks, cfg),
      pretrained: await adaptAll(exec, pretrained, evalTasks, cfg),
      scratch: await adaptAll(exec, init, evalTasks, cfg),
    };
    const scores = { imaml: score(results.imaml), pretrained: score(results.pretrained), scratch: score(results.scratch) };
    // Paired comparison on the same tasks: how often the meta-learned start adapts better.
    const betterOn = (other: 'pretrained' | 'scratch'): number =>
      results.imaml.filter((r, i) => r.queryLoss < results[other][i].queryLoss).length / results.imaml.length;
    const fits = {
      imaml: await adaptAll(exec, st.theta, fitTasks, cfg, grid),
      pretrained: await adaptAll(exec, pretrained, fitTasks, cfg, grid),
      scratch: await adaptAll(exec, init, fitTasks, cfg, grid),
    };
    saveSafetensors(files.model, namedTheta(cfg, st.theta), { format: 'metagrad-imaml-model/1', sizes: JSON.stringify(layerSizes(cfg)) });
    const metrics: ImamlMetrics = {
      iterations: cfg.iterations,
      seconds: Number(secondsNow().toFixed(3)),
      trainSeconds: history.length > 0 ? history[history.length - 1].seconds : 0,
      metaTestMse: { imaml: scores.imaml.mean, pretrained: scores.pretrained.mean, scratch: scores.scratch.mean },
      metaTestStderr: { imaml: scores.imaml.stderr, pretrained: scores.pretrained.stderr, scratch: scores.scratch.stderr },
      imamlBetterOn: { pretrained: betterOn('pretrained'), scratch: betterOn('scratch') },
      seed: cfg.seed,
      workers: cfg.workers,
      config: {
        metaBatch: cfg.metaBatch, innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, lambda: cfg.lambda, cgIterations: cfg.cgIterations,
        metaLr: cfg.metaLr, metaLrHalfLife: cfg.metaLrHalfLife, shots: cfg.shots, queries: cfg.queries, hidden: cfg.hidden, evalTasks: cfg.evalTasks,
      },
    };
    await writeReport(files, metrics, history, { tasks: fitTasks, grid, fits });
    if (cfg.json) process.stdout.write(`${JSON.stringify({ task: 'imaml', result: metrics, files })}\n`);
    else printTable(metrics, cfg, files);
    return 0;
  } finally {
    offSignals();
    progress.stop();
    await exec.close();
  }
}
