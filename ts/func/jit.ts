/**
 * `mg.jit`: record the kernels of a function's first call per input signature, replay them
 * natively afterwards (tinygrad's TinyJit, on metagrad's kernels). See tensor/trace.ts for what
 * is recorded and refused, native/replay.cc for the replay.
 */
import { NumericalError, typeError } from '../errors';
import { isPlainObject } from '../objects';
import { Int64Array, allocate, getDefaultDtype } from '../tensor/dtype';
import { isGradEnabled } from '../autograd/grad-mode';
import { Generator } from '../tensor/generator';
import { type ReplayBuffer, type ReplayProgram, native } from '../tensor/native';
import { fmtShape } from '../tensor/shape';
import { Tensor, isTensor } from '../tensor/tensor';
import { BufType, Instr, type RawBuffer, Recorder, SlotKind, TraceError, asReplayed, bufType, withRecorder, withoutReports } from '../tensor/trace';
import { batchedOf, isBatched, physicalOf, unionLevels } from '../tensor/batched';
import { type TreeSpec, flatten, leaves as leavesOf, unflatten } from '../tree/tree';
import { detach } from '../ops/inplace';
import { type VmapDims, vmap } from './vmap';

/** Options of {@link jit}. */
export interface JitOptions {
  /**
   * Positions of arguments that are not traced: part of the signature by value (numbers,
   * strings, booleans) or identity (objects), their tensors read live like captured ones
   * (JAX's `static_argnums`).
   */
  staticArgnums?: readonly number[];
  /** How many signatures' recordings are kept (least recently used dropped first). Default 8. */
  cacheSize?: number;
  /**
   * Check the second call of each signature against an eager run of the function (the values
   * must agree bit for bit), which catches what the recording cannot see, such as a direct read
   * of `.data` that changes the computation. Default true.
   */
  verify?: boolean;
}

/** What a jitted function's `cacheInfo()` reports. */
export interface JitCacheInfo {
  /** Signatures recorded and kept. */
  signatures: number;
  /** Calls that recorded (first call per signature, or after an eviction). */
  captures: number;
  /** Calls answered by a replay. */
  replays: number;
  /** Kernel instructions of the most recent recording. */
  kernels: number;
  /** Bytes the most recent recording's program owns (intermediates, pooled by live range, and constants). */
  arenaBytes: number;
  /** Captured tensors (read from the function's closure) that the most recent recording updates in place. */
  capturedWrites: number;
}

/** A jitted function: `fn`'s signature, plus its cache's counters. */
export type JitFunction<A extends unknown[], R> = ((...args: A) => R) & {
  /** Counters of the signature cache. */
  cacheInfo(): JitCacheInfo;
};

/** A traced argument leaf: a tensor, or a generator (its state is then an input). */
type TracedLeaf = Tensor | Generator;

/** An output leaf: a fresh buffer, a view of a bound buffer, or a value passed through. */
type OutSpec =
  | { kind: 'fresh'; bound: number; shape: readonly number[] }
  | { kind: 'view'; bound: number; offset: number; length: number; shape: readonly number[] }
  | { kind: 'argument'; leaf: number };

/** A `.grad` assignment a replay repeats: on a captured tensor or on an argument leaf. */
type GradSet = ({ tensor: Tensor } | { leaf: number }) & { bound: number; shape: readonly number[] };

interface Recording {
  program: ReplayProgram;
  /** Per bound buffer: where it comes from at a call. */
  inputs: { leaf: number; part: 'data' | 'state' | 'cache' }[];
  captured: ReplayBuffer[];
  outputs: OutputBuffer[];
  outSpecs: OutSpec[];
  outTemplate: TreeSpec;
  checks: string[];
  /** `.grad` assignments to repeat after each replay (bound -1: set to null). */
  gradSets: GradSet[];
  /** Diagnostics to deliver after each replay, from hidden outputs. */
  reports: { bounds: number[]; deliver: (values: ReplayBuffer[]) => void }[];
  guards: { bound: number; values: ReplayBuffer }[];
  /** Leaves whose buffers the program writes (their version counters are bumped). */
  writtenLeaves: number[];
  kernels: number;
  /** Bytes the program owns for intermediates and constants. */
  arenaBytes: number;
  /** Captured buffers the program writes in place. */
  capturedWrites: number;
  /** Whether the first replay has been checked against an eager run. */
  verified: boolean;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function identity(x: object): number {
  let id = objectIds.get(x);
  if (id === undefined) objectIds.set(x, (id = nextObjectId++));
  return id;
}

/** The signature of a call and its traced leaves (arguments in order, depth first). */
function signatureOf(args: readonly unknown[], statics: ReadonlySet<number>): { key: string; leaves: TracedLeaf[] } {
  const leaves: TracedLeaf[] = [];
  const seen = new Map<unknown, number>();
  const rec = (x: unknown, path: string): string => {
    if (isTensor(x)) {
      if (isBatched(x)) {
        throw new TraceError(`jit: argument ${path} is batched (the jitted function is called inside vmap); jit the vmapped function instead: jit(vmap(f))`);
      }
      // Arguments sharing storage must share it at every call: the alias is part of the key.
      const alias = seen.get(x.data);
      if (alias !== undefined) return `T@${alias}`;
      seen.set(x.data, leaves.length);
      leaves.push(x);
      return `T(${x.shape.join(',')};${x.dtype};${x.requiresGrad ? 'g' : ''})`;
    }
    if (x instanceof Generator) {
      leaves.push(x);
      return 'G';
    }
    if (Array.isArray(x)) return `[${x.map((v, i) => rec(v, `${path}[${i}]`)).join(',')}]`;
    if (isPlainObject(x)) return `{${Object.keys(x).map((k) => `${JSON.stringify(k)}:${rec(x[k], `${path}.${k}`)}`).join(',')}}`;
    return valueKey(x);
  };
  const parts = args.map((a, i) => (statics.has(i) ? `S${valueKey(a)}` : rec(a, `${i}`)));
  // What else changes what the function computes: grad mode and the default dtype (of literals).
  parts.push(`grad:${isGradEnabled()}`, `dtype:${getDefaultDtype()}`);
  return { key: parts.join('|'), leaves };
}

function valueKey(x: unknown): string {
  if (x === null || x === undefined || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'string') return `${typeof x}:${String(x)}`;
  if (typeof x === 'bigint') return `bigint:${x}`;
  if (typeof x === 'object' || typeof x === 'function') return `#${identity(x)}`;
  return String(x);
}

/** Records `fn(...args)` and builds its replay program. */
function capture(fn: (...args: unknown[]) => unknown, args: unknown[], leaves: readonly TracedLeaf[]): { result: unknown; rec: Recording } {
  const r = new Recorder();
  const inputSlots: { slot: number; leaf: number; part: 'data' | 'state' | 'cache' }[] = [];
  leaves.forEach((leaf, i) => {
    if (leaf instanceof Generator) {
      inputSlots.push({ slot: r.input(leaf.state), leaf: i, part: 'state' });
      inputSlots.push({ slot: r.input(leaf.cache), leaf: i, part: 'cache' });
    } else {
      inputSlots.push({ slot: r.input(leaf.data), leaf: i, part: 'data' });
    }
  });
  const result = withRecorder(r, () => fn(...args));
  if (result instanceof Promise) throw new TraceError('jit: the function returned a Promise; only synchronous functions can be recorded');
  const [outTensors, outTemplate] = flatten(result);
  // Where each output lives (resolved first: an output no kernel touched is registered now),
  // and a check that its values are what the program will hold.
  const located = outTensors.map((t) => {
    const leaf = leaves.indexOf(t);
    if (leaf >= 0) return { leaf, id: -1, offset: 0 };
    const [id, offset] = r.resolve(t.data);
    r.checkHolds(id, 'an output');
    return { leaf: -1, id, offset };
  });

  // Bound buffers: inputs, then captured tensors, then fresh outputs.
  const boundOf = new Map<number, number>();
  const inputs: Recording['inputs'] = [];
  for (const s of inputSlots) {
    if (boundOf.has(s.slot)) continue;
    boundOf.set(s.slot, inputs.length);
    inputs.push({ leaf: s.leaf, part: s.part });
  }
  const captured: ReplayBuffer[] = [];
  r.slots.forEach((s, id) => {
    if (s.kind === SlotKind.Captured) {
      boundOf.set(id, inputs.length + captured.length);
      captured.push(s.base);
    }
  });
  let nextBound = inputs.length + captured.length;
  const outputs: Recording['outputs'] = [];
  const outSpecs: OutSpec[] = [];
  const freshOf = new Map<string, number>();
  const code = withoutNops(r.code);
  const extraSlots: { type: BufType; length: number; bound: number }[] = [];
  /** A fresh bound buffer per call that the program's last instructions copy `n` values of slot `id` into. */
  const hiddenOutput = (id: number, offset: number, like: RawBuffer, n: number): number => {
    r.liveToEnd(id);
    const b = nextBound++;
    const type = bufType(like);
    outputs.push({ dtype: type, int64: like instanceof Int64Array, length: n });
    extraSlots.push({ type, length: n, bound: b });
    code.push(Instr.Copy, 7, id, offset, r.slots.length + extraSlots.length - 1, 0, n);
    return b;
  };
  outTensors.forEach((t, i) => {
    const { leaf, id, offset } = located[i];
    if (leaf >= 0) {
      outSpecs.push({ kind: 'argument', leaf });
      return;
    }
    const slot = r.slots[id];
    const bound = boundOf.get(id);
    if (bound !== undefined) {
      outSpecs.push({ kind: 'view', bound, offset, length: t.numel, shape: t.shape });
      return;
    }
    // Outputs over the same elements share one fresh buffer, as they share storage in eager.
    const key = `${id}:${offset}:${t.numel}`;
    let b = freshOf.get(key);
    if (b === undefined) freshOf.set(key, (b = hiddenOutput(id, offset, slot.base, t.numel)));
    outSpecs.push({ kind: 'fresh', bound: b, shape: t.shape });
  });

  // `.grad` set on tensors that outlive the call (arguments, captured ones: not those made inside)
  // is assigned again after each replay, from hidden outputs.
  const gradSets: Recording['gradSets'] = [];
  for (const [t, g] of r.grads) {
    const owner = t as Tensor;
    const kind = r.slots[r.resolve(owner.data)[0]].kind;
    if (kind !== SlotKind.Input && kind !== SlotKind.Captured) continue;
    // An argument's gradient goes to the argument of each later call.
    const leaf = kind === SlotKind.Input ? leaves.indexOf(owner) : -1;
    if (kind === SlotKind.Input && leaf < 0) continue; // a view of an argument, made inside
    const target = leaf >= 0 ? { leaf } : { tensor: owner };
    if (g === null) {
      gradSets.push({ ...target, bound: -1, shape: [] });
      continue;
    }
    const [id, offset] = r.resolve(g.data);
    r.checkHolds(id, 'a gradient assigned to .grad');
    gradSets.push({ ...target, bound: hiddenOutput(id, offset, g.data, g.data.length), shape: g.shape });
  }

  // Diagnostics (solve infos) leave each replay as hidden outputs, delivered after it.
  const reports = r.reports.map((rep) => ({
    deliver: rep.deliver,
    bounds: rep.buffers.map((buf) => {
      const [id, offset] = r.resolve(buf);
      return hiddenOutput(id, offset, buf, buf.length);
    }),
  }));

  const meta: number[] = [];
  const inits: (ReplayBuffer | null)[] = [];
  const { poolOf, bytes } = r.pools();
  r.slots.forEach((s, id) => {
    const bound = boundOf.get(id);
    // A temp no instruction touches needs no storage.
    const unused = s.kind === SlotKind.Temp && s.firstUse < 0;
    meta.push(bufType(s.base), unused ? 0 : s.base.length, bound ?? -1, poolOf[id]);
    inits.push(bound === undefined && s.kind === SlotKind.Constant ? (s.snapshot as ReplayBuffer) : null);
  });
  for (const e of extraSlots) {
    meta.push(e.type, e.length, e.bound, -1);
    inits.push(null);
  }
  const program = native.replayCreate(Int32Array.from(meta), Int32Array.from(code), Float64Array.from(r.constants), inits, Float64Array.from(bytes));
  const arenaBytes = bytes.reduce((a, b) => a + b, 0) + r.slots.reduce((a, s) => a + (s.kind === SlotKind.Constant ? s.base.byteLength : 0), 0);
  const writtenLeaves = [...new Set(inputSlots.filter((s) => r.slots[s.slot].written).map((s) => s.leaf))];
  const guards = r.guards.map((g) => ({ bound: boundOf.get(g.slot) as number, values: g.values }));
  return {
    result: unflatten(outTemplate, outTensors.map((t) => (t.requiresGrad ? detach(t) : t))),
    rec: {
      program, inputs, captured, outputs, outSpecs, outTemplate, checks: r.checks, guards, writtenLeaves, reports, gradSets,
      kernels: countInstructions(code), arenaBytes, verified: false,
      capturedWrites: r.slots.filter((sl) => sl.kind === SlotKind.Captured && sl.written).length,
    },
  };
}

/** The code without its Nops (constant restores that no write needed). */
function withoutNops(code: readonly number[]): number[] {
  const out: number[] = [];
  for (let at = 0; at < code.length; at += code[at + 1]) {
    if (code[at] === Instr.Nop) continue;
    for (let k = at, end = at + code[at + 1]; k < end; k++) out.push(code[k]);
  }
  return out;
}

function countInstructions(code: readonly number[]): number {
  let n = 0;
  for (let at = 0; at < code.length; at += code[at + 1]) n++;
  return n;
}

function sameBits(a: ArrayBufferView & { length: number }, b: ArrayBufferView & { length: number }): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  return Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** A fresh per-call output: its element type in the program, and whether it holds an int64 tensor. */
interface OutputBuffer {
  dtype: BufType;
  int64: boolean;
  length: number;
}

function allocateOut(o: OutputBuffer): ReplayBuffer {
  switch (o.dtype) {
    case BufType.F64: return allocate(o.int64 ? 'int64' : 'float64', o.length, 'jit');
    case BufType.F32: return allocate('float32', o.length, 'jit');
    case BufType.I32: return allocate('int32', o.length, 'jit');
    case BufType.U8: return allocate('bool', o.length, 'jit');
    case BufType.U32: return new Uint32Array(o.length);
  }
}

/** Runs a recording over this call's leaves. */
function replay(rec: Recording, leaves: readonly TracedLeaf[]): unknown {
  const bound: ReplayBuffer[] = rec.inputs.map(({ leaf, part }) => {
    const l = leaves[leaf];
    if (l instanceof Generator) return part === 'state' ? l.state : l.cache;
    return l.data;
  });
  for (const c of rec.captured) bound.push(c);
  for (const g of rec.guards) {
    if (!sameBits(bound[g.bound], g.values)) {
      throw new TraceError(
        'jit: a captured tensor whose values the recording read on the host has changed since; pass it as an argument of the jitted function (or call the function without jit)',
      );
    }
  }
  const fresh = rec.outputs.map(allocateOut);
  for (const f of fresh) bound.push(f);
  const status = native.replayRun(rec.program, bound);
  if (status >= 0) throw new NumericalError(rec.checks[status] ?? 'jit: a check of the replayed program failed');
  for (const gs of rec.gradSets) {
    const t = 'tensor' in gs ? gs.tensor : (leaves[gs.leaf] as Tensor);
    t.grad = gs.bound < 0 ? null : new Tensor(bound[gs.bound] as Float32Array | Float64Array, gs.shape);
  }
  for (const rep of rec.reports) rep.deliver(rep.bounds.map((b) => bound[b]));
  for (const i of rec.writtenLeaves) {
    const l = leaves[i];
    if (l instanceof Tensor) l._version.value++;
  }
  const outs = rec.outSpecs.map((s) => {
    if (s.kind === 'argument') return leaves[s.leaf] as Tensor;
    if (s.kind === 'view') {
      const b = bound[s.bound] as Float32Array | Float64Array;
      return new Tensor(s.offset === 0 && s.length === b.length ? b : b.subarray(s.offset, s.offset + s.length), s.shape);
    }
    return new Tensor(bound[s.bound] as Float32Array | Float64Array, s.shape);
  });
  return unflatten(rec.outTemplate, outs);
}

/** Deep copy of the traced leaves of `args` (tensors and generators), other values shared. */
function cloneArgs(args: readonly unknown[], statics: ReadonlySet<number>): unknown[] {
  const rec = (x: unknown): unknown => {
    if (isTensor(x)) return new Tensor(x.data.slice(), x.shape, x.requiresGrad && x.isLeaf);
    if (x instanceof Generator) {
      const g = new Generator();
      g.setState(x.getState());
      return g;
    }
    if (Array.isArray(x)) return x.map(rec);
    if (isPlainObject(x)) return Object.fromEntries(Object.keys(x).map((k) => [k, rec(x[k])]));
    return x;
  };
  return args.map((a, i) => (statics.has(i) ? a : rec(a)));
}

/**
 * Compiles `fn` by recording: the first call with a given signature (the tree structure,
 * shapes, dtypes and requiresGrad flags of the tensor arguments; other arguments by value or
 * identity; grad mode and the default dtype) runs `fn` eagerly while recording every kernel it
 * launches; later calls with that
 * signature replay the recording natively in one call, over preallocated intermediates, and
 * return fresh output tensors. Tensors the function reads from its closure (module parameters)
 * are read live at every replay; in-place updates of arguments (an optimizer step) are replayed
 * into the new arguments.
 *
 * Kernels run natively during the recording, so a replay equals an eager call made with
 * native kernels bit for bit (the default eager path runs small kernels in JavaScript, equal to
 * rounding). What a replay could not repeat is refused: a host read of a value the function
 * computes or receives (`item()`, `tolist()`, the library's host-side arithmetic such as solver
 * tolerances; use fixed iteration counts), a random draw from a generator that is not an
 * argument, JavaScript writes to tensor data, an async function. Outputs are returned without
 * a graph: take gradients inside the jitted function (`jit(valueAndGrad(f))`).
 *
 * @throws TraceError when the function cannot be recorded or replayed; NumericalError when a
 * replayed check (a singular solve, a non-finite value) fails.
 */
export function jit<A extends unknown[], R>(fn: (...args: A) => R, opts: JitOptions = {}): JitFunction<A, R> {
  if (typeof fn !== 'function') throw typeError('jit', 'fn', 'a function', fn);
  if (opts === null || typeof opts !== 'object') throw typeError('jit', 'opts', 'an options object', opts);
  const statics = new Set(opts.staticArgnums ?? []);
  for (const i of statics) if (!Number.isInteger(i) || i < 0) throw typeError('jit', 'opts.staticArgnums', 'non-negative integers', opts.staticArgnums);
  const cacheSize = opts.cacheSize ?? 8;
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw typeError('jit', 'opts.cacheSize', 'a positive integer', opts.cacheSize);
  const verify = opts.verify ?? true;
  if (typeof verify !== 'boolean') throw typeError('jit', 'opts.verify', 'a boolean', opts.verify);
  const cache = new Map<string, Recording>();
  const info: JitCacheInfo = { signatures: 0, captures: 0, replays: 0, kernels: 0, arenaBytes: 0, capturedWrites: 0 };
  const batchedJits = new Map<string, (...a: unknown[]) => unknown>();
  const call = (...args: A): R => {
    if (args.some((a, i) => !statics.has(i) && hasBatched(a))) return callBatched(fn as (...a: unknown[]) => unknown, args, statics, opts, batchedJits) as R;
    const { key, leaves } = signatureOf(args, statics);
    const hit = cache.get(key);
    if (hit === undefined) {
      const { result, rec } = capture(fn as (...a: unknown[]) => unknown, args, leaves);
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
      cache.set(key, rec);
      info.captures++;
      info.signatures = cache.size;
      info.kernels = rec.kernels;
      info.capturedWrites = rec.capturedWrites;
      info.arenaBytes = rec.arenaBytes;
      return result as R;
    }
    cache.delete(key); // least recently used first in iteration order
    cache.set(key, hit);
    if (verify && !hit.verified) return verified(fn as (...a: unknown[]) => unknown, hit, args, leaves, statics, info) as R;
    info.replays++;
    return replay(hit, leaves) as R;
  };
  return Object.assign(call, { cacheInfo: (): JitCacheInfo => ({ ...info }) });
}

function hasBatched(x: unknown): boolean {
  return leavesOf(x).some(isBatched);
}

/**
 * vmap's rule for a jitted call (as JAX batches a jitted function): the innermost vmap level of
 * the arguments becomes an explicit leading dimension, and the call goes to `jit(vmap(fn))` with
 * that dimension mapped (recursively, one level at a time, when the arguments are batched at
 * several levels); the outputs are batched at that level again. One jit per pattern of mapped
 * arguments.
 */
function callBatched(
  fn: (...a: unknown[]) => unknown, args: unknown[], statics: ReadonlySet<number>, opts: JitOptions, jits: Map<string, (...a: unknown[]) => unknown>,
): unknown {
  const level = Math.max(-1, ...args.flatMap((a, i) => (statics.has(i) ? [] : unionLevels(leavesOf(a)))));
  // Each tensor batched at `level` shows that level as its leading logical dimension (it is the
  // innermost level, so its physical dimension comes right after the outer levels' ones).
  const peel = (x: unknown): [unknown, unknown] => {
    if (isTensor(x)) {
      if (!isBatched(x) || !x.levels.includes(level)) return [x, null];
      return [batchedOf(x.value, x.levels.filter((l) => l !== level)), 0];
    }
    if (Array.isArray(x)) {
      const parts = x.map(peel);
      return [parts.map((p) => p[0]), parts.map((p) => p[1])];
    }
    if (isPlainObject(x)) {
      const keys = Object.keys(x);
      const parts = keys.map((k) => peel(x[k]));
      return [Object.fromEntries(keys.map((k, i) => [k, parts[i][0]])), Object.fromEntries(keys.map((k, i) => [k, parts[i][1]]))];
    }
    return [x, null];
  };
  const peeled = args.map((a, i) => (statics.has(i) ? [a, null] : peel(a)));
  const inDims = peeled.map((p) => p[1]);
  const key = JSON.stringify(inDims);
  let inner = jits.get(key);
  if (inner === undefined) {
    inner = jit(vmap(fn, { inDims: inDims as VmapDims }), opts) as (...a: unknown[]) => unknown;
    jits.set(key, inner);
  }
  const [outs, spec] = flatten(inner(...peeled.map((p) => p[0])));
  return unflatten(spec, outs.map((t) => {
    const [p, levels] = physicalOf(t);
    return batchedOf(p, [...levels, level]);
  }));
}

/** The first replay of a signature, checked against an eager run (native kernels) on copies. */
function verified(fn: (...a: unknown[]) => unknown, rec: Recording, args: unknown[], leaves: readonly TracedLeaf[], statics: ReadonlySet<number>, info: JitCacheInfo): unknown {
  rec.verified = true;
  // The eager run must not touch the real arguments (in-place updates would apply twice), and
  // captured tensors it updates in place are put back before the replay updates them.
  const copies = cloneArgs(args, statics);
  const eagerLeaves = signatureOf(copies, statics).leaves;
  const saved = rec.captured.map((c) => c.slice());
  let expected: unknown;
  let expectedCaptured: ReplayBuffer[];
  try {
    expected = withoutReports(() => asReplayed(() => fn(...copies)));
    expectedCaptured = rec.captured.map((c) => c.slice());
  } finally {
    rec.captured.forEach((c, i) => c.set(saved[i] as never));
  }
  const got = replay(rec, leaves);
  info.replays++;
  const a = leavesOf(expected);
  const b = leavesOf(got);
  const why =
    'the function reads values on the host that the recording cannot see (such as .data, or a branch on a value), changes tensors from JavaScript, ' +
    'or keeps state in JavaScript that changes between calls (a counter, an object-oriented optimizer\'s step count); keep values and such state as tensor arguments, or call it without jit';
  const bad = a.length !== b.length ? 0 : a.findIndex((t, i) => !sameBits(t.data, b[i].data) || t.shape.join() !== b[i].shape.join());
  if (bad >= 0) throw new TraceError(`jit: the replay of the recording differs from an eager call on the same arguments (output ${bad}); ${why}`);
  const j = leaves.findIndex((l, i) => l instanceof Tensor && !sameBits(l.data, (eagerLeaves[i] as Tensor).data));
  if (j >= 0) throw new TraceError(`jit: replaying the recording updated argument leaf ${j} (shape ${fmtShape((leaves[j] as Tensor).shape)}) differently from an eager call; ${why}`);
  const k = rec.captured.findIndex((c, i) => !sameBits(c, expectedCaptured[i]));
  if (k >= 0) throw new TraceError(`jit: replaying the recording updated a captured tensor (${rec.captured[k].length} elements) differently from an eager call; ${why}`);
  return got;
}
