/**
 * The `metagrad` command line end to end, on tiny configurations: the files of an iMAML run appear
 * and parse, --resume and an interrupted run reproduce the uninterrupted run bit for bit, worker
 * threads do not change the numbers, and bad flags or files end with a message and a non-zero
 * exit code, never a stack trace.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Ran, inProcess } from './helpers/cli';
import { decodeSafetensors, encodeSafetensors } from '../ts/io/safetensors';
import { Generator, tensor } from '../ts/index';
import { shiftDigits } from '../cli/ts/mnist';

const root = path.resolve(__dirname, '..');
const CLI = ['--import', 'tsx', path.join(root, 'cli', 'ts', 'main.ts')];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-cli-'));

/** A tiny iMAML run: 4 iterations of 3 tasks, 2 inner steps, 4 held-out tasks. */
function tiny(out: string, ...extra: string[]): string[] {
  return ['imaml', '--iterations', '4', '--meta-batch', '3', '--inner-steps', '2', '--eval-tasks', '4', '--eval-every', '2', '--log-every', '1', '--checkpoint-every', '2', '--workers', '0', '--json', '--out', out, ...extra];
}

/** Runs the real executable (a child process). */
function cli(args: string[]): Ran {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

interface Metrics {
  iterations: number;
  seconds: number;
  seed: number;
  metaTestMse: { imaml: number; pretrained: number; scratch: number };
}

/** History without wall-clock times (which differ between runs). */
function history(dir: string): unknown[] {
  return fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds: _s, ...rest } = JSON.parse(l) as { seconds: number };
    return rest;
  });
}

function assertSameRun(a: string, b: string): void {
  assert.ok(fs.readFileSync(path.join(a, 'model.safetensors')).equals(fs.readFileSync(path.join(b, 'model.safetensors'))), 'identical meta-parameters');
  assert.deepEqual(readJson<Metrics>(path.join(b, 'metrics.json')).metaTestMse, readJson<Metrics>(path.join(a, 'metrics.json')).metaTestMse);
  assert.deepEqual(history(b), history(a));
}

function assertCleanError(r: Ran, message: RegExp): void {
  assert.notEqual(r.code, 0, 'non-zero exit');
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

describe('metagrad CLI', function () {
  this.timeout(60_000);
  const ref = path.join(tmp, 'ref');
  let refRun: Ran;

  before(() => {
    refRun = cli(tiny(ref));
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('imaml', () => {
    it('prints one JSON line per interval and writes metrics, history, charts and checkpoints that parse', () => {
      assert.equal(refRun.code, 0, refRun.stderr);
      const lines = refRun.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const progress = lines.filter((l) => typeof l.iteration === 'number');
      assert.deepEqual(progress.map((l) => l.iteration), [1, 2, 3, 4]);
      for (const l of progress) assert.ok(typeof l.metaLoss === 'number' && typeof l.itPerSec === 'number' && 'etaSeconds' in l);
      assert.ok(lines.some((l) => l.result !== undefined));

      const m = readJson<Metrics>(path.join(ref, 'metrics.json'));
      assert.equal(m.iterations, 4);
      assert.equal(m.seed, 0);
      assert.ok(m.seconds > 0);
      for (const k of ['imaml', 'pretrained', 'scratch'] as const) assert.ok(Number.isFinite(m.metaTestMse[k]) && m.metaTestMse[k] > 0, k);

      const h = history(ref) as { iteration: number; metaLoss: number; heldOutMse?: number }[];
      assert.deepEqual(h.map((r) => r.iteration), [1, 2, 3, 4]);
      assert.deepEqual(h.map((r) => r.heldOutMse !== undefined), [false, true, false, true]);
      assert.equal(h[3].heldOutMse, m.metaTestMse.imaml, 'the last held-out point is the final iMAML score');

      for (const f of ['curve.svg', 'fit.svg']) {
        const svg = fs.readFileSync(path.join(ref, f), 'utf8');
        assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        assert.match(svg, /<\/svg>\s*$/);
        assert.match(svg, /<path/);
      }
      assert.match(fs.readFileSync(path.join(ref, 'curve.svg'), 'utf8'), /iteration/);
      assert.match(fs.readFileSync(path.join(ref, 'fit.svg'), 'utf8'), /support points/);

      const ck = decodeSafetensors(fs.readFileSync(path.join(ref, 'checkpoint.safetensors')));
      const shapes = Object.fromEntries([...ck.tensors].map(([k, t]) => [k, [t.dtype, t.shape]]));
      assert.deepEqual(shapes['0.weight'], ['F32', [40, 1]]);
      assert.deepEqual(shapes['2.weight'], ['F32', [40, 40]]);
      assert.deepEqual(shapes['4.bias'], ['F32', [1]]);
      assert.equal([...ck.tensors.keys()].filter((k) => k.startsWith('optimizer.')).length, 12, "Adam's two moments per parameter");
      assert.equal(ck.metadata.iteration, '4');
      assert.equal(ck.metadata.format, 'metagrad-imaml-checkpoint/1');
      const model = decodeSafetensors(fs.readFileSync(path.join(ref, 'model.safetensors')));
      assert.deepEqual([...model.tensors.keys()], ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
      assert.deepEqual(model.tensors.get('2.bias')?.data, ck.tensors.get('2.bias')?.data);
    });

    it('--resume continues to exactly the numbers of the uninterrupted run', async () => {
      const dir = path.join(tmp, 'resume');
      const a = await inProcess(tiny(dir, '--iterations', '2'));
      assert.equal(a.code, 0, a.stderr);
      const b = await inProcess(tiny(dir, '--resume'));
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /resuming from .*checkpoint\.safetensors at iteration 2/);
      assertSameRun(ref, dir);
    });

    it('an interrupted run (SIGINT) exits 130 with a valid checkpoint, and --resume reproduces the uninterrupted run', async () => {
      const dir = path.join(tmp, 'sigint');
      const child: ChildProcess = spawn(process.execPath, [...CLI, ...tiny(dir)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      const code = await new Promise<number | null>((resolve) => {
        child.stdout?.on('data', (d: Buffer) => {
          // Interrupt as soon as the first iteration is reported.
          if (stdout === '') child.kill('SIGINT');
          stdout += d.toString();
        });
        child.on('exit', (c) => resolve(c));
      });
      assert.equal(code, 130, stdout);
      assert.match(stdout, /interrupted by SIGINT at iteration \d/);
      const ck = decodeSafetensors(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')));
      const at = Number(ck.metadata.iteration);
      assert.ok(at >= 1 && at < 4, `stopped at iteration ${at}`);
      assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary files left');
      // No --iterations: the planned 4 come from the checkpoint.
      const r = await inProcess(['imaml', '--out', dir, '--resume', '--workers', '0', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assertSameRun(ref, dir);
    });

    it('gives the same numbers on 2 worker threads as on the main thread', () => {
      const dir = path.join(tmp, 'workers');
      const r = cli(tiny(dir, '--workers', '2'));
      assert.equal(r.code, 0, r.stderr);
      assertSameRun(ref, dir);
    });

    it('--batching loop (tasks one by one) gives the meta-test table of the eager vmapped run, to float tolerance', async () => {
      const eager = path.join(tmp, 'vmap-eager');
      assert.equal((await inProcess(tiny(eager, '--no-jit'))).code, 0);
      const dir = path.join(tmp, 'loop');
      const r = await inProcess(tiny(dir, '--batching', 'loop'));
      assert.equal(r.code, 0, r.stderr);
      const [a, b] = [readJson<Metrics>(path.join(eager, 'metrics.json')), readJson<Metrics>(path.join(dir, 'metrics.json'))];
      for (const k of ['imaml', 'pretrained', 'scratch'] as const) {
        assert.ok(Math.abs(a.metaTestMse[k] - b.metaTestMse[k]) <= 1e-5 * Math.abs(a.metaTestMse[k]), `${k}: vmap ${a.metaTestMse[k]}, loop ${b.metaTestMse[k]}`);
      }
      // The default (the meta-gradients through mg.jit: native kernels, the fixed-size CG) agrees
      // to rounding, which these few float32 iterations of 5-step normal CG amplify a little.
      const j = readJson<Metrics>(path.join(ref, 'metrics.json'));
      for (const k of ['imaml', 'pretrained', 'scratch'] as const) {
        assert.ok(Math.abs(j.metaTestMse[k] - a.metaTestMse[k]) <= 2e-2 * Math.abs(a.metaTestMse[k]), `${k}: jit ${j.metaTestMse[k]}, eager ${a.metaTestMse[k]}`);
      }
      const hj = history(ref) as { metaLoss: number }[];
      const he = history(eager) as { metaLoss: number }[];
      assert.ok(Math.abs(hj[0].metaLoss - he[0].metaLoss) <= 1e-5 * Math.abs(he[0].metaLoss), `iteration 1: jit ${hj[0].metaLoss}, eager ${he[0].metaLoss}`);
      assertCleanError(await inProcess(['imaml', '--resume', '--out', eager, '--jit', '--workers', '0', '--json']), /--resume: the checkpoint was made with jit = false, but true was given/);
      const [ha, hb] = [he, history(dir) as { metaLoss: number }[]];
      ha.forEach((h, i) => assert.ok(Math.abs(h.metaLoss - hb[i].metaLoss) <= 1e-5 * Math.abs(h.metaLoss), `iteration ${i + 1}: ${h.metaLoss} vs ${hb[i].metaLoss}`));
      // The mode defines the run: resuming it in the other mode is refused.
      assertCleanError(await inProcess(['imaml', '--resume', '--out', dir, '--batching', 'vmap', '--workers', '0', '--json']), /--resume: the checkpoint was made with batching = "loop", but "vmap" was given/);
    });

    it('warns when --workers is above the number of cores, and still gives the same numbers', async () => {
      const dir = path.join(tmp, 'many-workers');
      const n = os.availableParallelism() + 1;
      const r = await inProcess(tiny(dir, '--workers', String(n)));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`warning: --workers ${n} is more than this machine's ${n - 1} cores`));
      assertSameRun(ref, dir);
    });
  });

  describe('bad input', () => {
    it('the executable exits non-zero with a one-line message for a bad flag value', () => {
      assertCleanError(cli(['imaml', '--iterations', 'many']), /option '--iterations <n>' argument 'many' is invalid\. expected an integer >= 0/);
    });

    const cases: [string, string[], RegExp][] = [
      ['a negative count', ['imaml', '--meta-batch', '-3'], /--meta-batch.*expected an integer >= 1/],
      ['a zero λ', ['imaml', '--lambda', '0'], /--lambda.*expected a number > 0, got '0'/],
      ['a non-numeric rate', ['imaml', '--meta-lr', 'fast'], /--meta-lr.*expected a number > 0/],
      ['a bad layer list', ['imaml', '--hidden', '40,x'], /--hidden.*comma-separated integers/],
      ['an unknown flag', ['imaml', '--bogus'], /unknown option '--bogus'/],
      ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
      ['a stray argument', ['deq', 'extra'], /too many arguments/],
      ['no command', [], /Usage: metagrad/],
    ];
    for (const [what, args, msg] of cases) {
      it(`rejects ${what}`, async () => {
        assertCleanError(await inProcess(args), msg);
      });
    }

    it('rejects --resume without a checkpoint', async () => {
      const r = await inProcess(['imaml', '--resume', '--out', path.join(tmp, 'nothing-here'), '--workers', '0', '--json']);
      assertCleanError(r, /cannot read checkpoint .*checkpoint\.safetensors: no such file/);
      assert.equal(r.code, 1);
    });

    it('rejects a corrupt checkpoint, a foreign safetensors file and a checkpoint that does not fit', async () => {
      const dir = path.join(tmp, 'bad-files');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'checkpoint.safetensors');
      const resume = (...extra: string[]) => inProcess(['imaml', '--resume', '--out', dir, '--workers', '0', '--json', ...extra]);

      fs.writeFileSync(file, 'this is not a checkpoint');
      assertCleanError(await resume(), /checkpoint\.safetensors: not a valid safetensors file/);

      fs.writeFileSync(file, encodeSafetensors([['w', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]], { format: 'something-else' }));
      assertCleanError(await resume(), /not a metagrad imaml checkpoint \(format "something-else"/);

      fs.copyFileSync(path.join(ref, 'checkpoint.safetensors'), file);
      assertCleanError(await resume('--lambda', '3'), /checkpoint was made with lambda = 2, but 3 was given/);
      assertCleanError(await resume('--iterations', '2'), /checkpoint is at iteration 4, past --iterations 2/);

      const truncated = fs.readFileSync(path.join(ref, 'checkpoint.safetensors')).subarray(0, 500);
      fs.writeFileSync(file, truncated);
      assertCleanError(await resume(), /not a valid safetensors file/);
    });
  });

  describe('run directory: one run at a time, intact files', () => {
    const copyRun = (name: string): string => {
      const dir = path.join(tmp, name);
      fs.cpSync(ref, dir, { recursive: true });
      return dir;
    };
    const resume = (dir: string, ...extra: string[]) => inProcess(['imaml', '--resume', '--out', dir, '--workers', '0', '--json', ...extra]);

    it('a second run on the same --out exits with a clear message while the first holds the lock; a stale lock is taken over', async () => {
      const dir = path.join(tmp, 'locked');
      fs.mkdirSync(dir, { recursive: true });
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(path.join(dir, '.metagrad.lock'), JSON.stringify({ pid: holder.pid, host: os.hostname(), started: 'earlier' }));
        assertCleanError(await inProcess(tiny(dir)), new RegExp(`output directory .*locked is in use by another metagrad run \\(pid ${holder.pid}`));
      } finally {
        holder.kill('SIGKILL');
        await new Promise((r) => holder.once('exit', r));
      }
      // The holder is gone: its lock is stale, and the run proceeds (and removes the lock).
      const r = await inProcess(tiny(dir, '--iterations', '1'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.existsSync(path.join(dir, '.metagrad.lock')), false);
    });

    it('refuses to overwrite an earlier run without --force', async () => {
      const dir = copyRun('overwrite');
      assertCleanError(await inProcess(tiny(dir)), /already holds a run \(checkpoint\.safetensors, history\.jsonl, metrics\.json, model\.safetensors\); pass --resume .*--force/);
      const r = await inProcess(tiny(dir, '--force'));
      assert.equal(r.code, 0, r.stderr);
      assertSameRun(ref, dir);
    });

    it('a flipped bit in a checkpoint weight is caught by its SHA-256 checksum; a NaN weight is named', async () => {
      const dir = copyRun('bitflip');
      const file = path.join(dir, 'checkpoint.safetensors');
      const buf = fs.readFileSync(file);
      assert.match(decodeSafetensors(buf).metadata.sha256, /^[0-9a-f]{64}$/);
      const flipped = Buffer.from(buf);
      flipped[flipped.length - 3] ^= 0x10; // inside the last tensor's data
      fs.writeFileSync(file, flipped);
      assertCleanError(await resume(dir), /checkpoint\.safetensors: the tensor data does not match its SHA-256 checksum/);
      // A NaN written with a valid checksum (a diverged run) is reported too, naming the tensor.
      const ck = decodeSafetensors(buf);
      const w = ck.tensors.get('2.bias');
      assert.ok(w);
      (w.data as Float32Array)[3] = Number.NaN;
      const { sha256: _drop, ...meta } = ck.metadata;
      fs.writeFileSync(file, encodeSafetensors([...ck.tensors], meta));
      assertCleanError(await resume(dir), /checkpoint\.safetensors: tensor '2\.bias' holds a non-finite value \(NaN at flat index 3\)/);
    });

    it('a torn last history line does not block --resume', async () => {
      const dir = path.join(tmp, 'torn');
      const a = await inProcess(tiny(dir, '--iterations', '2'));
      assert.equal(a.code, 0, a.stderr);
      fs.appendFileSync(path.join(dir, 'history.jsonl'), '{"iteration":3,"metaLo');
      const b = await inProcess(tiny(dir, '--resume'));
      assert.equal(b.code, 0, b.stderr);
      assertSameRun(ref, dir);
      // A malformed line in the middle is still an error.
      const h = fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').split('\n');
      h[1] = 'garbage';
      fs.writeFileSync(path.join(dir, 'history.jsonl'), h.join('\n'));
      assertCleanError(await inProcess(tiny(dir, '--resume', '--iterations', '4')), /history\.jsonl: line 2 is not a history record/);
    });

    it('--out under /proc fails at once instead of spinning in mkdir', async () => {
      const t0 = Date.now();
      assertCleanError(await inProcess(tiny('/proc/metagrad-out/run')), /cannot use output directory \/proc\/metagrad-out\/run: \/proc is a pseudo file system/);
      const file = path.join(tmp, 'a-file');
      fs.writeFileSync(file, '');
      assertCleanError(await inProcess(tiny(path.join(file, 'run'))), /cannot create output directory .*a-file is not a directory/);
      assert.ok(Date.now() - t0 < 10_000);
    });
  });

  describe('deq and hyperopt', () => {
    it('deq: the training loss goes down with implicit gradients through the fixed point', async () => {
      const r = await inProcess(['deq', '--epochs', '30', '--samples', '64', '--width', '8', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { epoch?: number; trainMse?: number; result?: { trainMse: { before: number; after: number } } });
      const epochs = lines.filter((l) => l.epoch !== undefined);
      assert.ok(epochs.length >= 3);
      const res = lines.find((l) => l.result)?.result;
      assert.ok(res && res.trainMse.after < 0.5 * res.trainMse.before, JSON.stringify(res));
    });

    it('deq --solver/--backward/--jac-reg: every combination trains, and --compare reports each solver and gradient mode', async () => {
      for (const args of [['--solver', 'fixed-point', '--backward', 'phantom'], ['--solver', 'broyden', '--backward', 'jfb', '--jac-reg', '0.1']]) {
        const r = await inProcess(['deq', '--epochs', '20', '--samples', '64', '--width', '8', '--json', ...args]);
        assert.equal(r.code, 0, r.stderr);
        const res = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { result?: { solver: string; backward: string; trainMse: { before: number; after: number } } }).find((l) => l.result)?.result;
        assert.ok(res && res.solver === args[1] && res.backward === args[3] && res.trainMse.after < res.trainMse.before, JSON.stringify(res));
      }
      const c = await inProcess(['deq', '--compare', '--epochs', '20', '--samples', '64', '--width', '8', '--json']);
      assert.equal(c.code, 0, c.stderr);
      const runs = c.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { compare: { solver: string; backward: string; forwardIterations: number; testMse: { after: number } } }).compare);
      assert.deepEqual(runs.map((r) => `${r.solver}/${r.backward}`), ['fixed-point/ift', 'anderson/ift', 'broyden/ift', 'anderson/phantom', 'anderson/jfb']);
      // The same forward with the same gradient reaches the same model whichever solver found the fixed point.
      assert.ok(Math.abs(runs[0].testMse.after - runs[1].testMse.after) < 1e-3, JSON.stringify(runs));
      assert.ok(runs.every((r) => r.forwardIterations > 0));
      const bad = await inProcess(['deq', '--solver', 'newton']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Allowed choices are fixed-point, anderson, broyden/);
    });

    it('deq --data mnist: the DEQ classifier and the explicit net of the same layers learn the digits (a short run)', async () => {
      // --shift 0: translated digits (the default) are learned more slowly than two epochs show.
      const r = await inProcess(['deq', '--data', 'mnist', '--epochs', '2', '--samples', '1500', '--width', '64', '--shift', '0', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { train?: number; test?: number; result?: Record<string, { accuracy: number; forwardIterations?: number }> });
      assert.equal(lines[0].train, 1500);
      // The test split is a fifth of each class of the package's 9,803 digits, whatever --samples is.
      assert.equal(lines[0].test, 1996);
      const res = lines.find((l) => l.result)?.result;
      assert.ok(res && res.DEQ.accuracy > 0.8 && res.explicit.accuracy > 0.8, JSON.stringify(res));
      assert.ok((res.DEQ.forwardIterations ?? 0) > 1);
    });

    it('deq --data mnist --shift: each digit is translated by its own offset within the bound, empty pixels shifted in', () => {
      const n = 400;
      const img = Float32Array.from({ length: n * 784 }, (_, i) => (i % 784) + 1 + 1000 * Math.floor(i / 784));
      const out = shiftDigits(tensor(img).reshape(n, 784), 2, -7, new Generator().manualSeed(3)).data;
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        // The offset that explains the output: the pixel now at (r, c) came from (r − dy, c − dx).
        const matches: string[] = [];
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
          let ok = true;
          for (let r = 0; r < 28 && ok; r++) for (let c = 0; c < 28 && ok; c++) {
            const [sr, sc] = [r - dy, c - dx];
            const want = sr >= 0 && sr < 28 && sc >= 0 && sc < 28 ? img[i * 784 + sr * 28 + sc] : -7;
            ok = out[i * 784 + r * 28 + c] === want;
          }
          if (ok) matches.push(`${dy},${dx}`);
        }
        assert.equal(matches.length, 1, `digit ${i}: offsets ${matches}`);
        seen.add(matches[0]);
      }
      assert.equal(seen.size, 25, 'every offset in {−2…2}² occurs among 400 digits');
    });

    it('hyperopt (the default 40 outer steps): every inner fit passes the root check, and the learned L2 weights penalise every noise column more than every real feature', async () => {
      // The fits grow ill-conditioned as the weights shrink; a run of only a few steps once hid
      // that the inner solver stopped short of the root from step 12 on.
      const r = await inProcess(['hyperopt', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const res = (r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { result?: { before: { valLoss: number }; after: { valLoss: number }; lambdas: Record<string, number> } }).find((l) => l.result))?.result;
      assert.ok(res, r.stdout);
      assert.ok(res.after.valLoss < 0.2 * res.before.valLoss, JSON.stringify(res));
      const entries = Object.entries(res.lambdas);
      assert.equal(entries.length, 8);
      const real = entries.filter(([n]) => !n.startsWith('noise')).map(([, v]) => v);
      const noise = entries.filter(([n]) => n.startsWith('noise')).map(([, v]) => v);
      assert.ok(Math.min(...noise) > Math.max(...real), JSON.stringify(res.lambdas));
    });
  });
});
