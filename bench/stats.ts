/**
 * Timing helpers. The machine is shared and noisy, so every number is the median of several
 * repeats, each repeat averaging enough calls to last a few milliseconds (timer resolution and
 * one-off GC pauses then matter little), after a warm-up that lets V8 optimise the code.
 */

/** Result of {@link measure}: per-call times in milliseconds. */
export interface Timing {
  /** Median over the repeats of the mean per-call time. */
  median: number;
  /** Every repeat's mean per-call time, sorted. */
  samples: number[];
  /** Calls per repeat. */
  inner: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Number of timed repeats (median taken over them). */
  repeats: number;
  /** Target duration of one repeat, in ms; calls per repeat are chosen to reach it. */
  minRepeatMs?: number;
  /** Warm-up duration in ms before timing. */
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

/** Times `fn` (synchronous); see {@link Timing}. */
export function measure(fn: () => unknown, opts: MeasureOptions): Timing {
  const minRepeatMs = opts.minRepeatMs ?? 20;
  const warmupMs = opts.warmupMs ?? 100;
  const maxInner = opts.maxInner ?? 1_000_000;
  // Warm up, and estimate the cost of one call from the warm-up.
  let calls = 0;
  const t0 = now();
  do {
    fn();
    calls++;
  } while (now() - t0 < warmupMs);
  const perCall = (now() - t0) / calls;
  const inner = Math.max(1, Math.min(maxInner, Math.ceil(minRepeatMs / Math.max(perCall, 1e-6))));
  const samples: number[] = [];
  for (let r = 0; r < opts.repeats; r++) {
    const s = now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((now() - s) / inner);
  }
  samples.sort((a, b) => a - b);
  return { median: median(samples), samples, inner };
}

/** Formats a number with `digits` significant digits (no exponent for the ranges we print). */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - mag);
  return x.toFixed(decimals);
}
