/**
 * Kernel recording for `mg.jit` (TinyJit's idea): while a function runs eagerly, every kernel
 * call is written down (operation, parameters, which buffers it reads and writes) as a program
 * that `native/replay.cc` can run again over fresh inputs in one native call.
 *
 * Buffers are numbered slots: the traced function's inputs, captured tensors it reads (module
 * parameters in a closure: read live at every replay), intermediates and constants it creates
 * (owned by the program). What cannot be replayed is refused while recording, never replayed
 * wrong: every buffer a kernel reads must hold exactly what the recorded program would have put
 * there (so a value written by JavaScript outside a kernel is caught), and reading a traced
 * value on the host (`item()`, the library's own host-side arithmetic) throws.
 */
import { MetagradError, NumericalError } from '../errors';
import { type DType, setAllocationHook } from './dtype';
import { type NativeAddon, native } from './native';
import { forceKernelPath, forcedKernelPath } from './kernels/dispatch';

/** A buffer a kernel can touch. */
export type RawBuffer = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** Instruction codes (shared with native/replay.h). */
export enum Instr {
  Nop = 0, Unary = 1, Binary = 2, Reduce = 3, ArgReduce = 4, Softmax = 5, Matmul = 6, Copy = 7,
  Cast = 8, Fill = 9, Permute = 10, Slice = 11, Solve = 12, CheckFinite = 13, Gather = 14,
  IndexAdd = 15, Where = 16, RngUniform = 17, RngNormal = 18, ZeroNonFinite = 19, OneHot = 20, Dot = 21,
  Im2col = 22, Col2im = 23,
}

/** Buffer element types (shared with native/replay.h). */
export enum BufType { F32 = 0, F64 = 1, I32 = 2, U32 = 3, U8 = 4 }

/** Raised when a traced function does something a replay could not repeat. */
export class TraceError extends MetagradError {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

/** What a slot holds. */
export const enum SlotKind {
  /** An argument of the traced function (bound per call). */
  Input,
  /** A buffer that existed before the trace (a captured tensor; bound per call, read live). */
  Captured,
  /** Allocated inside the trace: an intermediate, owned by the program. */
  Temp,
  /** Allocated inside the trace and filled from JavaScript values (a literal): owned, preloaded. */
  Constant,
}

/** One numbered buffer of a recording. @internal */
export interface Slot {
  readonly base: RawBuffer;
  kind: SlotKind;
  /** A hash of its content after the last recorded write; NaN while it holds the zeros it was allocated with. */
  digest: number;
  /** For constants: their values (the program's initial data). */
  snapshot: RawBuffer | null;
  /** For temps: whether the program already makes it zero (a fill, or a first write that covers it). */
  zeroed: boolean;
  /** A recorded kernel wrote it. */
  written: boolean;
  /** The operation that allocated it (named in refusals). */
  readonly by: string;
  /** For constants: the code position of its (Nop) restore, made a Copy if a kernel writes it. */
  restoreAt: number;
  /** The first and last instruction (by ordinal) that touch it, -1 before any: its live range. */
  firstUse: number;
  lastUse: number;
}

/** A host-side read of a captured buffer during the recording: the replay checks it is unchanged. */
export interface Guard {
  readonly slot: number;
  readonly values: RawBuffer;
}

/** A buffer's element type in a program (int64 tensors are float64 arrays of integers: F64; bool tensors U8). @internal */
export function bufType(a: RawBuffer): BufType {
  if (a instanceof Float32Array) return BufType.F32;
  if (a instanceof Float64Array) return BufType.F64;
  if (a instanceof Int32Array) return BufType.I32;
  if (a instanceof Uint32Array) return BufType.U32;
  return BufType.U8;
}

const scratch = new Float64Array(1);
const scratchWords = new Int32Array(scratch.buffer);

/**
 * FNV-1a over the values' bits: what a buffer must still hold when a kernel reads it. Element
 * by element through a scratch float64 (a typed-array view per call would cost more than the
 * hash of a small buffer); a float32 value's float64 bits are as unique as its own.
 */
function digestOf(a: RawBuffer): number {
  let h = 0x811c9dc5 ^ a.length;
  if (a instanceof Int32Array || a instanceof Uint32Array) {
    for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i], 0x01000193);
  } else {
    for (let i = 0; i < a.length; i++) {
      scratch[0] = a[i];
      h = Math.imul(Math.imul(h ^ scratchWords[0], 0x01000193) ^ scratchWords[1], 0x01000193);
    }
  }
  return h >>> 0;
}

function allZero(a: RawBuffer): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0 || Object.is(a[i], -0)) return false;
  return true;
}

/** A buffer field of an instruction (optionally with an element offset into it): (slot, offset) once resolved. */
type Field = number | RawBuffer | readonly [RawBuffer, number];

/** The recording in progress (one at a time; a traced function runs synchronously). @internal */
export class Recorder {
  readonly slots: Slot[] = [];
  readonly code: number[] = [];
  readonly constants: number[] = [];
  /** Messages of the instructions that can fail at replay, by check index. */
  readonly checks: string[] = [];
  readonly guards: Guard[] = [];
  /** `.grad` assignments during the recording, the last one per tensor (replayed as hidden outputs). */
  readonly grads = new Map<object, { data: RawBuffer; shape: readonly number[]; dtype: DType } | null>();
  /** Diagnostics to deliver after every replay (see {@link reportAtReplay}). */
  readonly reports: { buffers: RawBuffer[]; deliver: (values: RawBuffer[]) => void }[] = [];
  private readonly exact = new Map<RawBuffer, number>();
  /** Instructions emitted so far (the clock of the live ranges). */
  private ordinal = 0;
  private readonly byBuffer = new Map<ArrayBufferLike, number[]>();
  /** Slots not yet in `byBuffer`: indexed on the first lookup that misses (reading a small typed array's `.buffer` costs it its on-heap storage). */
  private unindexed: number[] = [];

  /** Registers an argument's buffer (before the function runs). */
  input(a: RawBuffer): number {
    const known = this.exact.get(a);
    if (known !== undefined) return known;
    return this.add(a, SlotKind.Input, 'an argument');
  }

  /** The slot and element offset holding `a` (registering a captured buffer on first sight). */
  resolve(a: RawBuffer): [number, number] {
    const hit = this.exact.get(a);
    if (hit !== undefined) return [hit, 0];
    for (const id of this.unindexed) this.index(id);
    this.unindexed = [];
    const list = this.byBuffer.get(a.buffer);
    if (list !== undefined) {
      // The slots over this ArrayBuffer, sorted by offset: the last one starting at or before a.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.slots[list[mid]].base.byteOffset <= a.byteOffset) lo = mid + 1;
        else hi = mid;
      }
      const end = a.byteOffset + a.byteLength;
      for (const k of [lo - 1, lo]) {
        if (k < 0 || k >= list.length) continue;
        const id = list[k];
        const b = this.slots[id].base;
        const bEnd = b.byteOffset + b.byteLength;
        if (a.byteOffset >= b.byteOffset && end <= bEnd && bufType(b) === bufType(a)) {
          const off = (a.byteOffset - b.byteOffset) / a.BYTES_PER_ELEMENT;
          if (Number.isInteger(off)) return [id, off];
        }
        if (a.byteOffset < bEnd && b.byteOffset < end && a.byteLength > 0 && b.byteLength > 0) {
          throw new TraceError('jit: a kernel read a view that straddles two recorded buffers (or reinterprets one); this cannot be replayed');
        }
      }
    }
    return [this.add(a, SlotKind.Captured, 'a captured tensor'), 0];
  }

  /** A buffer allocated while recording (see `setAllocationHook`). */
  allocated(a: RawBuffer, by: string): void {
    this.add(a, SlotKind.Temp, by);
  }

  /** Marks a just-filled buffer as a constant of the program (its current values, preloaded). */
  constant(a: RawBuffer): void {
    const [id, off] = this.resolve(a);
    const s = this.slots[id];
    if (s.kind !== SlotKind.Temp || s.written || off !== 0 || a.length !== s.base.length) return;
    s.kind = SlotKind.Constant;
    s.snapshot = copyOf(s.base);
    s.digest = digestOf(s.base);
    s.zeroed = true;
    s.restoreAt = this.code.length;
    this.code.push(Instr.Nop, 7, 0, 0, 0, 0, 0);
  }

  /** True when `a`'s values are only known at replay (an argument or a kernel's output). */
  traced(a: RawBuffer): boolean {
    const s = this.slots[this.resolve(a)[0]];
    return s.kind === SlotKind.Input || s.written;
  }

  /**
   * A host-side read of `a` by `fn` (a number leaving the tensor world): refused for values the
   * trace computes or receives, allowed (and guarded) for captured ones and constants.
   */
  hostRead(fn: string, a: RawBuffer): void {
    const [id] = this.resolve(a);
    const s = this.slots[id];
    if (s.kind === SlotKind.Constant || (s.kind === SlotKind.Temp && !s.written && Number.isNaN(s.digest))) return;
    if (s.kind === SlotKind.Captured && !s.written) {
      this.guards.push({ slot: id, values: copyOf(s.base) });
      return;
    }
    throw new TraceError(
      `jit: ${fn} reads a value computed inside the traced function (${s.kind === SlotKind.Input ? 'an argument' : `the output of ${s.by}`}) on the host, ` +
        'so the recording would bake it in; keep values as tensors (no item(), tolist() or data-dependent branches) and use fixed iteration counts ' +
        '(of the linear solvers, cg and the normal-CG solve have a form a recording can hold; gmres, bicgstab and Neumann series do not), or call the function without jit',
    );
  }

  /**
   * Records one kernel call and runs it. `fields` are the instruction's words with buffers in
   * place of (slot, offset) pairs; `writes` are the buffers it writes (the others are read);
   * `full` says the kernel overwrites every element of each written buffer.
   */
  record<R>(code: Instr, name: string, fields: Field[], writes: readonly RawBuffer[], full: boolean, run: () => R, check?: string): R {
    const words: number[] = [code, 0];
    const written: number[] = [];
    const touched: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (typeof f === 'number') {
        words.push(f);
        continue;
      }
      const buf = Array.isArray(f) ? (f as readonly [RawBuffer, number])[0] : (f as RawBuffer);
      const [id, base] = this.resolve(buf);
      const off = base + (Array.isArray(f) ? (f as readonly [RawBuffer, number])[1] : 0);
      words.push(id, off);
      touched.push(id);
      const s = this.slots[id];
      // A buffer both read and written (in place) is a read at its earlier occurrences.
      if (writes.includes(buf) && !fields.slice(i + 1).some((g) => g === buf || (Array.isArray(g) && g[0] === buf))) {
        const covers = full && off === 0 && buf.length === s.base.length;
        if (!covers) this.beforeRead(id, name); // the elements it keeps must be what the program holds
        this.beforeWrite(id, covers);
        written.push(id);
      } else {
        this.beforeRead(id, name);
      }
    }
    if (check !== undefined) {
      words.push(this.checks.length);
      this.checks.push(check);
    }
    words[1] = words.length;
    // (After any fill the fields needed: those took earlier ordinals.)
    for (const id of touched) this.touch(id);
    this.ordinal++;
    const out = run();
    for (const id of written) {
      const s = this.slots[id];
      s.digest = digestOf(s.base);
      s.written = true;
    }
    for (const w of words) this.code.push(w);
    return out;
  }

  /** A number the program carries (fill values, random-draw parameters): its index. */
  constantIndex(v: number): number {
    this.constants.push(v);
    return this.constants.length - 1;
  }

  /** Throws unless slot `id` holds what the program will (checked for `what`, e.g. an output). */
  checkHolds(id: number, what: string): void {
    this.beforeRead(id, what);
  }

  private beforeRead(id: number, kernel: string): void {
    const s = this.slots[id];
    if (Number.isNaN(s.digest)) {
      // Allocated zeros never written: the program must hold zeros too.
      if (!allZero(s.base)) throw this.unrecorded(kernel, s);
      this.zeroFill(id);
      return;
    }
    if (digestOf(s.base) !== s.digest) throw this.unrecorded(kernel, s);
  }

  private beforeWrite(id: number, full: boolean): void {
    const s = this.slots[id];
    if (s.kind === SlotKind.Temp && !s.zeroed) {
      // A first write that leaves elements untouched relies on the allocation's zeros.
      if (full) s.zeroed = true;
      else this.zeroFill(id);
    }
    if (s.kind === SlotKind.Constant && !s.written) {
      // The program must restore the constant at every call, where the trace created it.
      const pool = this.add(copyOf(s.snapshot as RawBuffer), SlotKind.Constant, 'a constant');
      this.slots[pool].snapshot = this.slots[pool].base;
      this.code.splice(s.restoreAt, 7, Instr.Copy, 7, pool, 0, id, 0, s.base.length);
    }
  }

  private zeroFill(id: number): void {
    const s = this.slots[id];
    if (s.zeroed) return;
    s.zeroed = true;
    if (s.base instanceof Float32Array || s.base instanceof Float64Array) {
      this.touch(id);
      this.ordinal++;
      this.code.push(Instr.Fill, 6, id, 0, s.base.length, this.constantIndex(0));
    } else {
      s.kind = SlotKind.Constant; // an index buffer of zeros: preload it
      s.snapshot = copyOf(s.base);
      s.digest = digestOf(s.base);
    }
  }

  private unrecorded(kernel: string, s: Slot): TraceError {
    const what = s.kind === SlotKind.Temp || s.kind === SlotKind.Constant ? `a buffer allocated by ${s.by}` : s.by;
    return new TraceError(
      `jit: ${kernel} read ${what} whose values were written outside a recorded kernel (JavaScript code changed a tensor's data while tracing); ` +
        'this cannot be replayed: write the computation with tensor ops, or call the function without jit',
    );
  }

  /** Marks slot `id` as used by the instruction being emitted. */
  private touch(id: number): void {
    const s = this.slots[id];
    if (s.firstUse < 0) s.firstUse = this.ordinal;
    s.lastUse = this.ordinal;
  }

  /** Keeps slot `id` live to the end of the program (its values are copied out there). */
  liveToEnd(id: number): void {
    const s = this.slots[id];
    if (s.firstUse < 0) s.firstUse = this.ordinal;
    s.lastUse = Number.POSITIVE_INFINITY;
  }

  /**
   * Storage for the program's intermediates: temps whose live ranges do not overlap share one
   * pool buffer (greedy, by first use; a pool is reused for a temp no larger than it), so a
   * recording's arena is about the peak of live intermediates, not their sum. Returns the pool
   * of each slot (-1: not a pooled temp) and the pools' sizes in bytes.
   */
  pools(): { poolOf: Int32Array; bytes: number[] } {
    const poolOf = new Int32Array(this.slots.length).fill(-1);
    const bytes: number[] = [];
    const temps = this.slots.map((s, id) => [s, id] as const).filter(([s]) => s.kind === SlotKind.Temp && s.firstUse >= 0).sort((a, b) => a[0].firstUse - b[0].firstUse);
    const active: { until: number; pool: number }[] = [];
    const free: number[] = []; // pool ids, any order
    for (const [s, id] of temps) {
      // Pools whose last user came strictly before this temp's first use are free again.
      for (let k = active.length - 1; k >= 0; k--) {
        if (active[k].until < s.firstUse) {
          free.push(active[k].pool);
          active.splice(k, 1);
        }
      }
      const need = s.base.byteLength;
      let best = -1;
      for (let k = 0; k < free.length; k++) if (bytes[free[k]] >= need && (best < 0 || bytes[free[k]] < bytes[free[best]])) best = k;
      let pool: number;
      if (best >= 0) pool = free.splice(best, 1)[0];
      else {
        pool = bytes.length;
        bytes.push(need);
      }
      poolOf[id] = pool;
      active.push({ until: s.lastUse, pool });
    }
    return { poolOf, bytes };
  }

  private add(a: RawBuffer, kind: SlotKind, by: string): number {
    const id = this.slots.length;
    const digest = kind === SlotKind.Temp ? Number.NaN : digestOf(a);
    this.slots.push({ base: a, kind, digest, snapshot: kind === SlotKind.Constant ? a : null, zeroed: kind !== SlotKind.Temp, written: false, by, restoreAt: -1, firstUse: -1, lastUse: -1 });
    this.exact.set(a, id);
    this.unindexed.push(id);
    return id;
  }

  private index(id: number): void {
    const a = this.slots[id].base;
    let list = this.byBuffer.get(a.buffer);
    if (list === undefined) this.byBuffer.set(a.buffer, (list = []));
    // Kept sorted by offset (allocations from a slab arrive in order: a push).
    let at = list.length;
    while (at > 0 && this.slots[list[at - 1]].base.byteOffset > a.byteOffset) at--;
    list.splice(at, 0, id);
  }
}

function copyOf(a: RawBuffer): RawBuffer {
  return a.slice();
}

/** The recording in progress, or null (eager). @internal */
export let recorder: Recorder | null = null;

const rawNative: NativeAddon = { ...native };

/** The native kernels with recording wrappers, installed on `native` while a trace runs. */
function recordingKernels(r: Recorder): Partial<NativeAddon> {
  return {
    unary: (op, a, out) => r.record(Instr.Unary, 'unary', [op, a, out, a.length], [out], true, () => rawNative.unary(op, a, out)),
    binary: (op, a, as, b, bs, out, shape) =>
      r.record(Instr.Binary, 'binary', [op, a, b, out, shape.length, ...shape, ...as, ...bs], [out], true, () =>
        rawNative.binary(op, a, as, b, bs, out, shape),
      ),
    reduce: (op, a, out, outer, len, inner) =>
      r.record(Instr.Reduce, 'reduce', [op, a, out, outer, len, inner], [out], true, () => rawNative.reduce(op, a, out, outer, len, inner)),
    argReduce: (op, a, out, idx, outer, len, inner) =>
      r.record(Instr.ArgReduce, 'argReduce', [op, a, out, idx, outer, len, inner], [out, idx], true, () =>
        rawNative.argReduce(op, a, out, idx, outer, len, inner),
      ),
    softmax: (a, out, rows, cols, log) =>
      r.record(Instr.Softmax, 'softmax', [a, out, rows, cols, log ? 1 : 0], [out], true, () => rawNative.softmax(a, out, rows, cols, log)),
    im2col: (img, cols, geometry, padValue) =>
      r.record(Instr.Im2col, 'unfold', [img, cols, ...geometry, r.constantIndex(padValue)], [cols], true, () => rawNative.im2col(img, cols, geometry, padValue)),
    col2im: (cols, img, geometry) =>
      r.record(Instr.Col2im, 'fold', [cols, img, ...geometry], [img], false, () => rawNative.col2im(cols, img, geometry)),
    matmul: (a, b, out, batch, m, k, n, ta, tb, as, bs) =>
      r.record(Instr.Matmul, 'matmul', [a, b, out, batch, m, k, n, ta ? 1 : 0, tb ? 1 : 0, as, bs], [out], true, () =>
        rawNative.matmul(a, b, out, batch, m, k, n, ta, tb, as, bs),
      ),
    solveDense: (method, a, b, out, n, nrhs) =>
      r.record(Instr.Solve, 'solveDense', [method, a, b, out, n, nrhs], [out], true, () => rawNative.solveDense(method, a, b, out, n, nrhs),
        'linalg.solve: the system is singular, not positive definite, or its solution is not finite (found when mg.jit replayed it)'),
    rngUniform: (state, out, from, to) => {
      requireBoundGenerator(r, state, 'uniform_');
      r.record(Instr.RngUniform, 'rngUniform', [state, out, out.length, r.constantIndex(from), r.constantIndex(to)], [state, out], true, () =>
        rawNative.rngUniform(state, out, from, to),
      );
    },
    rngNormal: (state, cache, out, mean, std) => {
      requireBoundGenerator(r, state, 'normal_');
      r.record(Instr.RngNormal, 'rngNormal', [state, cache, out, out.length, r.constantIndex(mean), r.constantIndex(std)], [state, cache, out], true, () =>
        rawNative.rngNormal(state, cache, out, mean, std),
      );
    },
  };
}

/** A random draw replays only from a generator passed as an argument (its state is then an input). */
function requireBoundGenerator(r: Recorder, state: Uint32Array, op: string): void {
  const [id] = r.resolve(state);
  if (r.slots[id].kind !== SlotKind.Input) {
    throw new TraceError(
      `jit: ${op} draws random numbers from a generator that is not an argument of the traced function, so a replay would repeat the same draw; ` +
        'pass the generator (mg.Generator) as an argument, or draw outside and pass the values',
    );
  }
}

/**
 * Runs `fn` eagerly while recording its kernels into `r`. Kernels run natively whatever their
 * size during the recording, so the replay (native) repeats the same kernels bit for bit.
 * @internal
 */
export function withRecorder<R>(r: Recorder, fn: () => R): R {
  if (recorder !== null) throw new TraceError('jit: a traced function cannot start another trace (nest the jitted functions outside, or jit the outer one only)');
  const installed = recordingKernels(r);
  const previousPath = forcedKernelPath();
  recorder = r;
  Object.assign(native, installed);
  setAllocationHook((a, by) => r.allocated(a, by));
  forceKernelPath('native');
  try {
    return fn();
  } finally {
    forceKernelPath(previousPath);
    setAllocationHook(null);
    Object.assign(native, rawNative);
    recorder = null;
  }
}

/**
 * Under a jit recording, a check that every entry of `a` is finite, run at each replay (a failure
 * raises a NumericalError with `message`). Eager code checks on the host instead. @internal
 */
export function recordFiniteCheck(a: Float32Array | Float64Array, message: string): void {
  if (recorder === null) return;
  // The recording call checks too: its result is returned as well.
  recorder.record(Instr.CheckFinite, 'checkFinite', [a, a.length], [], true, () => {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new NumericalError(message.replace(' (found when mg.jit replayed it)', ' (found when mg.jit recorded it)'));
  }, message);
}

let fixedForm = 0;

/**
 * True while `mg.jit` records, or while {@link asReplayed} runs: code with a host-side path
 * (solver loops that test convergence, diagnostics) takes its fixed-size form. @internal
 */
export function isRecording(): boolean {
  return recorder !== null || fixedForm > 0;
}

/**
 * Runs `fn` eagerly as a replay computes it: native kernels whatever their size, and the
 * fixed-size forms of code with a host-side path. A jitted call equals this bit for bit (the
 * check of a signature's first replay, and the tests, compare against it). @internal
 */
export function asReplayed<R>(fn: () => R): R {
  const previousPath = forcedKernelPath();
  fixedForm++;
  forceKernelPath('native');
  try {
    return fn();
  } finally {
    forceKernelPath(previousPath);
    fixedForm--;
  }
}

/**
 * Delivers diagnostics computed as tensors (a solve's iteration counts and residual norms):
 * now, with `buffers`' current values, and, while `mg.jit` records, again after every replay
 * with that replay's values (the buffers become hidden outputs of the program). So callbacks
 * such as `onInfo` and `lastSolveInfo()` describe every replayed call. @internal
 */
export function reportAtReplay(buffers: RawBuffer[], deliver: (values: RawBuffer[]) => void): void {
  if (recorder !== null) {
    for (const b of buffers) recorder.checkHolds(recorder.resolve(b)[0], 'a reported diagnostic');
    recorder.reports.push({ buffers, deliver });
  }
  if (muted === 0) deliver(buffers.map((b) => b.slice()));
}

let muted = 0;

/** Runs `fn` without delivering its diagnostics (the eager half of jit's checked first replay). @internal */
export function withoutReports<R>(fn: () => R): R {
  muted++;
  try {
    return fn();
  } finally {
    muted--;
  }
}

/**
 * Notes `t.grad = g` while recording: a replay assigns the tensor a fresh gradient with that
 * call's values (a side effect, like an optimizer step's in-place update, that the program must
 * repeat). @internal
 */
export function gradAssigned(t: object, g: { data: RawBuffer; shape: readonly number[]; dtype: DType } | null): void {
  if (recorder !== null) recorder.grads.set(t, g === null ? null : { data: g.data, shape: g.shape, dtype: g.dtype });
}

/** Marks `a` as a literal the traced function created from JavaScript values. @internal */
export function markConstant<T extends RawBuffer>(a: T): T {
  if (recorder !== null) recorder.constant(a);
  return a;
}

/**
 * Declares that `fn` reads `a`'s values on the host: refused while recording when they are
 * computed in the trace. Returns `a`. @internal
 */
export function hostRead<T extends RawBuffer>(fn: string, a: T): T {
  if (recorder !== null) recorder.hostRead(fn, a);
  return a;
}

/**
 * True while recording when `a`'s values are computed or received by the trace (so a host-side
 * validation of them cannot run now). @internal
 */
export function isTraced(a: RawBuffer): boolean {
  return recorder !== null && recorder.traced(a);
}

