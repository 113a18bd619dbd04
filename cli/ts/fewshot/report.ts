/** The results of a few-shot run: metrics.json, curve.svg, accuracy.svg and the table printed at the end. */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../checkpoint';
import { type CurvePoint, type IntervalPoint, type Palette, curveSpec, intervalSpec, renderSvg } from '../plots';
import type { Interval } from './baselines';
import type { FewshotConfig } from './config';

/** The methods compared. */
export type MethodName = 'imaml' | 'pretrained' | 'scratch' | 'prototype';

/** The methods in table order. */
export const METHODS: readonly MethodName[] = ['imaml', 'pretrained', 'scratch', 'prototype'];

/** Human names of the methods. */
export const METHOD_LABELS: Record<MethodName, string> = {
  imaml: 'iMAML (meta-learned init, adapted)',
  pretrained: 'pretrained on digits 0–4, adapted',
  scratch: 'random init, adapted',
  prototype: 'pretrained features, nearest class mean',
};

/** Chart colours. */
const COLORS: Record<MethodName, string> = { imaml: '#1f77b4', pretrained: '#ff7f0e', scratch: '#8c8c8c', prototype: '#2ca02c' };

/** Window of the smoothed meta-training accuracy in curve.svg. */
const SMOOTH = 20;

/** One iteration of meta-training in history.jsonl. */
export interface HistoryRecord {
  /** Iterations completed. */
  iteration: number;
  /** Mean query cross-entropy over the meta-batch after adaptation (the meta-training loss). */
  metaLoss: number;
  /** Mean query accuracy over the meta-batch after adaptation. */
  metaAccuracy: number;
  /** Mean residual norm of the implicit backward solves. */
  backwardResidual: number;
  /** Mean ‖F(φ, θ)‖ at the adapted parameters. */
  rootResidual: number;
  /** Seconds since the run began (over all sessions). */
  seconds: number;
  /** Mean query accuracy of iMAML's θ adapted to the fixed curve episodes (held-out digits), on evaluation iterations. */
  curveAccuracy?: number;
}

/** `metrics.json`. */
export interface FewshotMetrics {
  /** N-way K-shot, with Q queries per class. */
  setting: { ways: number; shots: number; queries: number };
  /** Meta-training iterations. */
  iterations: number;
  /** Wall-clock seconds of the whole run (over all sessions). */
  seconds: number;
  /** Seconds of meta-training. */
  trainSeconds: number;
  /** Seconds of pretraining the baseline. */
  pretrainSeconds: number;
  /** Seconds of the test evaluation. */
  testSeconds: number;
  /** Test episodes (held-out digits 5–9). */
  testEpisodes: number;
  /** Mean query accuracy per method with its 95 % interval. */
  accuracy: Record<MethodName, Interval>;
  /** iMAML's accuracy minus each other method's, paired by episode, with its 95 % interval. */
  imamlMinus: Record<Exclude<MethodName, 'imaml'>, Interval>;
  /** The seed. */
  seed: number;
  /** Worker threads of the last session. */
  workers: number;
  /** The run-defining settings. */
  config: Record<string, number>;
}

const pct = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)}%`;

/** Writes metrics.json, curve.svg and accuracy.svg. */
export async function writeReport(files: { metrics: string; curve: string; accuracy: string }, m: FewshotMetrics, history: readonly HistoryRecord[]): Promise<void> {
  writeFileAtomic(files.metrics, `${JSON.stringify(m, null, 2)}\n`);
  const setting = `${m.setting.ways}-way ${m.setting.shots}-shot`;
  const raw = 'meta-training query accuracy (digits 0–4)';
  const smooth = `meta-training query accuracy, mean of ${SMOOTH} iterations`;
  const curve = 'iMAML on held-out digits 5–9 (fixed curve episodes)';
  const refName = (k: MethodName): string => `${METHOD_LABELS[k]} (final test)`;
  const points: CurvePoint[] = [];
  history.forEach((r, i) => {
    points.push({ iteration: r.iteration, series: raw, value: r.metaAccuracy, faint: true });
    const win = history.slice(Math.max(0, i - SMOOTH + 1), i + 1);
    points.push({ iteration: r.iteration, series: smooth, value: win.reduce((a, h) => a + h.metaAccuracy, 0) / win.length });
    if (r.curveAccuracy !== undefined) points.push({ iteration: r.iteration, series: curve, value: r.curveAccuracy });
  });
  const others = ['pretrained', 'scratch', 'prototype'] as const;
  const palette: Palette = [[raw, '#9ecae1'], [smooth, '#3182bd'], [curve, '#08306b'], ...others.map((k): [string, string] => [refName(k), COLORS[k]])];
  const refs = others.map((k) => ({ series: refName(k), value: m.accuracy[k].mean }));
  writeFileAtomic(files.curve, await renderSvg(curveSpec(`iMAML few-shot digits, ${setting} (seed ${m.seed})`, 'query accuracy', points, refs, palette, 'linear')));
  const bars: IntervalPoint[] = METHODS.map((k) => ({ label: METHOD_LABELS[k], panel: setting, value: m.accuracy[k].mean, lo: m.accuracy[k].mean - m.accuracy[k].ci95, hi: m.accuracy[k].mean + m.accuracy[k].ci95 }));
  const barPalette: Palette = METHODS.map((k) => [METHOD_LABELS[k], COLORS[k]]);
  writeFileAtomic(files.accuracy, await renderSvg(intervalSpec(`Test accuracy on ${m.testEpisodes} episodes of held-out digits, 95% intervals`, 'query accuracy', bars, barPalette)));
}

/** The comparison table, as printed. */
export function formatTable(m: FewshotMetrics, cfg: FewshotConfig): string {
  const rows = METHODS.map((k) => [METHOD_LABELS[k], pct(m.accuracy[k].mean), `± ${pct(m.accuracy[k].ci95)}`, k === 'imaml' ? '' : `${m.imamlMinus[k].mean >= 0 ? '+' : ''}${pct(m.imamlMinus[k].mean)} ± ${pct(m.imamlMinus[k].ci95)}`]);
  const head = ['method', 'accuracy', '95% CI', 'iMAML minus it (paired)'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => `  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}  ${r[3].padStart(w[3])}`;
  return [
    `Meta-test: ${m.testEpisodes} ${m.setting.ways}-way ${m.setting.shots}-shot episodes of the held-out digits 5–9, ${m.setting.queries} queries per class; adapted with ${cfg.innerSteps} steps, λ = ${cfg.lambda}`,
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    `${m.iterations} iterations, meta-batch ${cfg.metaBatch}, ${m.seconds.toFixed(0)} s (train ${m.trainSeconds.toFixed(0)} s, pretrain ${m.pretrainSeconds.toFixed(0)} s, test ${m.testSeconds.toFixed(0)} s; ${cfg.workers === 0 ? 'main thread' : `${cfg.workers} worker${cfg.workers === 1 ? '' : 's'}`})`,
  ].join('\n');
}

/** Prints the table and where the files are. */
export function printTable(m: FewshotMetrics, cfg: FewshotConfig, files: Record<string, string>): void {
  process.stdout.write(`\n${formatTable(m, cfg)}\nwrote ${Object.values(files).filter((f) => fs.existsSync(f)).join(', ')}\n`);
}
