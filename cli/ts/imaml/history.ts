/** The records of an iMAML run's `history.jsonl` (read and written by ../history.ts). */
import { readHistory as readRecords } from '../history';

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

/** The iMAML records of `file` up to iteration `upTo`. */
export function readHistory(file: string, upTo = Number.POSITIVE_INFINITY): HistoryRecord[] {
  return readRecords<HistoryRecord>(file, ['metaLoss'], upTo);
}
