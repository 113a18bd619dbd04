/**
 * PyTorch/TorchOpt and JAX/JAXopt as benchmark peers: bench/python/peer.py in a long-lived Python
 * process, driven one JSON line at a time over stdin/stdout, so its timing rounds interleave with
 * metagrad's. The Python is found at `$METAGRAD_BENCH_PYTHON`, else `../peers/bin/python` (the
 * venv the developers' guide suggests), else `python3`; a missing interpreter or package blanks
 * the peer's column with the reason.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The two Python peers. */
export type PythonFramework = 'torch' | 'jax';

/** A named float64 array with its shape, as sent to the peer. */
export interface PeerTensor {
  shape: readonly number[];
  values: ArrayLike<number>;
}

interface Reply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/** One running peer process. */
export class PythonPeer {
  private readonly waiting: ((r: Reply) => void)[] = [];
  private exited: string | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    /** Package versions, e.g. { torch: '2.15.0', torchopt: '0.7.3' }. */
    readonly versions: Record<string, string> = {},
    /** Threads the peer computes with. */
    readonly threads = 1,
  ) {}

  /** The interpreter the peers run under. */
  static python(): string {
    if (process.env.METAGRAD_BENCH_PYTHON) return process.env.METAGRAD_BENCH_PYTHON;
    const venv = join(__dirname, '..', '..', 'peers', 'bin', 'python');
    return existsSync(venv) ? venv : 'python3';
  }

  /** Starts a peer; resolves to the peer or to the reason it is unavailable. */
  static async start(framework: PythonFramework, threads: 1 | 'default'): Promise<PythonPeer | string> {
    const python = PythonPeer.python();
    const child = spawn(python, [join(__dirname, 'python', 'peer.py'), framework, String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const lines = createInterface({ input: child.stdout });
    const first = new Promise<Reply>((resolve) => {
      child.once('error', (e) => resolve({ ok: false, error: `cannot run ${python}: ${e.message}` }));
      child.once('exit', (code) => resolve({ ok: false, error: `${python} exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}` }));
      lines.once('line', (l) => resolve(JSON.parse(l) as Reply));
    });
    const hello = await first;
    if (!hello.ok) {
      child.kill();
      return hello.error ?? 'unknown failure';
    }
    const peer = new PythonPeer(child, hello.versions as Record<string, string>, hello.threads as number);
    lines.on('line', (l) => peer.waiting.shift()?.(JSON.parse(l) as Reply));
    child.on('exit', (code) => {
      peer.exited = `peer exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}`;
      for (const w of peer.waiting.splice(0)) w({ ok: false, error: peer.exited });
    });
    return peer;
  }

  private async request(req: Record<string, unknown>): Promise<Reply> {
    if (this.exited) throw new Error(this.exited);
    const reply = new Promise<Reply>((resolve) => this.waiting.push(resolve));
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await reply;
    if (!r.ok) throw new Error(r.error ?? 'peer request failed');
    return r;
  }

  /**
   * Builds workload `kind` on `tensors` (cast to `dtype`) and runs it once (compiling it under
   * jax.jit); returns its outputs flattened, for the agreement check.
   */
  async setup(name: string, kind: string, dtype: string, tensors: Record<string, PeerTensor>, config: Record<string, unknown> = {}): Promise<number[]> {
    const enc: Record<string, { shape: readonly number[]; b64: string }> = {};
    for (const [k, t] of Object.entries(tensors)) {
      enc[k] = { shape: t.shape, b64: Buffer.from(Float64Array.from(t.values).buffer).toString('base64') };
    }
    return (await this.request({ op: 'setup', name, kind, dtype, tensors: enc, config })).result as number[];
  }

  /** Warms `name` up and returns a sampler of timed repeats (mean ms per call, timed in Python). */
  async sampler(name: string, warmupMs: number, minRepeatMs: number): Promise<(() => Promise<number>) & { inner: number }> {
    const { inner } = await this.request({ op: 'calibrate', name, warmup_ms: warmupMs, min_repeat_ms: minRepeatMs });
    return Object.assign(async () => (await this.request({ op: 'sample', name })).ms as number, { inner: inner as number });
  }

  /** Frees a workload's state in the peer. */
  async drop(name: string): Promise<void> {
    await this.request({ op: 'drop', name });
  }

  /** Ends the process. */
  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
