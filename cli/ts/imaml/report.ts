/** The results of an iMAML run: metrics.json, the two charts, and the table printed at the end. */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../checkpoint';
import { type CurvePoint, type FitPoint, type Palette, curveSpec, fitSpec, renderSvg } from '../plots';
import { type SinusoidTask, sinusoid } from '../tasks';
import type { ImamlConfig } from './config';
import type { HistoryRecord } from './history';
import type { AdaptResult } from './jobs';

/** The three initialisations compared. */
export type InitName = 'imaml' | 'pretrained' | 'scratch';

/** The initialisations in table order. */
export const INITS: readonly InitName[] = ['imaml', 'pretrained', 'scratch'];

/** Chart colours of the initialisations. */
const COLORS: Record<InitName, string> = { imaml: '#1f77b4', pretrained: '#ff7f0e', scratch: '#8c8c8c' };

/** Window of the smoothed meta-training loss in curve.svg. */
const SMOOTH = 20;

/** Human names of the initialisations. */
export const INIT_LABELS: Record<InitName, string> = {
  imaml: 'iMAML (meta-learned)',
  pretrained: 'pretrained on all tasks',
  scratch: 'random init (scratch)',
};

/** `metrics.json`. */
export interface ImamlMetrics {
  /** Meta-training iterations. */
  iterations: number;
  /** Wall-clock seconds of the whole run (over all sessions), evaluation included. */
  seconds: number;
  /** Seconds of meta-training alone. */
  trainSeconds: number;
  /** Mean query MSE on the held-out tasks after adapting each initialisation. */
  metaTestMse: Record<InitName, number>;
  /** Standard errors of those means. */
  metaTestStderr: Record<InitName, number>;
  /** Fraction of the held-out tasks on which iMAML's query MSE is lower than each baseline's. */
  imamlBetterOn: Record<Exclude<InitName, 'imaml'>, number>;
  /** The seed. */
  seed: number;
  /** Worker threads used by the last session. */
  workers: number;
  /** The run-defining settings. */
  config: Record<string, number | number[]>;
}

/** What fit.svg shows: a few held-out tasks and each initialisation's adapted predictions. */
export interface FitData {
  /** The tasks. */
  tasks: SinusoidTask[];
  /** Inputs of the predictions. */
  grid: Float32Array;
  /** Per initialisation, per task, the adapted predictions at `grid`. */
  fits: Record<InitName, AdaptResult[]>;
}

/** Writes metrics.json, curve.svg and fit.svg. */
export async function writeReport(files: { metrics: string; curve: string; fit: string }, m: ImamlMetrics, history: readonly HistoryRecord[], fit: FitData): Promise<void> {
  writeFileAtomic(files.metrics, `${JSON.stringify(m, null, 2)}\n`);

  const raw = 'meta-training loss (meta-batch query MSE)';
  const smooth = `meta-training loss, mean of ${SMOOTH} iterations`;
  const heldOut = `held-out query MSE, ${INIT_LABELS.imaml}`;
  const refName = (k: InitName): string => `held-out query MSE, ${INIT_LABELS[k]} (final)`;
  const points: CurvePoint[] = [];
  history.forEach((r, i) => {
    points.push({ iteration: r.iteration, series: raw, value: r.metaLoss, faint: true });
    const win = history.slice(Math.max(0, i - SMOOTH + 1), i + 1);
    points.push({ iteration: r.iteration, series: smooth, value: win.reduce((a, h) => a + h.metaLoss, 0) / win.length });
    if (r.heldOutMse !== undefined) points.push({ iteration: r.iteration, series: heldOut, value: r.heldOutMse });
  });
  const refs = (['pretrained', 'scratch'] as const).map((k) => ({ series: refName(k), value: m.metaTestMse[k] }));
  const curvePalette: Palette = [
    [raw, '#9ecae1'],
    [smooth, '#3182bd'],
    [heldOut, '#08306b'],
    [refName('pretrained'), COLORS.pretrained],
    [refName('scratch'), COLORS.scratch],
  ];
  const title = `iMAML on few-shot sinusoid regression (K = ${m.config.shots}, seed ${m.seed})`;
  writeFileAtomic(files.curve, await renderSvg(curveSpec(title, 'MSE (log scale)', points, refs, curvePalette)));

  const support = `K = ${fit.tasks[0]?.xSupport.length ?? 0} support points`;
  const adapted = (k: InitName): string => `${INIT_LABELS[k]}, adapted`;
  const fp: FitPoint[] = [];
  fit.tasks.forEach((t, i) => {
    const panel = `task ${i + 1}: A = ${t.amplitude.toFixed(2)}, φ = ${t.phase.toFixed(2)}`;
    fit.grid.forEach((x) => fp.push({ panel, series: 'true function', x, y: sinusoid(t.amplitude, t.phase, x) }));
    t.xSupport.forEach((x, j) => fp.push({ panel, series: support, x, y: t.ySupport[j] }));
    for (const k of INITS) {
      fit.fits[k][i].predictions.forEach((y, j) => fp.push({ panel, series: adapted(k), x: fit.grid[j], y }));
    }
  });
  const fitPalette: Palette = [['true function', '#222222'], [support, '#222222'], ...INITS.map((k): [string, string] => [adapted(k), COLORS[k]])];
  writeFileAtomic(files.fit, await renderSvg(fitSpec('Held-out tasks: predictions after adapting to the support points', fp, support, 2, fitPalette)));
}

function pct(x: number): string {
  return `${Math.round(100 * x)}%`;
}

/** The comparison table, as printed. */
export function formatTable(m: ImamlMetrics, cfg: ImamlConfig): string {
  const rows = INITS.map((k) => [INIT_LABELS[k], m.metaTestMse[k].toFixed(3), m.metaTestStderr[k].toFixed(3)]);
  const head = ['initialisation', 'query MSE', '± s.e.'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => `  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}`;
  return [
    `Meta-test on ${cfg.evalTasks} held-out tasks: adapt to K = ${cfg.shots} support points (${cfg.innerSteps} steps, λ = ${cfg.lambda}), MSE on ${cfg.queries} query points`,
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    `iMAML is better on ${pct(m.imamlBetterOn.pretrained)} of the tasks than the pretrained start, on ${pct(m.imamlBetterOn.scratch)} than scratch`,
    `${m.iterations} iterations, meta-batch ${cfg.metaBatch}, ${m.seconds.toFixed(1)} s (${cfg.workers === 0 ? 'main thread' : `${cfg.workers} worker${cfg.workers === 1 ? '' : 's'}`})`,
  ].join('\n');
}

/** Prints the table and where the files are. */
export function printTable(m: ImamlMetrics, cfg: ImamlConfig, files: Record<string, string>): void {
  process.stdout.write(`\n${formatTable(m, cfg)}\nwrote ${Object.values(files).filter((f) => fs.existsSync(f)).join(', ')}\n`);
}
