/**
 * Which settings a resumed run keeps: those that define its numbers come from the checkpoint
 * (given again on the command line they must agree), the planned length and intervals come from
 * it unless given again. Shared by the jobs' checkpoints.
 */
import { CliError } from './errors';

/** What a checkpoint says about the run it belongs to. */
export interface ResumePoint<C> {
  /** The settings to continue with. */
  config: C;
  /** Iterations completed. */
  iteration: number;
  /** Seconds spent so far. */
  seconds: number;
}

function sameSetting(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The settings that go in a checkpoint's `config` (run-defining) and `settings` (resumable) metadata. */
export function settingsMetadata<C extends object>(cfg: C, runDefining: readonly (keyof C & string)[], resumable: readonly (keyof C & string)[]): { config: string; settings: string } {
  return {
    config: JSON.stringify(Object.fromEntries(runDefining.map((k) => [k, cfg[k]]))),
    settings: JSON.stringify(Object.fromEntries(resumable.map((k) => [k, cfg[k]]))),
  };
}

/**
 * Reads the run's settings back from a checkpoint's metadata. `legacy` fills run-defining
 * settings that older checkpoints lack (with the value those runs used); `explicit` names the
 * settings given on the command line. Resumable settings are positive integers (`iterations` may
 * be 0) that must not fall below the checkpoint's iteration.
 */
export function resumePoint<C extends { iterations: number }>(
  file: string,
  meta: Record<string, string>,
  cfg: C,
  explicit: ReadonlySet<string>,
  runDefining: readonly (keyof C & string)[],
  resumable: readonly (keyof C & string)[],
  legacy: Partial<C> = {},
): ResumePoint<C> {
  let saved: Partial<C>;
  try {
    saved = JSON.parse(meta.config ?? '') as Partial<C>;
  } catch {
    throw new CliError(`${file}: the config metadata is not JSON`);
  }
  const merged: C = { ...cfg };
  for (const k of runDefining) {
    const v = saved[k] === undefined ? legacy[k] : saved[k];
    if (v === undefined) throw new CliError(`${file}: the config metadata lacks '${k}'`);
    if (explicit.has(k) && !sameSetting(v, cfg[k])) {
      throw new CliError(`--resume: the checkpoint was made with ${k} = ${JSON.stringify(v)}, but ${JSON.stringify(cfg[k])} was given; drop the flag or start a new run in another --out directory`);
    }
    merged[k] = v as C[typeof k];
  }
  let settings: Record<string, unknown> = {};
  try {
    settings = JSON.parse(meta.settings ?? '{}') as Record<string, unknown>;
  } catch {
    throw new CliError(`${file}: the settings metadata is not JSON`);
  }
  for (const k of resumable) {
    const v = settings[k];
    if (!explicit.has(k) && typeof v === 'number' && Number.isInteger(v) && v >= (k === 'iterations' ? 0 : 1)) merged[k] = v as C[typeof k];
  }
  const iteration = Number(meta.iteration);
  const seconds = Number(meta.seconds);
  if (!Number.isInteger(iteration) || iteration < 0 || !Number.isFinite(seconds)) throw new CliError(`${file}: invalid iteration or time metadata`);
  if (merged.iterations < iteration) {
    throw new CliError(`--resume: the checkpoint is at iteration ${iteration}, past --iterations ${merged.iterations}; give --iterations ${iteration} or more`);
  }
  return { config: merged, iteration, seconds };
}
