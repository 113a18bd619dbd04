/** Adding updates to parameters (TorchOpt's `apply_updates`). */
import { noGrad } from '../autograd/grad-mode';
import { typeError } from '../errors';
import * as el from '../ops/elementwise';
import * as ip from '../ops/inplace';
import { fmtShape, sameShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { flattenLeaves, unflattenLeaves } from './flat';
import type { Leaf } from './types';

/** Options of {@link applyUpdates}. */
export interface ApplyUpdatesOptions {
  /** Add into the parameters' storage (default true); otherwise return new graph-connected tensors p + u. */
  inplace?: boolean;
}

/**
 * params + updates, leaf by leaf (a null update leaves its parameter unchanged). In place
 * (default) the parameters' values change without recording (TorchOpt's `p.data.add_(u)`; allowed
 * on leaves that require grad) and `params` itself is returned; otherwise each parameter becomes
 * p + u, differentiable with respect to both, for unrolled differentiation.
 */
export function applyUpdates<T>(params: T, updates: unknown, opts?: ApplyUpdatesOptions): T {
  const fn = 'applyUpdates';
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw typeError(fn, 'opts', 'an options object { inplace? }', opts);
  for (const k of Object.keys(opts ?? {})) {
    if (k !== 'inplace') throw new TypeError(`${fn}: unknown option '${k}'; the options are inplace`);
  }
  const inplace = opts?.inplace ?? true;
  if (typeof inplace !== 'boolean') throw typeError(fn, 'inplace', 'a boolean', inplace);
  const [ps, spec] = flattenLeaves(params);
  const [us] = flattenLeaves(updates);
  if (ps.length !== us.length) {
    throw new RangeError(`${fn}: updates has ${us.length} leaves but params has ${ps.length}; they must have the same structure`);
  }
  const pairs: [number, Tensor, Tensor][] = [];
  us.forEach((u, i) => {
    const p = ps[i];
    if (u === null) return;
    if (p === null) throw typeError(fn, `params leaf ${i}`, 'a Tensor (its update is not null)', p);
    if (!sameShape(p.shape, u.shape)) {
      throw new RangeError(`${fn}: the update of parameter ${i} has shape ${fmtShape(u.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
    }
    pairs.push([i, p, u]);
  });
  if (inplace) {
    noGrad(() => pairs.forEach(([, p, u]) => ip.add_(p, u)));
    return params;
  }
  const out: Leaf[] = ps.slice();
  for (const [i, p, u] of pairs) out[i] = el.add(p, u);
  return unflattenLeaves(spec, out) as T;
}
