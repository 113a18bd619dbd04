/** What every benchmark group receives from bench/run.ts. */
import type { Table } from './table';

export interface BenchContext {
  /** Timed repeats per measurement (the median is reported). */
  repeats: number;
  /** Progress messages (stderr, so stdout stays pure markdown). */
  log(msg: string): void;
  /** Records a performance target of the issue and whether this run met it (printed as a summary table). */
  target(goal: string, measured: string, met: boolean): void;
}

/** A benchmark group: measures, returns its tables. */
export type BenchGroup = (ctx: BenchContext) => Promise<Table[]>;
