/**
 * The common ground of the iterative solvers: the right-hand side as a flat list of leaves, linear
 * operators (a function on trees, a matrix, or a block-diagonal tree of matrices) as maps on such
 * lists, initial guesses checked against b, tolerances and default iteration limits.
 */
import { NumericalError, describe } from '../errors';
import { matmul } from '../ops/matmul';
import { reshape } from '../ops/shape';
import { zerosOf } from '../ops/util';
import { fmtShape, sameShape } from '../tensor/shape';
import { type Tensor, checkAttached, isTensor } from '../tensor/tensor';
import { type TreeSpec, flatten, sameStructure, unflatten } from '../tree/tree';
import { treeNorm } from '../tree/tree-math';
import { layoutOf, ravel, unravel } from '../tree/tree-vector';

/** A tree of matrices: a matrix Tensor, or arrays / plain objects of such trees. */
export type MatrixTree = Tensor | readonly MatrixTree[] | { readonly [key: string]: MatrixTree };

/**
 * A linear operator on trees of type `T`: a function `x -> A x`, a square matrix acting on all of
 * b's elements in flatten order, or a tree of square matrices with b's structure (block diagonal,
 * one block per leaf, as TorchOpt).
 */
export type LinearOperator<T> = ((x: T) => T) | MatrixTree;

/** A vector as the flat list of a tree's leaves. @internal */
export type Vec = Tensor[];

/** A linear map on flat leaf lists. @internal */
export type VecOp = (v: Vec) => Vec;

/** The right-hand side of a solve, flattened once. @internal */
export interface Problem {
  /** The solver's name for messages. */
  readonly fn: string;
  /** b as given. */
  readonly tree: unknown;
  readonly spec: TreeSpec;
  /** b's leaves. */
  readonly b: Vec;
  /** Total number of elements of b. */
  readonly n: number;
}

/** Flattens b, which must hold at least one tensor. @internal */
export function problemOf(fn: string, b: unknown): Problem {
  const [leaves, spec] = flatten(b);
  if (leaves.length === 0) {
    throw new TypeError(`${fn}: argument 'b' must be a Tensor or a tree of tensors, got ${describe(b)} (no tensor leaves)`);
  }
  leaves.forEach((t, i) => checkAttached(fn, leaves.length === 1 ? 'b' : `b (leaf ${i})`, t));
  return { fn, tree: b, spec, b: leaves, n: leaves.reduce((s, t) => s + t.numel, 0) };
}

/** Rebuilds a tree with b's structure from leaves. @internal */
export function toTree<T>(p: Problem, v: Vec): T {
  return unflatten<T>(p.spec, v);
}

/**
 * The leaves of `tree`, checked to have b's structure, leaf shapes and dtypes; `what` names the
 * value in messages (e.g. `x0`, `A(x)`). @internal
 */
export function leavesLike(p: Problem, what: string, tree: unknown): Vec {
  const [leaves] = flatten(tree);
  if (leaves.length !== p.b.length || !sameStructure(tree, p.tree)) {
    throw new RangeError(
      `${p.fn}: ${what} must have the structure of b (${p.b.length} tensor leaves), got ${describe(tree)} with ${leaves.length} tensor leaves`,
    );
  }
  leaves.forEach((t, i) => {
    const want = p.b[i];
    if (!sameShape(t.shape, want.shape)) {
      throw new RangeError(`${p.fn}: leaf ${i} of ${what} has shape ${fmtShape(t.shape)} but b's has shape ${fmtShape(want.shape)}`);
    }
    if (t.dtype !== want.dtype) {
      throw new TypeError(`${p.fn}: leaf ${i} of ${what} has dtype ${t.dtype} but b's has dtype ${want.dtype}`);
    }
  });
  return leaves;
}

/** The initial guess as leaves, or null when absent. @internal */
export function initialOf(p: Problem, name: string, x0: unknown): Vec | null {
  if (x0 === undefined) return null;
  return leavesLike(p, name, x0);
}

/** Zero leaves shaped like b. @internal */
export function zerosVec(p: Problem): Vec {
  return p.b.map((t) => zerosOf(t.shape, t.dtype));
}

function checkSquare(p: Problem, name: string, m: Tensor, n: number, dtype: string, what: string): void {
  if (m.ndim !== 2 || m.shape[0] !== n || m.shape[1] !== n) {
    throw new RangeError(`${p.fn}: ${name} must be a square matrix of shape [${n}, ${n}] (${what}), got shape ${fmtShape(m.shape)}`);
  }
  if (m.dtype !== dtype) throw new TypeError(`${p.fn}: ${name} has dtype ${m.dtype} but b has dtype ${dtype}`);
}

/**
 * `A` as a map on leaf lists. A function is wrapped so that every result is checked against b's
 * structure; a single matrix acts on all elements of b in flatten order; a tree of matrices with
 * b's structure acts block-diagonally. @internal
 */
export function operatorOf(p: Problem, name: string, A: unknown): VecOp {
  if (typeof A === 'function') {
    const f = A as (x: unknown) => unknown;
    return (v) => leavesLike(p, `${name}(x)`, f(unflatten(p.spec, v)));
  }
  if (isTensor(A) && p.b.length > 1) {
    const dtypes = new Set(p.b.map((t) => t.dtype));
    if (dtypes.size > 1) throw new TypeError(`${p.fn}: a single matrix ${name} needs all leaves of b to share one dtype, got ${[...dtypes].join(' and ')}`);
    checkSquare(p, name, A, p.n, p.b[0].dtype, `b has ${p.n} elements over ${p.b.length} leaves`);
    return (v) => unravel<Vec>(matmul(A, ravel(v)), layoutOf(v));
  }
  const [mats] = flatten(A);
  if (mats.length === 0 || mats.length !== p.b.length || !sameStructure(A, p.tree)) {
    throw new TypeError(
      `${p.fn}: argument '${name}' must be a function v -> A v, a square matrix, or a tree of square matrices with b's structure (${p.b.length} leaves), got ${describe(A)}`,
    );
  }
  mats.forEach((m, i) => checkSquare(p, mats.length === 1 ? name : `${name} block ${i}`, m, p.b[i].numel, p.b[i].dtype, `leaf ${i} of b has ${p.b[i].numel} elements`));
  return (v) => v.map((t, i) => reshape(matmul(mats[i], reshape(t, [t.numel])), t.shape));
}

/** ‖b‖ and the stopping threshold max(rtol·‖b‖, atol); a non-finite b is a numerical error. @internal */
export function toleranceOf(p: Problem, rtol: number, atol: number): { bnorm: number; tol: number } {
  const bnorm = treeNorm(p.b);
  if (!Number.isFinite(bnorm)) throw new NumericalError(`${p.fn}: the right-hand side b has non-finite entries (‖b‖ = ${bnorm})`);
  return { bnorm, tol: Math.max(rtol * bnorm, atol) };
}

/** Default iteration limit: `factor` times the number of elements of b, never below `floor` (>= 1). @internal */
export function defaultMaxiter(p: Problem, factor = 10, floor = 1): number {
  return Math.max(floor, 1, factor * p.n);
}

/** Throws a NumericalError unless `value` is finite. @internal */
export function checkFiniteValue(p: Problem, what: string, value: number, iteration: number): void {
  if (!Number.isFinite(value)) {
    throw new NumericalError(`${p.fn}: ${what} is ${value} at iteration ${iteration}; the operator or the right-hand side produced non-finite values`);
  }
}
