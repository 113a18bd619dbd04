/**
 * A tree of tensors as one flat vector and back: a single matrix acting on all of b's leaves
 * (linalg) and the solvers that keep histories of iterates (Anderson, Broyden, LBFGS) do their
 * linear algebra on flat vectors, differentiably and under vmap (the shapes here are the logical,
 * per-member ones).
 */
import { cat, narrow } from '../ops/indexing';
import { reshape } from '../ops/shape';
import type { Tensor } from '../tensor/tensor';
import { type TreeSpec, flatten, unflatten } from './tree';

/** How to turn a flat vector back into the tree it came from. @internal */
export interface Layout {
  spec: TreeSpec;
  shapes: number[][];
  sizes: number[];
}

/** The layout of a tree's leaves. @internal */
export function layoutOf(tree: unknown): Layout {
  const [ls, spec] = flatten(tree);
  return { spec, shapes: ls.map((t) => t.shape.slice()), sizes: ls.map((t) => t.numel) };
}

/** The leaves of `tree` concatenated into one vector. @internal */
export function ravel(tree: unknown): Tensor {
  const ls = flatten(tree)[0].map((t) => reshape(t, [t.numel]));
  return ls.length === 1 ? ls[0] : cat(ls, 0);
}

/** A vector cut back into a tree of `layout`. @internal */
export function unravel<T>(v: Tensor, layout: Layout): T {
  if (layout.sizes.length === 1) return unflatten<T>(layout.spec, [reshape(v, layout.shapes[0])]);
  let k = 0;
  const ls = layout.shapes.map((shape, i) => {
    const part = reshape(narrow(v, 0, k, layout.sizes[i]), shape);
    k += layout.sizes[i];
    return part;
  });
  return unflatten<T>(layout.spec, ls);
}
