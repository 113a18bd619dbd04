/**
 * `metagrad imaml` meta-batches over a BullMQ queue (issue 15's rows): a meta-batch of the
 * default job (25 tasks, 1→40→40→1, 20 inner steps, vmap + jit) on the main thread, on 2 local
 * worker threads, and through a real redis-server to 1, 2 and 4 `metagrad worker` processes
 * (chunks of 5 tasks), interleaved round by round; the results are checked bit for bit against the
 * main thread's. Then the coordinator's own cost per meta-batch: encoding and decoding the
 * payloads, and a round trip of empty jobs through Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as mg from '../ts/index';
import { createExecutor, executorOf } from '../cli/ts/imaml/executor';
import { IMAML_DEFAULTS, layerSizes } from '../cli/ts/imaml/config';
import type { MetaJob, MetaResult } from '../cli/ts/imaml/jobs';
import { initMlp } from '../cli/ts/imaml/model';
import { flatParams } from '../cli/ts/params';
import { createQueuePool } from '../cli/ts/queue';
import { sampleSinusoidTasks } from '../cli/ts/tasks';
import { startRedis } from '../test/helpers/redis';
import type { BenchContext } from './context';
import { compareSamplers, fmt, measure } from './stats';
import type { Table } from './table';

const CHUNK = 5;

/** A `metagrad worker` process whose kernels use one thread (so processes, not threads, share the cores). */
async function startWorker(url: string, queue: string): Promise<ChildProcess> {
  const cli = join(__dirname, '..', 'cli', 'dist', 'main.js');
  const child = spawn(process.execPath, [cli, 'worker', '--queue', url, '--queue-name', queue, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, METAGRAD_NUM_THREADS: '1' } });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench distributed: a worker did not start within 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (String(d).includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

function sameResults(a: MetaResult[], b: MetaResult[]): boolean {
  return a.length === b.length && a.every((r, i) => r.queryLoss === b[i].queryLoss && r.grads.every((g, j) => g.every((v, k) => v === b[i].grads[j][k])));
}

/** The group. */
export async function distributedGroup(ctx: BenchContext): Promise<Table[]> {
  const cfg = IMAML_DEFAULTS;
  const job: MetaJob = {
    kind: 'meta',
    theta: flatParams(initMlp(layerSizes(cfg), new mg.Generator().manualSeed(1))),
    tasks: sampleSinusoidTasks(new mg.Generator().manualSeed(2), cfg.metaBatch, { support: cfg.shots, query: cfg.queries }),
    inner: { steps: cfg.innerSteps, lr: cfg.innerLr, lambda: cfg.lambda, cgIterations: cfg.cgIterations },
    batching: 'vmap',
    jit: true,
  };
  let redis: Awaited<ReturnType<typeof startRedis>>;
  try {
    redis = await startRedis();
  } catch (e) {
    return [{ title: 'Distributed meta-batches', headers: ['setting'], rows: [], notes: [`not measured: ${(e as Error).message}`] }];
  }
  const workers: ChildProcess[] = [];
  const local = createExecutor(0);
  const pools: { n: number; exec: ReturnType<typeof executorOf> }[] = [];
  try {
    const reference = await local.run(job);
    const rows: string[][] = [];
    // Kernel threads set explicitly per row (other groups change them), restored at the end.
    const threadsBefore = mg.backendInfo().threads;
    const cores = availableParallelism();
    const onThreads = (n: number) => async (): Promise<MetaResult[]> => {
      mg.setNumThreads(n);
      try {
        return await local.run(job);
      } finally {
        mg.setNumThreads(threadsBefore);
      }
    };
    const setups: { label: string; run: () => Promise<MetaResult[]> }[] = [
      { label: `one process, no queue, kernels on ${cores} threads (one per core, the default)`, run: onThreads(cores) },
      { label: 'one process, no queue, kernels on 1 thread', run: onThreads(1) },
    ];
    for (const n of [1, 2, 4]) {
      const queue = `bench-${n}`;
      for (let i = 0; i < n; i++) workers.push(await startWorker(redis.url, queue));
      const exec = executorOf(await createQueuePool('imaml', { queue: redis.url, queueName: queue }, CHUNK));
      pools.push({ n, exec });
      setups.push({ label: `queue, ${n} worker process${n > 1 ? 'es' : ''} (1 kernel thread each)`, run: () => exec.run(job) });
    }
    ctx.log('distributed: warm-up (jit recordings in every worker)');
    const checks: boolean[] = [];
    for (const s of setups) for (let k = 0; k < 3; k++) checks.push(sameResults(await s.run(), reference));
    const timings = await compareSamplers(setups.map((s) => async () => {
      const t0 = performance.now();
      await s.run();
      return performance.now() - t0;
    }), ctx.repeats);
    const [base, base1] = [(timings[0] as { median: number }).median, (timings[1] as { median: number }).median];
    setups.forEach((s, i) => {
      const ms = (timings[i] as { median: number }).median;
      rows.push([s.label, fmt(ms, 3), fmt(1000 / ms, 3), fmt(base / ms, 2), fmt(base1 / ms, 2), checks.slice(3 * i, 3 * i + 3).every(Boolean) ? '✓ same bits' : '✗ differ']);
    });

    // The coordinator's own cost: payloads, and empty jobs through Redis.
    const chunks = Array.from({ length: Math.ceil(job.tasks.length / CHUNK) }, (_, i) => ({ ...job, tasks: job.tasks.slice(i * CHUNK, (i + 1) * CHUNK) }));
    const encode = measure(() => chunks.map((c) => mg.distributed.decodePayload(mg.distributed.encodePayload(c))), { repeats: ctx.repeats });
    const results = reference;
    const decode = measure(() => mg.distributed.decodePayload(mg.distributed.encodePayload(results)), { repeats: ctx.repeats });
    const one = pools[0].exec;
    const tripSamples: number[] = [];
    for (let r = 0; r < 5 * ctx.repeats; r++) {
      const t0 = performance.now();
      await one.run({ ...job, tasks: [] });
      tripSamples.push(performance.now() - t0);
    }
    tripSamples.sort((a, b) => a - b);
    const tripMs = tripSamples[tripSamples.length >> 1];
    return [
      {
        title: `iMAML meta-batches through a BullMQ queue on Redis (the default job: ${cfg.metaBatch} tasks, chunks of ${CHUNK}, float32; ms per meta-batch)`,
        headers: ['where the tasks run', 'ms per meta-batch', 'meta-batches/s (≈ iterations/s)', 'speed-up vs default', 'speed-up vs 1 thread', 'results vs one process'],
        rows,
        notes: [
          'This machine has 2 cores, and one process already uses both (its batched kernels run on 2 threads), so on one machine the queue can only add its overhead; against one process on one thread, 2 worker processes can give at most about 2× (less: 5 jobs split 3 + 2, and Redis and the coordinator share the cores), and 4 processes take turns. On several machines each worker brings its own cores.',
          `A meta-batch is ${Math.ceil(cfg.metaBatch / CHUNK)} jobs of ${CHUNK} tasks; each job is one vmapped, jitted pass on a worker (its jit recordings are made on the first jobs, excluded by a warm-up).`,
          `The "one process" rows run the meta-batch as one vmapped pass of ${cfg.metaBatch} tasks; a queue job is a pass of ${CHUNK}, which costs more per task (fewer, smaller kernels per call).`,
        ],
      },
      {
        title: 'Coordinator overhead per meta-batch (ms)',
        headers: ['part', 'ms'],
        rows: [
          [`encode + decode the ${chunks.length} job payloads (θ and the tasks; JSON + safetensors blob)`, fmt(encode.median, 3)],
          [`encode + decode the ${results.length} results (meta-gradients)`, fmt(decode.median, 3)],
          ['one empty job through Redis and a worker, and back (round trip)', fmt(tripMs, 3)],
        ],
        notes: ['Jobs of a meta-batch are submitted at once (addBulk) and awaited together, so the round trip is paid about once per meta-batch, not per job.'],
      },
    ];
  } finally {
    for (const p of pools) await p.exec.close();
    await local.close();
    for (const w of workers) w.kill('SIGTERM');
    await new Promise((res) => setTimeout(res, 500));
    await redis.stop();
  }
}
