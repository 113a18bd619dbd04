/**
 * SIGINT/SIGTERM during a long job: the first signal asks the loop to stop after the current
 * iteration (it saves a checkpoint and exits with 128 + the signal's number); a second one, or a
 * signal once training is over, ends the process at once (checkpoint writes are atomic).
 */

/** Signal that stopped a run, if any (set by the handlers, read between iterations). */
export interface StopFlag {
  /** The signal received, or null. */
  signal: NodeJS.Signals | null;
  /** Past training (the checkpoint is final): a signal ends the process at once. */
  immediate: boolean;
}

/** Installs the handlers; returns the function that removes them. */
export function onSignals(flag: StopFlag): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    if (flag.signal !== null || flag.immediate) process.exit(signal === 'SIGINT' ? 130 : 143);
    flag.signal = signal;
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Exit code of a run stopped by a signal (128 + its number), or 0. */
export type JobExit = 0 | 130 | 143;

/** The exit code for a stop by `signal`. */
export function exitCodeOf(signal: NodeJS.Signals): 130 | 143 {
  return signal === 'SIGINT' ? 130 : 143;
}
