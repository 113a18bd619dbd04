/**
 * A real Redis server for tests: `redis-server` (Debian's package; `.ci/run` installs it) on a
 * free loopback port, in a temporary directory, stopped at the end. Every wait is bounded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** A running server. */
export interface TestRedis {
  /** Its port. */
  readonly port: number;
  /** redis://127.0.0.1:port/0 (with the password when one is set). */
  readonly url: string;
  /** Its data directory. */
  readonly dir: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and directory. */
  restart(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when `port` accepts a PING, or rejects after `ms`. */
async function waitForPing(port: number, ms: number, tls: boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const args = ['-p', String(port), ...(tls ? ['--tls', '--insecure'] : []), 'ping'];
    const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 2000 });
    if (r.stdout?.includes('PONG') || r.stdout?.includes('NOAUTH')) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`redis-server on port ${port} did not answer within ${ms} ms`);
}

/** Options of {@link startRedis}. */
export interface StartOptions {
  /** requirepass. */
  password?: string;
  /** Append-only persistence with fsync on every write (so a restart keeps the jobs). */
  persist?: boolean;
  /** TLS only, with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

/** Starts a server; throws with the install command when redis-server is missing. */
export async function startRedis(opts: StartOptions = {}): Promise<TestRedis> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error('these tests need redis-server (Debian: apt-get install -y redis-server; .ci/run installs it)');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-redis-'));
  const args = [
    '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--logfile', path.join(dir, 'log'),
    '--appendonly', opts.persist ? 'yes' : 'no', ...(opts.persist ? ['--appendfsync', 'always'] : []),
    ...(opts.password ? ['--requirepass', opts.password] : []),
    ...(opts.tls ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-auth-clients', 'no'] : ['--port', String(port)]),
  ];
  let child: ChildProcess;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(port, 10_000, opts.tls !== undefined);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    port,
    url: `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}/0`,
    dir,
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stop();
      await start();
    },
  };
}
