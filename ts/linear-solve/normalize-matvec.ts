/** `normalizeMatvec`: a linear operator given as a function or a matrix tree, as a function (TorchOpt's `linalg.utils.normalize_matvec`). */
import { describe } from '../errors';
import { type LinearOperator, operatorOf, problemOf, toTree } from '../linalg/operator';
import { isTensor } from '../tensor/tensor';
import { flatten } from '../tree/tree';

/**
 * `A` as a function `x -> A x` on trees: a function is returned as is; a square matrix acts on all
 * elements of x in flatten order; a tree of square matrices with x's structure acts block-diagonally
 * (one block per leaf). Shapes are checked when the matvec is called.
 */
export function normalizeMatvec<T>(A: LinearOperator<T>): (x: T) => T {
  if (typeof A === 'function') return A;
  if (!isTensor(A) && flatten(A)[0].length === 0) {
    throw new TypeError(`normalizeMatvec: argument 'A' must be a function x -> A x, a square matrix or a tree of square matrices, got ${describe(A)}`);
  }
  return (x: T): T => {
    const p = problemOf('normalizeMatvec', x);
    return toTree<T>(p, operatorOf(p, 'A', A)(p.b));
  };
}
