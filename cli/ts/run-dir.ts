/**
 * A job's output directory: created safely, owned by one run at a time (a lock file holding the
 * owner's pid; a lock whose process is gone is stale and taken over), and never overwritten by a
 * fresh run without `--force`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError } from './errors';

/** Name of the lock file inside the output directory. */
export const LOCK_FILE = '.metagrad.lock';

/** Pseudo file systems where a directory can never be created (mkdirSync with recursive: true spins forever there). */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * Creates `dir` and its missing parents one level at a time, so every failure is reported at
 * once (Node's recursive mkdir loops forever under /proc).
 */
export function ensureDir(dir: string): void {
  const abs = path.resolve(dir);
  for (const root of PSEUDO_ROOTS) {
    if (abs === root || abs.startsWith(`${root}/`)) throw new CliError(`cannot use output directory ${dir}: ${root} is a pseudo file system`);
  }
  const missing: string[] = [];
  let at = abs;
  while (!fs.existsSync(at)) {
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    if (!fs.statSync(at).isDirectory()) throw new Error(`${at} is not a directory`);
    for (const d of missing) fs.mkdirSync(d);
  } catch (e) {
    throw new CliError(`cannot create output directory ${dir}: ${(e as Error).message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Takes the directory's lock for this process, or throws a {@link CliError} naming the run that
 * holds it. A lock left by a process that no longer exists (killed, crashed) is taken over.
 * Returns the release function (also run at process exit).
 */
export function lockDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CliError(`cannot lock output directory ${dir}: ${(e as Error).message}`);
    }
    let owner: { pid?: unknown; host?: unknown; started?: unknown } = {};
    try {
      owner = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof owner;
    } catch {
      // torn or foreign: treated as stale below
    }
    const pid = typeof owner.pid === 'number' ? owner.pid : NaN;
    const sameHost = owner.host === undefined || owner.host === os.hostname();
    if (Number.isInteger(pid) && (!sameHost || alive(pid))) {
      throw new CliError(
        `output directory ${dir} is in use by another metagrad run (pid ${pid}${sameHost ? '' : ` on ${String(owner.host)}`}, started ${String(owner.started)}); ` +
          `wait for it to finish, or choose another --out (if that run is gone, delete ${file})`,
      );
    }
    fs.rmSync(file, { force: true }); // stale: its process has exited
  }
  throw new CliError(`cannot lock output directory ${dir}: the lock file keeps changing`);
}

/**
 * Runs `body` with `out` created and locked for this process: a fresh run (not `resume`) refuses
 * the files of an earlier one unless `force` (see {@link refuseOverwrite}).
 */
export async function inRunDir<T>(run: { out: string; resume: boolean; force: boolean }, files: readonly string[], body: () => Promise<T>): Promise<T> {
  ensureDir(run.out);
  const unlock = lockDir(run.out);
  try {
    if (!run.resume) refuseOverwrite(run.out, files, run.force);
    return await body();
  } finally {
    unlock();
  }
}

/**
 * Refuses to start a fresh run over the files of an earlier one: its checkpoint, history and
 * metrics would be silently replaced. `files` are the run's output files.
 */
export function refuseOverwrite(dir: string, files: readonly string[], force: boolean): void {
  if (force) return;
  const present = files.filter((f) => fs.existsSync(f)).map((f) => path.basename(f));
  if (present.length > 0) {
    throw new CliError(
      `output directory ${dir} already holds a run (${present.join(', ')}); pass --resume to continue it, --force to start over and replace it, or choose another --out`,
    );
  }
}

/**
 * Paths of a training job's files in `out`: checkpoint, model, history and metrics, which every
 * job writes, and one SVG per chart name (`curve` → curve.svg).
 */
export function runFiles<C extends string>(out: string, charts: readonly C[]): {
  checkpoint: string; model: string; history: string; metrics: string;
} & Record<C, string> {
  const files: Record<string, string> = {
    checkpoint: path.join(out, 'checkpoint.safetensors'),
    model: path.join(out, 'model.safetensors'),
    history: path.join(out, 'history.jsonl'),
    metrics: path.join(out, 'metrics.json'),
  };
  for (const c of charts) files[c] = path.join(out, `${c}.svg`);
  return files as { checkpoint: string; model: string; history: string; metrics: string } & Record<C, string>;
}
