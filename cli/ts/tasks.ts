/**
 * The few-shot sinusoid regression benchmark of Finn et al. (2017): a task is y = A·sin(x − φ) with
 * A ~ U[0.1, 5], φ ~ U[0, π], and its inputs x ~ U[−5, 5]. Every draw comes from the given
 * generator, so a generator state fixes the tasks exactly (what resuming a run relies on).
 */
import { type Generator, rand } from 'metagrad';

/** The benchmark's ranges (Finn et al. 2017, section 5.1). */
export const SINUSOID = { amplitude: [0.1, 5], phase: [0, Math.PI], x: [-5, 5] } as const;

/** One regression task with its support (training) and query (evaluation) points. */
export interface SinusoidTask {
  /** A in y = A·sin(x − φ). */
  amplitude: number;
  /** φ in y = A·sin(x − φ). */
  phase: number;
  /** Support inputs, length K. */
  xSupport: Float32Array;
  /** Support targets. */
  ySupport: Float32Array;
  /** Query inputs. */
  xQuery: Float32Array;
  /** Query targets. */
  yQuery: Float32Array;
}

/** Sizes of a task's point sets. */
export interface TaskShape {
  /** Support points per task (K). */
  support: number;
  /** Query points per task. */
  query: number;
}

/** The target of a task at x. */
export function sinusoid(amplitude: number, phase: number, x: number): number {
  return amplitude * Math.sin(x - phase);
}

/** `n` uniform draws in [lo, hi), in float64 so the bounds hold exactly before the float32 rounding. */
function uniform(generator: Generator, n: number, lo: number, hi: number): Float64Array {
  const u = rand([n], { generator, dtype: 'float64' }).data as Float64Array;
  return u.map((v) => lo + (hi - lo) * v);
}

/**
 * Draws `count` tasks. Per task, in this order: A, φ, then the support and query inputs together
 * (one draw of K + Q values), so the stream does not depend on how the points are split.
 */
export function sampleSinusoidTasks(generator: Generator, count: number, shape: TaskShape): SinusoidTask[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`sampleSinusoidTasks: 'count' must be an integer >= 0, got ${String(count)}`);
  for (const k of ['support', 'query'] as const) {
    if (!Number.isInteger(shape[k]) || shape[k] < 1) throw new RangeError(`sampleSinusoidTasks: '${k}' must be an integer >= 1, got ${String(shape[k])}`);
  }
  const tasks: SinusoidTask[] = [];
  for (let i = 0; i < count; i++) {
    const [amplitude] = uniform(generator, 1, SINUSOID.amplitude[0], SINUSOID.amplitude[1]);
    const [phase] = uniform(generator, 1, SINUSOID.phase[0], SINUSOID.phase[1]);
    const xs = Float32Array.from(uniform(generator, shape.support + shape.query, SINUSOID.x[0], SINUSOID.x[1]));
    const ys = xs.map((x) => sinusoid(amplitude, phase, x));
    tasks.push({
      amplitude,
      phase,
      xSupport: xs.slice(0, shape.support),
      ySupport: ys.slice(0, shape.support),
      xQuery: xs.slice(shape.support),
      yQuery: ys.slice(shape.support),
    });
  }
  return tasks;
}
