/**
 * Timing helpers. The machine is shared and noisy, so every number is the median of several
 * repeats, each repeat averaging enough calls to last a few milliseconds (timer resolution and
 * one-off GC pauses then matter little), after a warm-up that lets V8 optimise the code.
 * Contenders of one comparison run interleaved, round by round, so a burst of background load
 * hits all of them alike instead of whichever happened to be running.
 */

/** Per-call times in milliseconds. */
export interface Timing {
  /** Median over the repeats of the mean per-call time. */
  median: number;
  /** Every repeat's mean per-call time, sorted. */
  samples: number[];
  /** Calls per repeat. */
  inner: number;
}

/** Options of {@link measure} and {@link compare}. */
export interface MeasureOptions {
  /** Number of timed repeats (median taken over them). */
  repeats: number;
  /** Target duration of one repeat, in ms; calls per repeat are chosen to reach it. */
  minRepeatMs?: number;
  /** Warm-up duration in ms before timing (V8 needs about a second to optimise autograd-heavy code). */
  warmupMs?: number;
  /** Upper bound on calls per repeat (for very cheap calls). */
  maxInner?: number;
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const now = (): number => performance.now();

/** Warms `fn` up for `warmupMs` and returns how many calls make one repeat. */
function calibrate(fn: () => unknown, opts: MeasureOptions): number {
  const warmupMs = opts.warmupMs ?? 300;
  let calls = 0;
  const t0 = now();
  do {
    fn();
    calls++;
  } while (now() - t0 < warmupMs);
  const perCall = (now() - t0) / calls;
  const minRepeatMs = opts.minRepeatMs ?? 20;
  return Math.max(1, Math.min(opts.maxInner ?? 1_000_000, Math.ceil(minRepeatMs / Math.max(perCall, 1e-6))));
}

function once(fn: () => unknown, inner: number): number {
  const s = now();
  for (let i = 0; i < inner; i++) fn();
  return (now() - s) / inner;
}

function timing(samples: number[], inner: number): Timing {
  samples.sort((a, b) => a - b);
  return { median: median(samples), samples, inner };
}

/** Times one synchronous function. */
export function measure(fn: () => unknown, opts: MeasureOptions): Timing {
  const inner = calibrate(fn, opts);
  const samples: number[] = [];
  for (let r = 0; r < opts.repeats; r++) samples.push(once(fn, inner));
  return timing(samples, inner);
}

/** One timed repeat: returns the mean per-call time in ms. */
export type Sampler = () => number;

/** Calibrates `fn` (warm-up included) and returns a sampler of repeats of it. */
export function sampler(fn: () => unknown, opts: Omit<MeasureOptions, 'repeats'>): Sampler & { inner: number } {
  const inner = calibrate(fn, { repeats: 0, ...opts });
  return Object.assign(() => once(fn, inner), { inner });
}

/**
 * Takes `repeats` samples from each sampler, interleaved round by round; `null` entries are
 * skipped (and returned as null). Samplers may time anything, e.g. another process (then they
 * return a promise).
 */
export async function compareSamplers(samplers: readonly (AsyncSampler | null)[], repeats: number): Promise<(Timing | null)[]> {
  const samples = samplers.map((): number[] => []);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < samplers.length; i++) {
      const s = samplers[i];
      if (s) samples[i].push(await s());
    }
  }
  return samplers.map((s, i) => (s ? timing(samples[i], (s as { inner?: number }).inner ?? 1) : null));
}

/** A sampler that may wait, e.g. for another process that times its own calls. */
export type AsyncSampler = () => number | Promise<number>;

/** Times several functions, interleaving their repeats; `null` entries are skipped (and returned as null). */
export function compare(fns: readonly ((() => unknown) | null)[], opts: MeasureOptions): Promise<(Timing | null)[]> {
  return compareSamplers(fns.map((f) => (f ? sampler(f, opts) : null)), opts.repeats);
}

/** Formats a number with about `digits` significant digits, without an exponent. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(x)));
  return x.toFixed(Math.max(0, digits - 1 - mag));
}

/** Formats a ratio as e.g. "12.3×". */
export function fmtRatio(x: number): string {
  return `${fmt(x, x >= 100 ? 4 : 3)}×`;
}
