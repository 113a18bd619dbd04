/**
 * Arithmetic on trees of tensors, as used by the linear solvers and the optimizers.
 *
 * Two families:
 * - tree-valued functions (`treeAdd`, `treeScale`, `treeAxpy`, …) are built from differentiable
 *   tensor ops, so they record a graph when grad mode is on and are plain arithmetic otherwise;
 * - number-valued functions (`treeVdot`, `treeNorm`) read raw values (no graph) and accumulate in
 *   float64; their differentiable counterparts (`treeVdotT`, `treeNormT`) return 0-d tensors.
 *
 * Leaf-wise operations require the two trees to have the same structure and leaf shapes: tree
 * arithmetic that broadcast silently would hide structure bugs.
 */
import { record } from '../autograd/node';
import { rangeError, typeError } from '../errors';
import { type DType, type FloatArray, promoteTypes, requireFloating } from '../tensor/dtype';
import { fmtShape, numelOf, sameShape } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { to } from '../ops/cast';
import { add, div, mul, neg, sqrt, sub } from '../ops/elementwise';
import { reshape } from '../ops/shape';
import { scalarOf, wrap, zerosOf } from '../ops/util';
import { materializeBatched } from '../ops/broadcast';
import { allocate } from '../tensor/dtype';
import { dotRowsInto } from '../tensor/kernels/reduce';
import { hostRead } from '../tensor/trace';
import { detach } from '../ops/inplace';
import { batchOf, batchedOf, isBatched } from '../tensor/batched';
import { flatten, sameStructure, unflatten } from './tree';

/** A scalar factor: a number or a one-element tensor (which keeps the result differentiable in it). */
export type Scalar = number | Tensor;

/** The leaves of two trees, checked to have the same structure and leaf shapes. */
function alignedLeaves(fn: string, a: unknown, b: unknown): [Tensor[], Tensor[], ReturnType<typeof flatten>[1]] {
  const [la, spec] = flatten(a);
  const [lb] = flatten(b);
  if (la.length !== lb.length || !sameStructure(a, b)) {
    throw new RangeError(`${fn}: the two trees have different structures (${la.length} and ${lb.length} tensor leaves)`);
  }
  for (let i = 0; i < la.length; i++) {
    if (!sameShape(la[i].shape, lb[i].shape)) {
      throw new RangeError(`${fn}: leaf ${i} has shape ${fmtShape(la[i].shape)} in the first tree and ${fmtShape(lb[i].shape)} in the second`);
    }
  }
  return [la, lb, spec];
}

/** A scalar as a 0-d tensor of `dtype` (differentiable cast) or as a number. */
function scalarFor(fn: string, s: Scalar, dtype: DType): Scalar {
  if (typeof s === 'number') return s;
  if (!isTensor(s)) throw typeError(fn, 'scalar', 'a number or a one-element Tensor', s);
  if (s.numel !== 1) throw rangeError(fn, 'scalar', 'a one-element Tensor', `a Tensor of shape ${fmtShape(s.shape)}`);
  const t = s.ndim === 0 ? s : reshape(s, []);
  return t.dtype === dtype ? t : to(t, dtype);
}

function mapLeaves<T>(spec: ReturnType<typeof flatten>[1], leaves: Tensor[]): T {
  return unflatten<T>(spec, leaves);
}

/** Total number of elements over the tensor leaves. */
export function treeNumel(tree: unknown): number {
  return flatten(tree)[0].reduce((n, t) => n + t.numel, 0);
}

/** New zero tensors with each leaf's shape and dtype (leaves that do not require grad). */
export function treeZerosLike<T>(tree: T): T {
  const [ls, spec] = flatten(tree);
  return mapLeaves<T>(spec, ls.map((t) => zerosOf(t.shape, t.dtype)));
}

/** `a + alpha·b` leaf by leaf. */
export function treeAdd<T>(a: T, b: unknown, alpha: Scalar = 1): T {
  const [la, lb, spec] = alignedLeaves('treeAdd', a, b);
  return mapLeaves<T>(spec, la.map((x, i) => {
    const s = scalarFor('treeAdd', alpha, lb[i].dtype);
    return add(x, s === 1 ? lb[i] : mul(lb[i], s));
  }));
}

/** `a − alpha·b` leaf by leaf. */
export function treeSub<T>(a: T, b: unknown, alpha: Scalar = 1): T {
  const [la, lb, spec] = alignedLeaves('treeSub', a, b);
  return mapLeaves<T>(spec, la.map((x, i) => {
    const s = scalarFor('treeSub', alpha, lb[i].dtype);
    return sub(x, s === 1 ? lb[i] : mul(lb[i], s));
  }));
}

/** `s·a` leaf by leaf. */
export function treeScale<T>(a: T, s: Scalar): T {
  const [la, spec] = flatten(a);
  return mapLeaves<T>(spec, la.map((x) => mul(x, scalarFor('treeScale', s, x.dtype))));
}

/** `alpha·x + y` leaf by leaf (BLAS axpy). */
export function treeAxpy<T>(alpha: Scalar, x: unknown, y: T): T {
  const [lx, ly, spec] = alignedLeaves('treeAxpy', x, y);
  return mapLeaves<T>(spec, ly.map((v, i) => add(mul(lx[i], scalarFor('treeAxpy', alpha, lx[i].dtype)), v)));
}

/** Elementwise product `a ⊙ b` leaf by leaf. */
export function treeMul<T>(a: T, b: unknown): T {
  const [la, lb, spec] = alignedLeaves('treeMul', a, b);
  return mapLeaves<T>(spec, la.map((x, i) => mul(x, lb[i])));
}

/** Elementwise quotient `a / b` leaf by leaf. */
export function treeDiv<T>(a: T, b: unknown): T {
  const [la, lb, spec] = alignedLeaves('treeDiv', a, b);
  return mapLeaves<T>(spec, la.map((x, i) => div(x, lb[i])));
}

/** `−a` leaf by leaf. */
export function treeNeg<T>(a: T): T {
  const [la, spec] = flatten(a);
  return mapLeaves<T>(spec, la.map((x) => neg(x)));
}

/** Σ a·b over one pair of leaves, accumulated in float64. */
function dotRaw(a: Tensor, b: Tensor): number {
  const x = hostRead('treeVdot', a.data);
  const y = hostRead('treeVdot', b.data);
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i] * y[i];
  return acc;
}

/**
 * Inner product of two leaves as a 0-d tensor: the value is accumulated in float64 (then stored in
 * the promoted dtype); the backward rule is written in differentiable ops, so derivatives of any
 * order are exact.
 */
function dotT(a: Tensor, b: Tensor): Tensor {
  if (isBatched(a) || isBatched(b)) return batchedDotT(a, b);
  const dtype = requireFloating('treeVdot', 'input', promoteTypes(a.dtype, b.dtype));
  const out = wrap(allocate(dtype, 1, 'treeDot'), []);
  dotRowsInto(to(detach(a), dtype).data as FloatArray, to(detach(b), dtype).data as FloatArray, out.data as FloatArray);
  return record(
    'DotBackward0',
    [a, b],
    out,
    (g, needs) => [needs[0] ? to(mul(g, b), a.dtype) : null, needs[1] ? to(mul(g, a), b.dtype) : null],
    [a, b],
  );
}

/**
 * vmap's rule for {@link dotT}: one inner product per member (float64 accumulation, as unbatched),
 * recorded on the physical tensors.
 */
function batchedDotT(a: Tensor, b: Tensor): Tensor {
  const { levels, sizes } = batchOf([a, b]);
  const dtype = promoteTypes(a.dtype, b.dtype);
  const pa = materializeBatched(a, levels, sizes, a.ndim);
  const pb = materializeBatched(b, levels, sizes, b.ndim);
  const members = numelOf(sizes);
  const values = allocate(dtype, members, 'treeDot');
  dotRowsInto(to(detach(pa), dtype).data as FloatArray, to(detach(pb), dtype).data as FloatArray, values as FloatArray);
  const member = [...sizes, ...new Array<number>(a.ndim).fill(1)];
  const out = record(
    'DotBackward0',
    [pa, pb],
    wrap(values, sizes),
    (g, needs) => [needs[0] ? to(mul(reshape(g, member), pb), pa.dtype) : null, needs[1] ? to(mul(reshape(g, member), pa), pb.dtype) : null],
    [pa, pb],
  );
  return batchedOf(out, levels);
}

/** Σ over leaves of ⟨a, b⟩ as a number (values only, float64 accumulation, no graph). */
export function treeVdot(a: unknown, b: unknown): number {
  const [la, lb] = alignedLeaves('treeVdot', a, b);
  let acc = 0;
  for (let i = 0; i < la.length; i++) acc += dotRaw(la[i], lb[i]);
  return acc;
}

/**
 * Euclidean norm over all leaves as a number (values only, float64 accumulation). Entries too
 * large to square (beyond ~1e154) are handled by rescaling, so a finite tree has a finite norm.
 */
export function treeNorm(a: unknown): number {
  const [la] = flatten(a);
  let acc = 0;
  for (const t of la) acc += dotRaw(t, t);
  if (acc !== Number.POSITIVE_INFINITY) return Math.sqrt(acc); // NaN stays NaN
  let scale = 0;
  for (const t of la) for (let i = 0; i < t.data.length; i++) scale = Math.max(scale, Math.abs(hostRead('treeNorm', t.data)[i]));
  if (!Number.isFinite(scale)) return scale;
  let s = 0;
  for (const t of la) {
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i] / scale;
      s += v * v;
    }
  }
  return scale * Math.sqrt(s);
}

/**
 * Σ over leaves of ⟨a, b⟩ as a differentiable 0-d tensor (dtype: the leaves' promoted dtype;
 * float64 accumulation). An empty tree gives a float64 zero.
 */
export function treeVdotT(a: unknown, b: unknown): Tensor {
  const [la, lb] = alignedLeaves('treeVdotT', a, b);
  if (la.length === 0) return scalarOf(0, 'float64');
  let acc = dotT(la[0], lb[0]);
  for (let i = 1; i < la.length; i++) acc = add(acc, dotT(la[i], lb[i]));
  return acc;
}

/** Euclidean norm over all leaves as a differentiable 0-d tensor (its gradient is infinite at 0). */
export function treeNormT(a: unknown): Tensor {
  return sqrt(treeVdotT(a, a));
}
