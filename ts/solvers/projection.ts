/**
 * `mg.projection`: Euclidean projections onto convex sets, projection(x, hyperparams), for
 * ProjectedGradient (JAXopt's `jaxopt.projection`). Written in differentiable ops (the simplex's
 * support is found on the host, then the projection is expressed on it), so solutions are
 * differentiable in x and in the hyperparameters (a box's bounds, a ball's radius). They work
 * inside vmap, per member.
 *
 * @module
 */
import { div, maximum, minimum, mul, relu, sub } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import { batchOf, batchedOf, physicalOf } from '../tensor/batched';
import { batchedOver } from '../ops/broadcast';
import { allocate } from '../tensor/dtype';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { wrap } from '../ops/util';
import { map } from '../tree/tree';
import { treeNormT } from '../tree/tree-math';
import { describe } from '../errors';
import { layoutOf, ravel, unravel } from '../tree/tree-vector';

/** A bound or parameter: a number or a tensor (broadcastable to the leaves, differentiable). */
export type Bound = number | Tensor;

function bound(fn: string, arg: string, v: unknown): Bound {
  if (typeof v === 'number' && !Number.isNaN(v)) return v;
  if (isTensor(v)) return v;
  throw new TypeError(`mg.projection.${fn}: argument '${arg}' must be a number or a Tensor, got ${describe(v)}`);
}

/** Onto the non-negative orthant: max(x, 0). */
export function nonNegative<T>(x: T, _hyperparams?: unknown): T {
  return map<T>((v) => relu(v), x);
}

/** Onto the box lower ≤ x ≤ upper (`hyperparams = [lower, upper]`, numbers or tensors). */
export function box<T>(x: T, hyperparams: readonly [Bound, Bound]): T {
  if (!Array.isArray(hyperparams) || hyperparams.length !== 2) throw new TypeError(`mg.projection.box: argument 'hyperparams' must be [lower, upper], got ${describe(hyperparams)}`);
  const lo = bound('box', 'lower', hyperparams[0]);
  const hi = bound('box', 'upper', hyperparams[1]);
  return map<T>((v) => minimum(maximum(v, lo), hi), x);
}

/** Onto the l2 ball of `radius` (default 1) over the whole tree: x·min(1, r/‖x‖). */
export function l2Ball<T>(x: T, radius: Bound = 1): T {
  const r = bound('l2Ball', 'radius', radius);
  const norm = treeNormT(x);
  const factor = minimum(div(r, maximum(norm, 1e-30)), 1);
  return map<T>((v) => mul(v, factor), x);
}

/**
 * Each member's support of the projection of `v` (its physical rows) onto the simplex of sum s:
 * sort, then the largest k with v_(k) − (Σ_{i≤k} v_(i) − s)/k > 0 (Held et al.; Duchi et al. 2008).
 */
function simplexSupport(v: Tensor, s: Tensor): Tensor {
  const { levels, sizes } = batchOf([v, s]);
  const pv = physicalOf(batchedOver(v, levels, sizes))[0];
  const ps = physicalOf(batchedOver(s, levels, sizes))[0];
  const n = v.shape[0];
  const count = pv.numel / n;
  const xs = hostRead('mg.projection.simplex', pv.data);
  const ss = hostRead('mg.projection.simplex', ps.data);
  const mask = allocate(v.dtype, pv.numel);
  for (let m = 0; m < count; m++) {
    const row = Array.from(xs.subarray(m * n, (m + 1) * n));
    const order = row.map((_, i) => i).sort((a, b) => row[b] - row[a]);
    let acc = 0;
    let k = 0;
    for (let j = 0; j < n; j++) {
      acc += row[order[j]];
      if (row[order[j]] - (acc - ss[m]) / (j + 1) > 0) k = j + 1;
    }
    for (let j = 0; j < k; j++) mask[m * n + order[j]] = 1;
  }
  return batchedOf(wrap(mask, pv.shape), levels);
}

/**
 * Onto the simplex {z ≥ 0, Σz = value} (default value 1) over the whole tree (its leaves
 * concatenated): z = max(x − τ, 0) with τ = (Σ_{support} x − value)/|support|.
 */
export function simplex<T>(x: T, value: Bound = 1): T {
  const layout = layoutOf(x);
  const v = ravel(x);
  const s = bound('simplex', 'value', value);
  const st = isTensor(s) ? s : wrap(Float64Array.of(s), []);
  const mask = simplexSupport(v, st);
  const tau = div(sub(sum(mul(mask, v)), s), sum(mask));
  return unravel<T>(relu(sub(v, tau)), layout);
}
