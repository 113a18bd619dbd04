/**
 * Where native kernels start to pay: for each kernel kind of ts/tensor/kernels/dispatch.ts, the
 * JavaScript loop and the native call are timed on the same inputs at sizes 64…65536, by forcing
 * the dispatch one way and then the other (the kernel functions that ship, not copies). The
 * crossover is where NATIVE_THRESHOLD should sit; `npm run bench -- --only dispatch` prints it.
 */
import { NATIVE_THRESHOLD } from '../ts/tensor/kernels/dispatch';
import { BinaryOp, UnaryOp, binaryInto, unaryInto } from '../ts/tensor/kernels/elementwise';
import { matmulInto, softmaxInto } from '../ts/tensor/kernels/matmul';
import { col2imInto, im2colInto } from '../ts/tensor/kernels/im2col';
import { ReduceOp, reduceInto } from '../ts/tensor/kernels/reduce';
import type { BenchContext } from './context';
import { compare, fmt } from './stats';
import type { Table } from './table';

type Kind = keyof typeof NATIVE_THRESHOLD;

/** The thresholds object is `as const` for its users; the benchmark flips it at run time. */
const thresholds = NATIVE_THRESHOLD as unknown as Record<Kind, number>;

/** Runs `f` with `kind` forced to JS (`native` false) or native. */
function forced<T>(kind: Kind, useNative: boolean, f: () => T): () => T {
  return () => {
    const saved = thresholds[kind];
    thresholds[kind] = useNative ? 0 : Infinity;
    try {
      return f();
    } finally {
      thresholds[kind] = saved;
    }
  };
}

const SIZES = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
/** Square matmuls n·n·n spanning the same sizes (m·k·n is what the matmul threshold counts). */
const MATMUL_N = [4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40];

interface Series {
  kind: Kind;
  label: string;
  /** Sizes as the threshold counts them. */
  sizes: number[];
  /** A call of the kernel at size index i (inputs prepared outside the timed call). */
  make: (i: number) => () => void;
}

type DT = 'float32' | 'float64';
type Arr = Float32Array | Float64Array;

function randomArray(dtype: DT, n: number): Arr {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  // Values in (−2, 2) exercise both branches of tanh and keep exp finite.
  for (let i = 0; i < n; i++) a[i] = Math.random() * 4 - 2;
  return a;
}

function series(dtype: DT): Series[] {
  const rnd = (n: number): Arr => randomArray(dtype, n);
  const zeros = (n: number): Arr => (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));
  const unary = (op: UnaryOp, name: string): Series => ({
    kind: 'unary',
    label: `unary: ${name}, ${dtype}`,
    sizes: SIZES,
    make: (i) => {
      const a = rnd(SIZES[i]);
      const out = zeros(SIZES[i]);
      return () => unaryInto(op, a, out);
    },
  });
  return [
    unary(UnaryOp.Neg, 'neg'),
    unary(UnaryOp.Exp, 'exp'),
    unary(UnaryOp.Tanh, 'tanh'),
    {
      kind: 'binary',
      label: `binary: add, same shape, ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        const n = SIZES[i];
        const [a, b, out] = [rnd(n), rnd(n), zeros(n)];
        return () => binaryInto(BinaryOp.Add, a, [1], b, [1], out, [n]);
      },
    },
    {
      kind: 'binary',
      label: `binary: mul, [n/64, 64] · [64], ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        const rows = SIZES[i] / 64;
        const [a, b, out] = [rnd(SIZES[i]), rnd(64), zeros(SIZES[i])];
        return () => binaryInto(BinaryOp.Mul, a, [64, 1], b, [0, 1], out, [rows, 64]);
      },
    },
    {
      kind: 'reduce',
      label: `reduce: sum of all, ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        const a = rnd(SIZES[i]);
        const out = zeros(1);
        return () => reduceInto(ReduceOp.Sum, a, out, 1, SIZES[i], 1);
      },
    },
    {
      kind: 'reduce',
      label: `reduce: sum over dim 0 of [n/64, 64], ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        const a = rnd(SIZES[i]);
        const out = zeros(64);
        return () => reduceInto(ReduceOp.Sum, a, out, 1, SIZES[i] / 64, 64);
      },
    },
    {
      kind: 'softmax',
      label: `softmax: rows of 64, ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        const a = rnd(SIZES[i]);
        const out = zeros(SIZES[i]);
        return () => softmaxInto(a, out, SIZES[i] / 64, 64, false);
      },
    },
    {
      kind: 'matmul',
      label: `matmul: n×n · n×n (size n³), ${dtype}`,
      sizes: MATMUL_N.map((n) => n ** 3),
      make: (i) => {
        const n = MATMUL_N[i];
        const [a, b, out] = [rnd(n * n), rnd(n * n), zeros(n * n)];
        return () => matmulInto(a, b, out, 1, n, n, n, false, false, n * n, n * n);
      },
    },
    ...(['im2col', 'col2im'] as const).map((which): Series => ({
      kind: 'im2col',
      label: `${which}: 3×3 windows, padding 1, of [1, 4, s, s] (size: the columns), ${dtype}`,
      sizes: SIZES,
      make: (i) => {
        // The image side whose columns (4·9·s²) come closest to the size.
        const side = Math.max(1, Math.round(Math.sqrt(SIZES[i] / 36)));
        const g = { batch: 1, channels: 4, height: side, width: side, kh: 3, kw: 3, pad: [1, 1, 1, 1] as [number, number, number, number], stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], oh: side, ow: side };
        const [img, cols] = [rnd(4 * side * side), zeros(36 * side * side)];
        return which === 'im2col' ? () => im2colInto(img, cols, g, 0) : () => col2imInto(cols, img, g);
      },
    })),
  ];
}

/** Smallest measured size from which native is at least as fast at every larger size. */
function crossover(sizes: number[], speedup: number[]): number {
  let at = Infinity;
  for (let i = sizes.length - 1; i >= 0 && speedup[i] >= 1; i--) at = sizes[i];
  return at;
}

/**
 * The threshold (one per kind, shared by its ops) that minimises the summed log-slowdown against
 * the best path over all measured ops and sizes of that kind.
 */
function bestThreshold(all: { sizes: number[]; js: number[]; nat: number[] }[]): number {
  const candidates = [...new Set(all.flatMap((s) => s.sizes))].sort((a, b) => a - b);
  candidates.push(Infinity);
  let best = Infinity;
  let bestCost = Infinity;
  for (const t of candidates) {
    let cost = 0;
    for (const s of all) {
      s.sizes.forEach((size, i) => {
        const chosen = size >= t ? s.nat[i] : s.js[i];
        cost += Math.log(chosen / Math.min(s.js[i], s.nat[i]));
      });
    }
    if (cost < bestCost - 1e-9) [best, bestCost] = [t, cost];
  }
  return best;
}

const human = (n: number): string => (n === Infinity ? 'never' : n >= 1024 && n % 1024 === 0 ? `${n / 1024}Ki` : String(n));

export async function dispatch(ctx: BenchContext): Promise<Table[]> {
  const rows: string[][] = [];
  const perKind = new Map<Kind, { sizes: number[]; js: number[]; nat: number[] }[]>();
  for (const s of [...series('float32'), ...series('float64')]) {
    ctx.log(`dispatch: ${s.label}`);
    const js: number[] = [];
    const nat: number[] = [];
    for (let i = 0; i < s.sizes.length; i++) {
      const call = s.make(i);
      const [tj, tn] = await compare([forced(s.kind, false, call), forced(s.kind, true, call)], { repeats: ctx.repeats, minRepeatMs: 5, warmupMs: 30 });
      js.push((tj as { median: number }).median);
      nat.push((tn as { median: number }).median);
    }
    const speedup = js.map((t, i) => t / nat[i]);
    const list = perKind.get(s.kind) ?? [];
    list.push({ sizes: s.sizes, js, nat });
    perKind.set(s.kind, list);
    rows.push([s.label, ...speedup.map((x) => fmt(x, 2)), human(crossover(s.sizes, speedup)), human(NATIVE_THRESHOLD[s.kind])]);
  }
  const best = [...perKind.entries()].map(([k, list]) => `${k} ${human(bestThreshold(list))}`);
  return [
    {
      title: 'Dispatch: native speed-up over the JavaScript loop (JS time ÷ native time; > 1: native faster)',
      headers: ['kernel', ...SIZES.map(human), 'crossover', 'threshold'],
      rows,
      notes: [
        'Columns are the size the threshold counts: elements, or m·k·n for matmul (n = 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40). Each cell is the ratio of the medians of interleaved repeats of the same kernel function forced to each path.',
        '"crossover": smallest size from which native wins at every larger size; "threshold": the value in ts/tensor/kernels/dispatch.ts during this run.',
        `Threshold per kind minimising the summed log-slowdown over its ops, dtypes and sizes: ${best.join(', ')}.`,
        'tanh\'s native path is the vectorised kernel (Eigen packet exp, in float lanes for float32 and double lanes for float64, native/kernels/elementwise.h); its JS path is Math.tanh per element.',
      ],
    },
  ];
}
