/**
 * Progress of a long job: a progress bar with ETA, the latest loss and it/s on an interactive
 * terminal; one JSON object per line per logging interval otherwise (or when asked), so logs and
 * pipelines can parse it.
 */
import { SingleBar } from 'cli-progress';

/** What the job reports at an iteration. */
export interface ProgressUpdate {
  /** Iterations done in total. */
  iteration: number;
  /** Mean loss over the iterations since the previous report. */
  loss: number;
  /** Extra fields for the JSON line (e.g. a held-out score). */
  extra?: Record<string, number>;
}

/** A progress display. */
export interface Progress {
  /** Begins at `done` of `total` iterations. */
  start(total: number, done: number): void;
  /** Reports after one iteration; `log` asks for a JSON line in JSON mode. */
  update(u: ProgressUpdate, log: boolean): void;
  /** Prints a line of text without breaking the bar. */
  note(text: string): void;
  /** Ends the display. */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** The job's name (bar label, JSON `task` field). */
  label: string;
  /** Name of the loss in the bar and the JSON. */
  lossName: string;
  /** JSON lines even on a terminal. */
  json: boolean;
  /** Where the bar goes (default stderr). */
  barStream?: NodeJS.WriteStream;
  /** Where JSON lines and notes go (default stdout). */
  out?: NodeJS.WritableStream;
}

/** Iterations per second over a sliding window, so the rate and ETA follow the current speed. */
class Rate {
  private readonly marks: [number, number][] = [];

  add(iteration: number, t: number): void {
    this.marks.push([iteration, t]);
    if (this.marks.length > 20) this.marks.shift();
  }

  perSecond(): number {
    if (this.marks.length < 2) return 0;
    const [i0, t0] = this.marks[0];
    const [i1, t1] = this.marks[this.marks.length - 1];
    return t1 > t0 ? ((i1 - i0) * 1000) / (t1 - t0) : 0;
  }
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

/** A bar when the bar stream is a terminal and JSON was not asked for; JSON lines otherwise. */
export function createProgress(opts: ProgressOptions): Progress {
  const barStream = opts.barStream ?? process.stderr;
  const out = opts.out ?? process.stdout;
  const rate = new Rate();
  let total = 0;
  let started = 0;
  if (opts.json || !barStream.isTTY) {
    return {
      start(t, done) {
        total = t;
        started = Date.now();
        rate.add(done, started);
      },
      update(u, log) {
        const now = Date.now();
        rate.add(u.iteration, now);
        if (!log) return;
        const r = rate.perSecond();
        const line = {
          task: opts.label,
          iteration: u.iteration,
          iterations: total,
          [opts.lossName]: u.loss,
          ...u.extra,
          itPerSec: Number(r.toFixed(3)),
          elapsedSeconds: Number(((now - started) / 1000).toFixed(3)),
          etaSeconds: r > 0 ? Number(((total - u.iteration) / r).toFixed(1)) : null,
        };
        out.write(`${JSON.stringify(line)}\n`);
      },
      note(text) {
        out.write(`${JSON.stringify({ task: opts.label, note: text })}\n`);
      },
      stop() {},
    };
  }
  const bar = new SingleBar({
    stream: barStream,
    format: `${opts.label} |{bar}| {value}/{total} it | {percentage}% | ETA {eta_formatted} | ${opts.lossName} {loss}{extra} | {rate} it/s`,
    barsize: 28,
    hideCursor: true,
    etaBuffer: 20,
    fps: 5,
  });
  // The latest value of each extra field stays on the bar until it is reported again.
  const extras = new Map<string, number>();
  let active = false;
  return {
    start(t, done) {
      total = t;
      rate.add(done, Date.now());
      bar.start(t, done, { loss: '-', rate: '-', extra: '' });
      active = true;
    },
    update(u) {
      rate.add(u.iteration, Date.now());
      for (const [k, v] of Object.entries(u.extra ?? {})) extras.set(k, v);
      const extra = [...extras].map(([k, v]) => ` | ${k} ${fmt(v)}`).join('');
      bar.update(u.iteration, { loss: fmt(u.loss), rate: rate.perSecond().toFixed(2), extra });
    },
    note(text) {
      if (!active) {
        barStream.write(`${text}\n`);
        return;
      }
      // Clearing the line first keeps the note from being glued to the bar.
      barStream.write('\r\x1b[2K');
      barStream.write(`${text}\n`);
      bar.render();
    },
    stop() {
      if (active) bar.stop();
      active = false;
    },
  };
}
