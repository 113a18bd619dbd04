/**
 * mg.distributed and `metagrad imaml --queue` on a real Redis (redis-server on a free loopback
 * port) with real worker processes: results in submission order, reductions, payload checks,
 * faults (a worker killed mid-task, a task that throws, Redis unreachable or restarted, the
 * coordinator killed and resumed), passwords and TLS, and a distributed run equal to the local one.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { type TestRedis, freePort, startRedis } from './helpers/redis';

const root = path.resolve(__dirname, '..');
const WORKER = path.join(__dirname, 'fixtures', 'distributed-worker.ts');
const CLI = path.join(root, 'cli', 'ts', 'main.ts');
const children = new Set<ChildProcess>();

/** Starts a process and resolves once it prints `ready` (or a line matching `ready`), within 30 s. */
async function startProcess(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not become ready within 30 s: ${out}${err}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += String(d);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before it was ready: ${out}${err}`));
    });
  });
  return child;
}

const testWorker = (url: string, queue: string, lockMs?: number): Promise<ChildProcess> => startProcess([WORKER, url, queue, ...(lockMs ? [String(lockMs)] : [])], /ready/);

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe('mg.distributed on a real Redis with worker processes', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all([...children].map((c) => kill(c, 'SIGKILL')));
    await redis.stop();
  });

  it('map returns each task\'s result in submission order; sum and mean reduce in that order; two workers share the work', async () => {
    const workers = await Promise.all([testWorker(redis.url, 'order'), testWorker(redis.url, 'order')]);
    const c = await mg.distributed.createCoordinator({ url: redis.url, queue: 'order', timeoutMs: 60_000 });
    try {
      const inputs = Array.from({ length: 12 }, (_, i) => mg.tensor([i, -i, 0.5 * i], { dtype: 'float64' }));
      const out = (await c.map('square', inputs)) as mg.Tensor[];
      assert.deepEqual(out.map((t) => [...t.data]), inputs.map((t) => [...t.data].map((v) => v * v)));
      assert.equal(out[0].dtype, 'float64');
      const sum = (await c.map('square', inputs, { reduce: 'sum' })) as mg.Tensor;
      assert.deepEqual([...sum.data], [506, 506, 126.5]);
      const mean = (await c.map('square', inputs, { reduce: 'mean' })) as mg.Tensor;
      assert.deepEqual([...mean.data], [506 / 12, 506 / 12, 126.5 / 12]);
      // Slow tasks go to both workers.
      const who = (await c.map('slow', Array.from({ length: 6 }, (_, i) => ({ ms: 300, i })))) as { i: number; pid: number }[];
      assert.deepEqual(who.map((r) => r.i), [0, 1, 2, 3, 4, 5]);
      assert.equal(new Set(who.map((r) => r.pid)).size, 2);
    } finally {
      await c.close();
      await Promise.all(workers.map((w) => kill(w)));
    }
  });

  it('a task that throws reaches the coordinator with its index; an unregistered function is named; bad payloads are refused before sending', async () => {
    const w = await testWorker(redis.url, 'errors');
    const c = await mg.distributed.createCoordinator({ url: redis.url, queue: 'errors', attempts: 2, timeoutMs: 30_000 });
    try {
      await assert.rejects(c.map('fail', [7]), (e: Error) => e instanceof mg.distributed.DistributedError && /task 0 of 'fail' failed on a worker: refused input 7/.test(e.message) && (e as mg.distributed.DistributedError).taskIndex === 0);
      await assert.rejects(c.map('rm -rf', [1]), /no function 'rm -rf' is registered on this worker \(registered: square, slow, fail\)/);
      await assert.rejects(c.map('square', [() => 1]), /cannot send a function at payload/);
      await assert.rejects(c.map('square', [{ $tensor: 0 }]), /object keys may not start with '\$'/);
      const big = await mg.distributed.createCoordinator({ url: redis.url, queue: 'errors', limits: { maxBytes: 1000 } });
      await assert.rejects(big.map('square', [mg.zeros([1000])]), /more than the limit of 1000/);
      await big.close();
    } finally {
      await c.close();
      await kill(w);
    }
  });

  it('payloads: exact bits both ways (NaN and infinities included), typed arrays, nested trees; malformed ones are named', () => {
    const value = { a: mg.tensor([1.5, NaN, -Infinity]), b: [Float64Array.of(Math.PI), Int32Array.of(-3)], c: { s: 'x', n: 0.1, z: Infinity, t: true, u: null } };
    const back = mg.distributed.decodePayload(mg.distributed.encodePayload(value)) as typeof value;
    assert.deepEqual([...back.a.data], [1.5, NaN, -Infinity]);
    assert.equal(back.a.dtype, 'float32');
    assert.deepEqual(back.b[0], Float64Array.of(Math.PI));
    assert.deepEqual(back.b[1], Int32Array.of(-3));
    assert.deepEqual(back.c, { s: 'x', n: 0.1, z: Infinity, t: true, u: null });
    assert.throws(() => mg.distributed.decodePayload({ json: '{"$tensor": 5}', blob: mg.distributed.encodePayload(1).blob }), /refers to blob entry 5, which does not exist/);
    assert.throws(() => mg.distributed.decodePayload({ json: 3 }), /string fields json and blob/);
    assert.throws(() => mg.distributed.encodePayload(new Map()), /cannot send a Map/);
    const deep: unknown[] = [];
    let at = deep;
    for (let i = 0; i < 100; i++) at = (at[0] = []) as unknown[];
    assert.throws(() => mg.distributed.encodePayload(deep), /nested deeper than 64 levels/);
  });

  it('a worker killed with SIGKILL mid-task: the task is retried on another worker, nothing lost or counted twice', async () => {
    // A short lock so that the dead worker's job is handed on within seconds.
    const a = await testWorker(redis.url, 'kill', 1000);
    const c = await mg.distributed.createCoordinator({ url: redis.url, queue: 'kill', timeoutMs: 60_000 });
    try {
      // a takes task 0 (task 1 waits: one job at a time) and is killed half a second into it.
      const pending = c.map('slow', [{ ms: 3000, i: 0 }, { ms: 100, i: 1 }]);
      await new Promise((res) => setTimeout(res, 500));
      await kill(a, 'SIGKILL');
      const b = await testWorker(redis.url, 'kill', 1000);
      const out = (await pending) as { i: number; pid: number }[];
      assert.deepEqual(out.map((r) => r.i), [0, 1]);
      assert.deepEqual(out.map((r) => r.pid), [b.pid, b.pid], 'both from the surviving worker: the killed task was retried, once');
      await kill(b);
    } finally {
      await c.close();
    }
  });

  it('Redis restarted mid-batch (with persistence): workers and coordinator reconnect and the batch completes', async () => {
    const durable = await startRedis({ persist: true });
    const w = await testWorker(durable.url, 'restart');
    const c = await mg.distributed.createCoordinator({ url: durable.url, queue: 'restart', timeoutMs: 60_000 });
    try {
      const pending = c.map('slow', Array.from({ length: 3 }, (_, i) => ({ ms: 700, i })));
      await new Promise((res) => setTimeout(res, 300));
      await durable.restart();
      const out = (await pending) as { i: number }[];
      assert.deepEqual(out.map((r) => r.i), [0, 1, 2]);
    } finally {
      await c.close();
      await kill(w);
      await durable.stop();
    }
  });

  it('Redis unreachable at start, or a wrong password: a clear error, at once', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await assert.rejects(mg.distributed.createCoordinator({ url: `redis://127.0.0.1:${port}/0`, queue: 'q' }), new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}/0: .*ECONNREFUSED`));
    await assert.rejects(mg.distributed.createWorker({ url: `redis://127.0.0.1:${port}/0`, queue: 'q', functions: { f: () => 1 } }), /cannot reach Redis/);
    assert.ok(Date.now() - t0 < 10_000);
    const locked = await startRedis({ password: 's3cret' });
    try {
      await assert.rejects(mg.distributed.createCoordinator({ url: locked.url.replace('s3cret', 'wrong'), queue: 'q' }), (e: Error) => /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/.test(e.message) && /WRONGPASS|invalid password/i.test(e.message) && !e.message.includes('wrong@'));
      const w = await testWorker(locked.url, 'auth');
      const c = await mg.distributed.createCoordinator({ url: locked.url, queue: 'auth' });
      assert.deepEqual([...((await c.map('square', [mg.tensor([3])])) as mg.Tensor[])[0].data], [9]);
      await c.close();
      await kill(w);
    } finally {
      await locked.stop();
    }
    await assert.rejects(mg.distributed.createCoordinator({ url: 'http://x', queue: 'q' }), /url must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('TLS (rediss://) with a certificate the client is told to trust', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { timeout: 30_000 });
    assert.equal(made.status, 0, `openssl: ${String(made.stderr)}`);
    const secure = await startRedis({ tls: { cert, key } });
    try {
      const w = await startProcess([WORKER, secure.url, 'tls'], /ready/, { NODE_EXTRA_CA_CERTS: cert });
      const c = await mg.distributed.createCoordinator({ url: secure.url, queue: 'tls', redis: { tls: { ca: fs.readFileSync(cert) } } });
      assert.deepEqual([...((await c.map('square', [mg.tensor([4])])) as mg.Tensor[])[0].data], [16]);
      await c.close();
      await kill(w);
      // Without trusting the certificate: refused, and said so.
      await assert.rejects(mg.distributed.createCoordinator({ url: secure.url, queue: 'tls' }), /cannot reach Redis at rediss:.*(self[- ]signed|certificate)/i);
    } finally {
      await secure.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metagrad imaml/fewshot --queue with metagrad worker processes', function () {
  this.timeout(300_000);
  let redis: TestRedis;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-queue-'));
  const tiny = (out: string, ...extra: string[]): string[] => [CLI, 'imaml', '--iterations', '4', '--meta-batch', '6', '--inner-steps', '2', '--eval-tasks', '4', '--eval-every', '2', '--checkpoint-every', '1', '--json', '--out', out, ...extra];
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all([...children].map((c) => kill(c, 'SIGKILL')));
    await redis.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const cliWorker = (queue: string): Promise<ChildProcess> => startProcess([CLI, 'worker', '--queue', redis.url, '--queue-name', queue, '--json'], /"ready":true/);

  it('gives the numbers of the local run exactly, with chunks over two workers; the coordinator killed mid-run resumes to them too', async () => {
    const local = path.join(tmp, 'local');
    assert.equal(run([...tiny(local), '--workers', '0']).status, 0);
    const workers = await Promise.all([cliWorker('run1'), cliWorker('run1')]);
    const dist = path.join(tmp, 'dist');
    const r = run([...tiny(dist), '--queue', redis.url, '--queue-name', 'run1', '--chunk-size', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.readFileSync(path.join(local, 'model.safetensors')).equals(fs.readFileSync(path.join(dist, 'model.safetensors'))), 'identical meta-parameters');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dist, 'metrics.json'), 'utf8')).metaTestMse, JSON.parse(fs.readFileSync(path.join(local, 'metrics.json'), 'utf8')).metaTestMse);

    // The coordinator killed after its second checkpoint, then resumed: the same numbers.
    const killed = path.join(tmp, 'killed');
    const coord = spawn(process.execPath, ['--import', 'tsx', ...tiny(killed), '--queue', redis.url, '--queue-name', 'run1', '--chunk-size', '2'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(coord);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no second iteration within 120 s: ${out}`)), 120_000);
      coord.stdout?.on('data', (d: Buffer) => {
        out += String(d);
        if (/"iteration":2[,}]/.test(out)) {
          clearTimeout(timer);
          coord.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((res) => coord.once('exit', res));
    const resumed = run([...tiny(killed), '--queue', redis.url, '--queue-name', 'run1', '--chunk-size', '2', '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(fs.readFileSync(path.join(local, 'model.safetensors')).equals(fs.readFileSync(path.join(killed, 'model.safetensors'))), 'resumed run: identical meta-parameters');
    await Promise.all(workers.map((w) => kill(w)));
  });

  it('fewshot --queue: the numbers of the local run', async () => {
    const w = await cliWorker('fs');
    const few = (out: string, ...extra: string[]): string[] => [CLI, 'fewshot', '--iterations', '2', '--meta-batch', '2', '--ways', '2', '--queries', '2', '--inner-steps', '2', '--channels', '2', '--test-episodes', '3', '--curve-episodes', '1', '--eval-every', '1', '--json', '--out', out, ...extra];
    const [local, dist] = [path.join(tmp, 'fs-local'), path.join(tmp, 'fs-dist')];
    assert.equal(run([...few(local), '--workers', '0']).status, 0);
    const r = run([...few(dist), '--queue', redis.url, '--queue-name', 'fs']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.readFileSync(path.join(local, 'model.safetensors')).equals(fs.readFileSync(path.join(dist, 'model.safetensors'))), 'identical meta-parameters');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dist, 'metrics.json'), 'utf8')).accuracy, JSON.parse(fs.readFileSync(path.join(local, 'metrics.json'), 'utf8')).accuracy);
    await kill(w);
  });

  it('no Redis: the coordinator and the worker end with a one-line error, not a hang', async () => {
    const port = await freePort();
    const r = run([...tiny(path.join(tmp, 'nohost')), '--queue', `redis://127.0.0.1:${port}/0`]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /metagrad: error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const w = run([CLI, 'worker', '--queue', `redis://127.0.0.1:${port}/0`]);
    assert.notEqual(w.status, 0);
    assert.match(w.stderr, /cannot reach Redis/);
  });
});
