/**
 * Charts as SVG files, drawn with Vega-Lite and rendered by Vega headless (no browser, no canvas,
 * no network: the data are inlined in the spec).
 */
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One point of a training curve. */
export interface CurvePoint {
  /** Iteration. */
  iteration: number;
  /** Which curve. */
  series: string;
  /** Value. */
  value: number;
  /** Drawn faintly (e.g. a noisy raw series under its smoothed version). */
  faint?: boolean;
}

/** Legend entries in order, each with its colour. */
export type Palette = [series: string, color: string][];

function colorScale(palette: Palette) {
  return { domain: palette.map(([s]) => s), range: palette.map(([, c]) => c) };
}

/** A labelled horizontal reference line. */
export interface ReferenceLine {
  /** Legend label. */
  series: string;
  /** Height. */
  value: number;
}

/** Curves against iterations on a log-scale (or linear) y axis, with dashed reference lines. */
export function curveSpec(title: string, yTitle: string, points: CurvePoint[], references: ReferenceLine[], palette: Palette, yScale: 'log' | 'linear' = 'log'): TopLevelSpec {
  const color = { field: 'series', type: 'nominal', title: null, scale: colorScale(palette), legend: { orient: 'bottom', columns: 2, labelLimit: 0 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: false, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: yScale === 'log' ? { type: 'log' } : { zero: false } },
          color,
          detail: { field: 'faint', type: 'nominal' },
          opacity: { condition: { test: 'datum.faint', value: 0.3 }, value: 1 },
        },
      },
      {
        data: { values: references },
        mark: { type: 'rule', strokeDash: [6, 4] },
        encoding: { y: { field: 'value', type: 'quantitative' }, color },
      },
    ],
  };
}

/** One point of a fit panel. */
export interface FitPoint {
  /** Panel title. */
  panel: string;
  /** Which curve or point set. */
  series: string;
  /** Input. */
  x: number;
  /** Output. */
  y: number;
}

/** A chart of one panel per distinct `panel` field of `points` (`columns` panels per row), each drawn by `spec`. */
function faceted(title: string, points: readonly object[], columns: number | undefined, spec: Extract<TopLevelSpec, { facet: unknown }>['spec']): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    data: { values: points as object[] },
    facet: { field: 'panel', type: 'nominal', title: null, sort: null },
    ...(columns === undefined ? {} : { columns }),
    spec,
  };
}

/**
 * One panel per task: lines for every series except `pointsSeries`, which is drawn as dots
 * (the support points a model was adapted to).
 */
export function fitSpec(title: string, points: FitPoint[], pointsSeries: string, columns: number, palette: Palette): TopLevelSpec {
  const color = { field: 'series', type: 'nominal', title: null, scale: colorScale(palette), legend: { orient: 'bottom', columns: 3, labelLimit: 0 } } as const;
  const x = { field: 'x', type: 'quantitative', title: 'x' } as const;
  const y = { field: 'y', type: 'quantitative', title: 'y' } as const;
  return faceted(title, points, columns, {
    width: 260,
    height: 200,
    layer: [
      {
        transform: [{ filter: { not: { field: 'series', equal: pointsSeries } } }],
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color },
      },
      {
        transform: [{ filter: { field: 'series', equal: pointsSeries } }],
        mark: { type: 'point', filled: true, size: 45 },
        encoding: { x, y, color },
      },
    ],
  });
}

/** One estimate with its interval. */
export interface IntervalPoint {
  /** Category (a bar). */
  label: string;
  /** Panel (e.g. a setting). */
  panel: string;
  /** Estimate. */
  value: number;
  /** Lower end of the interval. */
  lo: number;
  /** Upper end of the interval. */
  hi: number;
}

/** Bars with interval whiskers, one panel per `panel`, coloured by label. */
export function intervalSpec(title: string, yTitle: string, points: IntervalPoint[], palette: Palette): TopLevelSpec {
  const x = { field: 'label', type: 'nominal', title: null, sort: palette.map(([s]) => s), axis: { labelAngle: -20, labelLimit: 0 } } as const;
  return faceted(title, points, undefined, {
    width: 320,
    height: 260,
    layer: [
      { mark: { type: 'bar' }, encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: { domain: [0, 1] } }, color: { field: 'label', type: 'nominal', legend: null, scale: colorScale(palette) } } },
      { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      { mark: { type: 'text', dy: -8, baseline: 'bottom' }, encoding: { x, y: { field: 'hi', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: '.1%' } } },
    ],
  });
}
