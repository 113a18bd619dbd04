/** `history.jsonl`: one JSON object per training iteration, shared by the jobs. */
import * as fs from 'node:fs';
import { writeFileAtomic } from './checkpoint';
import { CliError } from './errors';

/**
 * The records of a history file up to iteration `upTo` ([] when there is none); `required` names
 * the numeric fields every record has besides `iteration`. A malformed last line is a record torn
 * by a crash while it was written and is dropped, as are records past `upTo` (the checkpoint's
 * iteration); a malformed line before others is an error.
 */
export function readHistory<R extends { iteration: number }>(file: string, required: readonly (keyof R & string)[], upTo = Number.POSITIVE_INFINITY): R[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const out: R[] = [];
  for (let i = 0; i < lines.length; i++) {
    let r: R;
    try {
      r = JSON.parse(lines[i]) as R;
      if (typeof r.iteration !== 'number' || required.some((k) => typeof r[k] !== 'number')) throw new Error('missing fields');
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
export function writeHistory(file: string, records: readonly object[]): void {
  writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Appends one record. */
export function appendHistory(file: string, record: object): void {
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}
