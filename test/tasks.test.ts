/** The sinusoid task sampler of the iMAML benchmark (Finn et al. 2017): ranges, targets, distribution and reproducibility. */
import * as assert from 'node:assert/strict';
import { Generator } from '../ts/index';
import { SINUSOID, type SinusoidTask, sampleSinusoidTasks, sinusoid } from '../cli/ts/tasks';

const shape = { support: 10, query: 10 };

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function variance(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
}

describe('sinusoid task sampler', () => {
  const tasks = sampleSinusoidTasks(new Generator().manualSeed(7), 2000, shape);

  it('draws K support and Q query points per task', () => {
    const t = sampleSinusoidTasks(new Generator().manualSeed(1), 3, { support: 5, query: 7 });
    assert.equal(t.length, 3);
    for (const task of t) {
      assert.equal(task.xSupport.length, 5);
      assert.equal(task.ySupport.length, 5);
      assert.equal(task.xQuery.length, 7);
      assert.equal(task.yQuery.length, 7);
    }
  });

  it('keeps A in [0.1, 5], φ in [0, π] and x in [−5, 5]', () => {
    for (const t of tasks) {
      assert.ok(t.amplitude >= 0.1 && t.amplitude <= 5, `A = ${t.amplitude}`);
      assert.ok(t.phase >= 0 && t.phase <= Math.PI, `φ = ${t.phase}`);
      for (const x of [...t.xSupport, ...t.xQuery]) assert.ok(x >= -5 && x <= 5, `x = ${x}`);
    }
  });

  it('gives targets y = A·sin(x − φ) (to float32 rounding)', () => {
    for (const t of tasks.slice(0, 100)) {
      const check = (xs: Float32Array, ys: Float32Array) =>
        xs.forEach((x, i) => assert.equal(ys[i], Math.fround(t.amplitude * Math.sin(x - t.phase))));
      check(t.xSupport, t.ySupport);
      check(t.xQuery, t.yQuery);
    }
    assert.equal(sinusoid(2, Math.PI / 2, Math.PI / 2), 0);
    assert.equal(sinusoid(3, 0, Math.PI / 2), 3);
  });

  it('draws A, φ and x uniformly (moments within 5 standard errors)', () => {
    const n = tasks.length;
    const uniformCheck = (xs: number[], lo: number, hi: number, what: string) => {
      const mu = (lo + hi) / 2;
      const v = (hi - lo) ** 2 / 12;
      const se = Math.sqrt(v / xs.length);
      assert.ok(Math.abs(mean(xs) - mu) < 5 * se, `${what}: mean ${mean(xs)} vs ${mu}`);
      assert.ok(Math.abs(variance(xs) / v - 1) < 0.1, `${what}: variance ${variance(xs)} vs ${v}`);
    };
    uniformCheck(tasks.map((t) => t.amplitude), SINUSOID.amplitude[0], SINUSOID.amplitude[1], 'A');
    uniformCheck(tasks.map((t) => t.phase), SINUSOID.phase[0], SINUSOID.phase[1], 'φ');
    uniformCheck(tasks.flatMap((t) => [...t.xSupport, ...t.xQuery]), -5, 5, 'x');
    assert.equal(n, 2000);
    // Support and query points are drawn independently of each other (no correlation in x).
    const xs = tasks.map((t) => t.xSupport[0]);
    const xq = tasks.map((t) => t.xQuery[0]);
    const cov = mean(xs.map((x, i) => x * xq[i])) - mean(xs) * mean(xq);
    assert.ok(Math.abs(cov) / (100 / 12) < 0.1, `correlation ${cov / (100 / 12)}`);
  });

  it('is reproducible from the seed, and different seeds give different tasks', () => {
    const a = sampleSinusoidTasks(new Generator().manualSeed(3), 5, shape);
    const b = sampleSinusoidTasks(new Generator().manualSeed(3), 5, shape);
    const c = sampleSinusoidTasks(new Generator().manualSeed(4), 5, shape);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0].amplitude, c[0].amplitude);
  });

  it('continues the same stream after a saved generator state is restored (what --resume relies on)', () => {
    const g = new Generator().manualSeed(11);
    const whole: SinusoidTask[] = sampleSinusoidTasks(g, 6, shape);
    const h = new Generator().manualSeed(11);
    const first = sampleSinusoidTasks(h, 2, shape);
    const saved = h.getState();
    sampleSinusoidTasks(h, 9, shape); // the interrupted session draws more, then stops
    const resumed = sampleSinusoidTasks(new Generator().setState(saved), 4, shape);
    assert.deepEqual([...first, ...resumed], whole);
  });

  it('rejects bad sizes with a RangeError naming the argument', () => {
    const g = new Generator();
    assert.throws(() => sampleSinusoidTasks(g, -1, shape), /'count' must be an integer >= 0/);
    assert.throws(() => sampleSinusoidTasks(g, 1, { support: 0, query: 1 }), /'support' must be an integer >= 1/);
    assert.throws(() => sampleSinusoidTasks(g, 1, { support: 1, query: 1.5 }), /'query' must be an integer >= 1/);
  });
});
