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

/** The records of a history file ([] when there is none); a malformed line is an error. */
export function readHistory(file: string): HistoryRecord[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((l, i) => {
    try {
      const r = JSON.parse(l) as HistoryRecord;
      if (typeof r.iteration !== 'number' || typeof r.metaLoss !== 'number') throw new Error('missing fields');
      return r;
    } catch (e) {
      throw new CliError(`${file}: line ${i + 1} is not a history record (${(e as Error).message})`);
    }
  });
}

/** Replaces the file with `records`. */
export function writeHistory(file: string, records: readonly HistoryRecord[]): void {
  writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Appends one record. */
export function appendHistory(file: string, record: HistoryRecord): void {
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}
