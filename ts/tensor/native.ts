/**
 * The native addon's surface, as the TypeScript layer sees it.
 *
 * Every function here trusts its arguments: callers in `ts/tensor` check dtypes, lengths and
 * shapes first (the native layer only re-checks what would corrupt memory). All buffers are
 * row-major, contiguous, JS-owned typed arrays; the addon reads and writes them in place.
 */
import { loadAddon } from './load-addon';

/** A float buffer; both operands of one call always share the dtype. */
export type FloatArray = Float32Array | Float64Array;

/** Which compiled variant of the hot kernels the CPU runs. */
export type IsaVariant = 'baseline' | 'avx2' | 'avx512';

/** What `mg.backendInfo()` reports. */
export interface NativeBackendInfo {
  /** Kernel variant chosen at load time from the CPU's features. */
  isa: IsaVariant;
  /** Variants compiled into this binary. */
  compiledIsas: IsaVariant[];
  /** Eigen version the addon was built against, e.g. "3.4.0". */
  eigen: string;
  /** Threads large kernels may use. */
  threads: number;
  /** Compiler that built the addon. */
  compiler: string;
}

/** Unary elementwise operation codes (shared with native/ops.h). */
export enum UnaryOp {
  Neg = 0, Exp = 1, Log = 2, Sqrt = 3, Abs = 4, Tanh = 5, Sigmoid = 6, Relu = 7, Softplus = 8,
  Square = 9, Sign = 10, Sin = 11, Cos = 12, Reciprocal = 13, Step = 14, Log1p = 15, Expm1 = 16,
}

/** Binary elementwise operation codes (shared with native/ops.h). */
export enum BinaryOp {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Maximum = 5, Minimum = 6,
  Gt = 7, Lt = 8, Ge = 9, Le = 10, Eq = 11,
  /** g·(1 − y²): tanh's backward from its output y (a = g, b = y). */
  TanhGrad = 12,
  /** g·y·(1 − y): sigmoid's backward from its output y. */
  SigmoidGrad = 13,
  /** y > 0 ? g : 0: relu's backward from its input (PyTorch's threshold_backward). */
  ReluGrad = 14,
}

/** Reduction codes (shared with native/ops.h). */
export enum ReduceOp { Sum = 0, Max = 1, Min = 2, Prod = 3 }

/** Dense solve methods (shared with native/ops.h). */
export enum SolveMethod { Lu = 0, Cholesky = 1, Qr = 2 }

/** Functions exported by the compiled addon (native/binding.cc). */
export interface NativeAddon {
  backendInfo(): NativeBackendInfo;
  /** Limits the threads large kernels use (>= 1). */
  setNumThreads(n: number): void;
  /**
   * out[b] = op(A[b]) · op(B[b]) for b < batch, op = transpose when the flag is set.
   * Shapes after op: [m, k] · [k, n] → [m, n]. A batch stride of 0 broadcasts that operand.
   * out must not overlap a or b (RangeError).
   */
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, batch: number, m: number, k: number,
    n: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number): void;
  /** out[i] = op(a[i]) for i < a.length; out may alias a. */
  unary(op: UnaryOp, a: FloatArray, out: FloatArray): void;
  /**
   * Broadcasting binary op over `outShape` (rank ≤ 8): element index i of out reads
   * a[Σ idx_d·aStrides_d] and b[Σ idx_d·bStrides_d] (stride 0 on broadcast dims). Every index
   * read must lie inside the array, so a negative stride throws (there is no base offset).
   */
  binary(op: BinaryOp, a: FloatArray, aStrides: Int32Array, b: FloatArray, bStrides: Int32Array,
    out: FloatArray, outShape: Int32Array): void;
  /**
   * Reduces a viewed as [outer, len, inner] along the middle axis into out [outer, inner].
   * Max/Min propagate NaN; over an empty axis (len 0) Sum gives 0, Prod 1, Max/Min throw.
   */
  reduce(op: ReduceOp, a: FloatArray, out: FloatArray, outer: number, len: number, inner: number): void;
  /** Like reduce Max/Min, also writing the arg index (first occurrence; a NaN's if any) into `indices`. */
  argReduce(op: ReduceOp, a: FloatArray, out: FloatArray, indices: Int32Array, outer: number,
    len: number, inner: number): void;
  /** Row-wise (log-)softmax of a viewed as [rows, cols]. */
  softmax(a: FloatArray, out: FloatArray, rows: number, cols: number, log: boolean): void;
  /**
   * im2col (see ts/tensor/kernels/im2col.ts): the windows of `img` [B, C, H, W] as columns
   * [B, C·kh·kw, oh·ow], padded taps reading `padValue`. `geometry` holds B, C, H, W, kh, kw,
   * pad top, pad left, stride h, stride w, dilation h, dilation w, oh, ow.
   */
  im2col(img: FloatArray, cols: FloatArray, geometry: Int32Array, padValue: number): void;
  /** The adjoint of {@link NativeAddon.im2col}: img += the columns at their positions. */
  col2im(cols: FloatArray, img: FloatArray, geometry: Int32Array): void;
  /** Solves A X = B for square A [n, n], B [n, nrhs]; writes X into out. Returns 0 on success, 1 if singular / not positive definite. */
  solveDense(method: SolveMethod, a: FloatArray, b: FloatArray, out: FloatArray, n: number, nrhs: number): number;
  /** Seeds an mt19937 state (Uint32Array of length 626: 624 words, index, flags) like std::mt19937(seed) on the low 32 bits of the seed given as (lo, hi). */
  rngSeed(state: Uint32Array, seedLo: number, seedHi: number): void;
  /** PyTorch's uniform_(from, to) on the CPU generator (24-bit floats for float32, 53-bit for float64). */
  rngUniform(state: Uint32Array, out: FloatArray, from: number, to: number): void;
  /** PyTorch's normal_(mean, std) on the CPU generator; `cache` (Float64Array(2)) holds the cached scalar Box–Muller sample. */
  rngNormal(state: Uint32Array, cache: Float64Array, out: FloatArray, mean: number, std: number): void;
  /**
   * A validated replay program (see native/replay.h): `buffers` holds [type, length, bound index
   * or -1, pool or -1] per buffer, `inits` the initial values of owned buffers (or null), `pools`
   * the byte sizes of the pools that intermediates share. Throws RangeError naming the first
   * invalid instruction.
   */
  replayCreate(buffers: Int32Array, code: Int32Array, constants: Float64Array, inits: (ReplayBuffer | null)[], pools: Float64Array): ReplayProgram;
  /** Runs a program over the bound buffers; -1, or the check index of the instruction that failed. */
  replayRun(program: ReplayProgram, bound: ReplayBuffer[]): number;
}

/** A buffer a replay program reads or writes. */
export type ReplayBuffer = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** An opaque handle to a native replay program. */
export interface ReplayProgram {
  readonly __replayProgram: unique symbol;
}

/**
 * The loaded addon's functions (throws at import with build instructions when it is missing),
 * as a plain object so that `mg.jit`'s recorder can wrap them while a trace runs.
 */
export const native: NativeAddon = ((addon: Record<string, unknown>) =>
  Object.fromEntries(Object.getOwnPropertyNames(addon).map((k) => [k, addon[k]])) as unknown as NativeAddon)(loadAddon() as Record<string, unknown>);

/**
 * Environment settings the addon could not honour are said once, at load, rather than ignored
 * silently (a mistyped METAGRAD_ISA would otherwise benchmark the wrong kernels).
 */
function reportIgnoredSettings(addon: NativeAddon): void {
  const info = addon.backendInfo();
  const warn = (message: string): void => process.emitWarning(message, { code: 'METAGRAD_IGNORED_SETTING' });
  const isa = process.env.METAGRAD_ISA;
  if (isa !== undefined && isa !== info.isa) {
    const why = (info.compiledIsas as readonly string[]).includes(isa)
      ? `this CPU cannot run the ${isa} kernels`
      : `it is not a kernel variant of this build (${info.compiledIsas.join(', ')})`;
    warn(`METAGRAD_ISA=${JSON.stringify(isa)} is ignored: ${why}; using ${info.isa}`);
  }
  const threads = process.env.METAGRAD_NUM_THREADS;
  if (threads !== undefined && !/^[1-9][0-9]*$/.test(threads.trim())) {
    warn(`METAGRAD_NUM_THREADS=${JSON.stringify(threads)} is not a positive integer; using ${info.threads} threads`);
  }
}
reportIgnoredSettings(native);
