/** `history.jsonl`: one JSON object per meta-training iteration. */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../checkpoint';
import { CliError } from '../errors';

/** One iteration of meta-training. */
export interface HistoryRecord {
  /** Iterations completed. */
  iteration: number;
  /** Mean query MSE over the meta-batch after adaptation (the meta-training loss). */
  metaLoss: number;
  /** Mean residual norm of the implicit backward solves. */
  backwardResidual: number;
  /** Mean ‖F(φ, θ)‖ at the adapted parameters: how far the fixed inner budget stops from the root. */
  rootResidual?: number;
  /** Seconds since the run began (over all sessions). */
  seconds: number;
  /** Mean query MSE over the held-out tasks, on evaluation iterations. */
  heldOutMse?: number;
}

/**
 * The records of a history file up to iteration `upTo` ([] when there is none). A malformed last
 * line is a record torn by a crash while it was written and is dropped, as are records past
 * `upTo` (the checkpoint's iteration); a malformed line before others is an error.
 */
export function readHistory(file: string, upTo = Number.POSITIVE_INFINITY): HistoryRecord[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const out: HistoryRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    let r: HistoryRecord;
    try {
      r = JSON.parse(lines[i]) as HistoryRecord;
      if (typeof r.iteration !== 'number' || typeof r.metaLoss !== 'number') throw new Error('missing fields');
    } catch (e) {
      if (i === lines.length - 1) break; // torn by a crash mid-write
      throw new CliError(`${file}: line ${i + 1} is not a history record (${(e as Error).message})`);
    }
    if (r.iteration > upTo) break;
    out.push(r);
  }
  return out;
}

/** Replaces the file with `records`. */
export function writeHistory(file: string, records: readonly HistoryRecord[]): void {
  writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Appends one record. */
export function appendHistory(file: string, record: HistoryRecord): void {
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}
