/**
 * The members of a linear solve: one system outside vmap, one per member of the batch inside it
 * (a vmapped customRoot's backward solves a system per task). The Krylov solvers keep their
 * vectors as (batched) tensors and their scalars — step sizes, residual norms, tolerances,
 * iteration counts, convergence — per member, so that a member that has converged stops changing
 * while the others go on, and a failure names its member.
 */
import { NumericalError } from '../errors';
import { batchedOver } from '../ops/broadcast';
import { where } from '../ops/elementwise';
import { scalarOf, wrap } from '../ops/util';
import { allocate, type DType, type FloatArray } from '../tensor/dtype';
import { batchOf, batchedOf, physicalOf } from '../tensor/batched';
import { numelOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { treeNorm, treeNormT, treeVdot } from '../tree/tree-math';
import { to } from '../ops/cast';
import { hostRead, recordFiniteCheck } from '../tensor/trace';
import type { Problem, Vec } from './operator';

/** How a solve's vectors are batched. @internal */
export interface Members {
  /** Number of independent systems (1 outside vmap). */
  readonly count: number;
  /** vmap levels of the batch (empty outside vmap) and their sizes. */
  readonly levels: readonly number[];
  readonly sizes: readonly number[];
  /** `v` with every leaf batched over all levels (unbatched leaves repeated), so members line up. */
  full(v: Vec): Vec;
  /** Each member's value of a (batched) one-element tensor. */
  values(t: Tensor): Float64Array;
  /** Each member's Euclidean norm over all leaves of `v` (float64, overflow-safe as treeNorm). */
  norms(v: Vec): Float64Array;
  /** Each member's Σ over leaves of ⟨a, b⟩ as numbers (float64 accumulation, as treeVdot). */
  dots(a: Vec, b: Vec): Float64Array;
  /** `t` where `active[m]`, 0 elsewhere, per member: freezes the members that have stopped. */
  mask(t: Tensor, active: readonly boolean[]): Tensor;
  /** "member m: " inside vmap, "" outside: the prefix of a failure's message. */
  label(m: number): string;
  /** Per-member numbers as a (batched) 0-d tensor of `dtype`, a step size for the tree ops. */
  scalar(values: ArrayLike<number>, dtype: DType): Tensor;
}

/** The members of problem `p` (from the batching of its right-hand side). @internal */
export function membersOf(p: Problem): Members {
  const { levels, sizes } = batchOf(p.b);
  const count = numelOf(sizes);
  if (levels.length === 0) {
    return {
      count: 1,
      levels,
      sizes,
      full: (v) => v,
      values: (t) => Float64Array.of(t.item()),
      norms: (v) => Float64Array.of(treeNorm(v)),
      dots: (a, b) => Float64Array.of(treeVdot(a, b)),
      mask: (t, active) => (active[0] ? t : scalarOf(0, t.dtype)),
      label: () => '',
      scalar: (values, dtype) => scalarOf(values[0], dtype),
    };
  }
  const full = (v: Vec): Vec => v.map((t) => batchedOver(t, levels, sizes));
  const scalars = (values: ArrayLike<number>, dtype: DType): Tensor => {
    const data = allocate(dtype, count);
    data.set(values);
    return batchedOf(wrap(data, sizes), levels);
  };
  return {
    count,
    levels,
    sizes,
    full,
    values: (t) => {
      const p = physicalOf(full([t])[0])[0];
      return Float64Array.from(hostRead('linalg', p.data));
    },
    norms: (v) => memberNorms(v, levels, sizes),
    dots: (a, b) => {
      const out = new Float64Array(count);
      const [pa, pb] = [full(a), full(b)].map((v) => v.map((t) => hostRead('treeVdot', physicalOf(t)[0].data)));
      pa.forEach((x, i) => {
        const y = pb[i];
        const chunk = x.length / count;
        for (let m = 0; m < count; m++) {
          let acc = 0;
          for (let j = m * chunk, end = j + chunk; j < end; j++) acc += x[j] * y[j];
          out[m] += acc;
        }
      });
      return out;
    },
    mask: (t, active) => (active.every(Boolean) ? t : where(scalars(active.map(Number), t.dtype), t, 0)),
    label: (m) => `member ${m} of the vmap batch: `,
    scalar: scalars,
  };
}

/** Throws unless every member's tolerance is finite (a non-finite right-hand side). @internal */
export function checkFiniteNorms(p: Problem, mb: Members, bnorms: Float64Array): void {
  bnorms.forEach((bn, m) => {
    if (!Number.isFinite(bn)) throw new NumericalError(`${p.fn}: ${mb.label(m)}the right-hand side b has non-finite entries (‖b‖ = ${bn})`);
  });
}

/**
 * Each member's Euclidean norm over the leaves of `v` (as treeNorm, float64 and overflow-safe),
 * over `levels` (by default the leaves' own union): one entry outside vmap.
 */
export function memberNorms(v: readonly Tensor[], levels: readonly number[] = batchOf(v).levels, sizes: readonly number[] = batchOf(v).sizes): Float64Array {
  if (levels.length === 0) return Float64Array.of(treeNorm(v));
  const count = numelOf(sizes);
  const leaves = v.map((t) => physicalOf(batchedOver(t, levels, sizes))[0]);
  const out = new Float64Array(count);
  for (let m = 0; m < count; m++) {
    // The member's slices, normed as treeNorm norms a tree.
    out[m] = treeNorm(leaves.map((q) => {
      const chunk = q.numel / count;
      return wrap(q.data.subarray(m * chunk, (m + 1) * chunk), [chunk]);
    }));
  }
  return out;
}

/**
 * {@link memberNorms} as a jit recording computes it: by kernels (not overflow-safe), each
 * member's norm as float64 values that exist at replay. @internal
 */
export function memberNormsRecorded(v: readonly Tensor[], levels: readonly number[] = batchOf(v).levels, sizes: readonly number[] = batchOf(v).sizes): Float64Array {
  return to(physicalOf(treeNormT(v.map((t) => batchedOver(t, levels, sizes))))[0], 'float64').data as Float64Array;
}

/** The values of `t`, all members' (its physical tensor's) inside vmap. @internal */
export function valuesOf(t: Tensor): ArrayLike<number> {
  return hostRead('linalg', physicalOf(t)[0].data);
}

/** Per member, `yes` where `take[m]`, else `no` (leaf by leaf; plain choice outside vmap). @internal */
export function pickMembers(take: readonly boolean[], yes: Vec, no: Vec, levels: readonly number[], sizes: readonly number[]): Vec {
  if (take.every(Boolean)) return yes;
  if (!take.some(Boolean)) return no;
  const data = allocate('float64', take.length);
  take.forEach((t, m) => {
    data[m] = t ? 1 : 0;
  });
  const mask = batchedOf(wrap(data, sizes), levels);
  return yes.map((y, i) => where(mask, y, no[i]));
}

/**
 * Under a jit recording: checks, run at every replay, that each leaf of `v` (all members) is
 * finite and that `flags` (a per-member 0/1 tensor, when given) is 0 everywhere; a failure raises
 * a NumericalError with `message`. @internal
 */
export function recordMemberChecks(v: readonly Tensor[], flags: Tensor | null, message: string): void {
  const poisoned = flags === null ? [] : [where(flags, Number.NaN, 0)];
  for (const t of [...v, ...poisoned]) recordFiniteCheck(physicalOf(t)[0].data as FloatArray, message); // solver iterates: floating
}
