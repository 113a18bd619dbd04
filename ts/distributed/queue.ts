/**
 * Work spread over worker processes through a BullMQ queue on Redis, in the spirit of TorchOpt's
 * `parallelize(partitioner, reducer)`: workers register named functions; a coordinator submits a
 * batch of inputs as one job each and gets the results back in submission order, reduced as asked.
 * BullMQ does the scheduling, the retries and the detection of workers that died mid-job (a job
 * whose worker stops renewing its lock is handed to another worker); this module adds the payload
 * format, the checks and the error messages. Only registered functions run: a job is data.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { MetagradError } from '../errors';
import { isTensor, type Tensor } from '../tensor/tensor';
import { tensor } from '../ops/creation';
import { type EncodedPayload, type PayloadLimits, decodePayload, encodePayload } from './payload';

/** Raised when distributed work fails: Redis unreachable, a task that failed or timed out. */
export class DistributedError extends MetagradError {
  /** The index of the failed task in its batch, when one failed. */
  readonly taskIndex: number | undefined;
  constructor(message: string, taskIndex?: number) {
    super(message);
    this.name = 'DistributedError';
    this.taskIndex = taskIndex;
  }
}

/** Where the queue lives. */
export interface QueueConnection {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  url: string;
  /** The queue's name: one per run, so two runs on one Redis do not mix. */
  queue: string;
  /**
   * Extra ioredis options, e.g. `{ tls: { ca } }` for a certificate to trust (typed loosely so
   * that the declarations do not require ioredis, an optional peer dependency).
   */
  redis?: Readonly<Record<string, unknown>>;
  /** How long to wait for Redis at start (default 5000 ms). */
  connectTimeoutMs?: number;
}

// BullMQ and ioredis are optional peer dependencies, loaded on first use: `npm install metagrad`
// does not bring them (nor their install scripts), and `require('metagrad')` does not pay for them.
type BullMQ = typeof import('bullmq');
type IORedis = typeof import('ioredis').default;
function optionalPeer<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new DistributedError(`mg.distributed needs the packages bullmq and ioredis, and '${name}' is not installed: npm install bullmq ioredis`);
  }
}
const bullmq = (): BullMQ => optionalPeer<BullMQ>('bullmq');
const Redis = (): IORedis => optionalPeer<typeof import('ioredis')>('ioredis').default;

/** Prefix of every Redis key (BullMQ's `prefix`). */
const PREFIX = 'metagrad';

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}

/** Checks a connection's fields and returns ioredis options for it. */
function redisOptions(fn: string, c: QueueConnection): { url: string; options: RedisOptions } {
  if (typeof c !== 'object' || c === null) throw new TypeError(`${fn}: expected options { url, queue, … }, got ${String(c)}`);
  if (typeof c.url !== 'string' || !/^rediss?:\/\//.test(c.url)) throw new TypeError(`${fn}: url must be a redis:// or rediss:// URL, got ${JSON.stringify(c.url)}`);
  if (typeof c.queue !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(c.queue)) throw new TypeError(`${fn}: queue must be a name of 1-100 letters, digits, '.', '_' or '-', got ${JSON.stringify(c.queue)}`);
  // BullMQ's workers need maxRetriesPerRequest: null (commands wait for a reconnect instead of failing).
  return { url: c.url, options: { maxRetriesPerRequest: null, connectTimeout: c.connectTimeoutMs ?? 5000, ...(c.redis as RedisOptions | undefined), lazyConnect: true } };
}

/** Connects once to check that Redis answers; the error says where and why not. */
async function reachable(fn: string, url: string, options: RedisOptions, timeoutMs: number): Promise<void> {
  const probe = new (Redis())(url, { ...options, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause = '';
  probe.on('error', (e: Error) => {
    cause ||= e.message; // the first error says why (ECONNREFUSED, ENOTFOUND, NOAUTH, a TLS failure)
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    throw new DistributedError(`${fn}: cannot reach Redis at ${redactUrl(url)}: ${cause || (e as Error).message}`);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

/** A connection factory: BullMQ's queues, events and workers each need their own client. */
function clients(url: string, options: RedisOptions): () => InstanceType<IORedis> {
  return () => {
    const r = new (Redis())(url, { ...options, lazyConnect: false });
    r.on('error', () => {}); // ioredis reconnects by itself; BullMQ reports what fails
    return r;
  };
}

/** A function a worker can run: input and output are payload trees (see ./payload.ts). */
export type TaskFunction = (input: unknown) => unknown;

/** Options of {@link createWorker}. */
export interface WorkerOptions extends QueueConnection {
  /** The functions this worker runs, by name. */
  functions: Record<string, TaskFunction>;
  /** Jobs run at once in this process (default 1; the functions are synchronous number crunching). */
  concurrency?: number;
  /** Payload limits for inputs and outputs. */
  limits?: PayloadLimits;
  /**
   * How long a job stays locked to this worker without a renewal (default 60000 ms). A worker
   * that dies stops renewing, and after this time its job goes to another worker. A function
   * that runs longer than this without returning to the event loop looks dead too.
   */
  lockDurationMs?: number;
  /** How often BullMQ looks for jobs whose lock has expired (default lockDurationMs / 2). */
  stalledIntervalMs?: number;
}

/** A running worker. */
export interface DistributedWorker {
  /** Stops taking jobs, waits for the running ones, disconnects. */
  close(): Promise<void>;
}

/** The data of a job. */
interface JobData {
  fn: string;
  index: number;
  session: string;
  payload: EncodedPayload;
}

/** Starts a worker that runs the registered functions on the queue's jobs. */
export async function createWorker(opts: WorkerOptions): Promise<DistributedWorker> {
  const fn = 'distributed.createWorker';
  const { url, options } = redisOptions(fn, opts);
  const functions = opts.functions;
  if (typeof functions !== 'object' || functions === null || Object.keys(functions).length === 0 || Object.values(functions).some((f) => typeof f !== 'function')) {
    throw new TypeError(`${fn}: functions must be an object of named functions, got ${String(functions)}`);
  }
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`${fn}: concurrency must be an integer >= 1, got ${concurrency}`);
  const lockDuration = opts.lockDurationMs ?? 60_000;
  if (!(lockDuration >= 100)) throw new RangeError(`${fn}: lockDurationMs must be >= 100, got ${lockDuration}`);
  await reachable(fn, url, options, opts.connectTimeoutMs ?? 5000);
  const names = Object.keys(functions);
  const { UnrecoverableError, Worker } = bullmq();
  const processJob = async (job: Job): Promise<EncodedPayload> => {
    const data = job.data as Partial<JobData>;
    if (typeof data !== 'object' || data === null || typeof data.fn !== 'string' || typeof data.index !== 'number') {
      throw new UnrecoverableError('distributed: a malformed job (expected { fn, index, session, payload })');
    }
    if (!Object.prototype.hasOwnProperty.call(functions, data.fn)) {
      throw new UnrecoverableError(`distributed: no function '${data.fn}' is registered on this worker (registered: ${names.join(', ')})`);
    }
    let input: unknown;
    try {
      input = decodePayload(data.payload, opts.limits);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    const out = await functions[data.fn](input);
    return encodePayload(out, opts.limits);
  };
  // BullMQ leaves connections it was given open: they are closed here after it.
  const connection = clients(url, options)();
  const worker = new Worker(opts.queue, processJob, {
    connection,
    prefix: PREFIX,
    concurrency,
    lockDuration,
    stalledInterval: opts.stalledIntervalMs ?? Math.max(50, Math.floor(lockDuration / 2)),
    maxStalledCount: 3,
    autorun: true,
  });
  worker.on('error', () => {}); // connection errors: ioredis reconnects; job errors reach the coordinator
  await worker.waitUntilReady();
  return {
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

/** Options of {@link createCoordinator}. */
export interface CoordinatorOptions extends QueueConnection {
  /** Tries per task before it counts as failed (default 3: a worker that died, then two more). */
  attempts?: number;
  /** How long a batch may take before it fails (default 30 minutes). */
  timeoutMs?: number;
  /** Payload limits for inputs and outputs. */
  limits?: PayloadLimits;
}

/** How {@link Coordinator.map} combines the results. */
export type Reduction = 'list' | 'sum' | 'mean';

/** Submits batches to the workers of a queue. */
export interface Coordinator {
  /** This coordinator's session id (part of every job id). */
  readonly session: string;
  /** Runs `fn` on each input on the workers; the results in input order. */
  map(fn: string, inputs: readonly unknown[], opts?: { reduce?: 'list' }): Promise<unknown[]>;
  /** Runs `fn` on each input and sums (or averages) the results in input order (trees of numbers, tensors and typed arrays, summed in float64). */
  map(fn: string, inputs: readonly unknown[], opts: { reduce: 'sum' | 'mean' }): Promise<unknown>;
  /** Disconnects (the workers keep running). */
  close(): Promise<void>;
}

/**
 * Connects to the queue as its coordinator. Jobs left waiting by an earlier coordinator of the
 * same queue (a run that was killed) are discarded first: one coordinator per queue.
 */
export async function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  const fnName = 'distributed.createCoordinator';
  const { url, options } = redisOptions(fnName, opts);
  const attempts = opts.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`${fnName}: attempts must be an integer >= 1, got ${attempts}`);
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  if (!(timeoutMs > 0)) throw new RangeError(`${fnName}: timeoutMs must be > 0, got ${timeoutMs}`);
  await reachable(fnName, url, options, opts.connectTimeoutMs ?? 5000);
  const { Queue, QueueEvents } = bullmq();
  const connect = clients(url, options);
  const [queueConnection, eventsConnection] = [connect(), connect()];
  const queue = new Queue(opts.queue, { connection: queueConnection, prefix: PREFIX });
  const events = new QueueEvents(opts.queue, { connection: eventsConnection, prefix: PREFIX });
  queue.on('error', () => {});
  events.on('error', () => {});
  // BullMQ's waitUntilFinished adds a listener per job of a batch (removed when it finishes).
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  await queue.drain(true);
  const session = randomUUID();
  let batches = 0;

  const map = async (fn: string, inputs: readonly unknown[], mopts: { reduce?: Reduction } = {}): Promise<unknown> => {
    if (typeof fn !== 'string' || fn === '') throw new TypeError(`distributed.map: fn must be a function name, got ${String(fn)}`);
    if (!Array.isArray(inputs)) throw new TypeError(`distributed.map: inputs must be an array, got ${String(inputs)}`);
    const reduce = mopts.reduce ?? 'list';
    if (!['list', 'sum', 'mean'].includes(reduce)) throw new RangeError(`distributed.map: reduce must be 'list', 'sum' or 'mean', got ${JSON.stringify(reduce)}`);
    const batch = batches++;
    const payloads = inputs.map((x) => encodePayload(x, opts.limits));
    const jobs = await queue.addBulk(payloads.map((payload, index) => ({
      name: fn,
      data: { fn, index, session, payload } satisfies JobData,
      opts: { jobId: `${session}-${batch}-${index}`, attempts, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
    })));
    const deadline = Date.now() + timeoutMs;
    const settled = await Promise.allSettled(jobs.map((j) => j.waitUntilFinished(events, Math.max(1, deadline - Date.now()))));
    const results = settled.map((s, index) => {
      if (s.status === 'fulfilled') return decodePayload(s.value, opts.limits);
      const reason = (s.reason as Error).message ?? String(s.reason);
      if (/timed out|ttl/i.test(reason)) {
        throw new DistributedError(`distributed.map: task ${index} of '${fn}' did not finish within ${timeoutMs} ms (is a worker running on queue '${opts.queue}' at ${redactUrl(url)}?)`, index);
      }
      throw new DistributedError(`distributed.map: task ${index} of '${fn}' failed on a worker: ${reason}`, index);
    });
    return reduce === 'list' ? results : reduceTrees(results, reduce);
  };
  return {
    session,
    map: map as Coordinator['map'],
    close: async () => {
      await events.close();
      await queue.close();
      queueConnection.disconnect();
      eventsConnection.disconnect();
    },
  };
}

/** Sums (or averages) trees of the same structure, leaf by leaf in order, in float64. */
export function reduceTrees(trees: readonly unknown[], how: 'sum' | 'mean'): unknown {
  if (trees.length === 0) throw new RangeError(`distributed.map: cannot ${how} zero results`);
  const scale = how === 'mean' ? 1 / trees.length : 1;
  const at = (where: string, nodes: unknown[]): unknown => {
    const first = nodes[0];
    if (typeof first === 'number') {
      let s = 0;
      for (const n of nodes) {
        if (typeof n !== 'number') throw new TypeError(`distributed.map: results differ in structure at ${where}`);
        s += n;
      }
      return s * scale;
    }
    const arrays = nodes.map((n) => (isTensor(n) ? (n as Tensor).data : n));
    const a0 = arrays[0];
    if (a0 instanceof Float32Array || a0 instanceof Float64Array) {
      const acc = new Float64Array(a0.length);
      for (const a of arrays) {
        if (!(a instanceof Float32Array || a instanceof Float64Array) || a.length !== acc.length) throw new TypeError(`distributed.map: results differ in structure at ${where}`);
        for (let i = 0; i < a.length; i++) acc[i] += a[i];
      }
      const out = a0 instanceof Float32Array ? Float32Array.from(acc, (v) => v * scale) : acc.map((v) => v * scale);
      return isTensor(first) ? tensor(out, { shape: [...(first as Tensor).shape] }) : out;
    }
    if (Array.isArray(first)) return first.map((_, i) => at(`${where}[${i}]`, nodes.map((n) => (n as unknown[])[i])));
    if (typeof first === 'object' && first !== null) {
      return Object.fromEntries(Object.keys(first).map((k) => [k, at(`${where}.${k}`, nodes.map((n) => (n as Record<string, unknown>)[k]))]));
    }
    throw new TypeError(`distributed.map: cannot ${how} ${first === null ? 'null' : typeof first} at ${where}`);
  };
  return at('result', [...trees]);
}
