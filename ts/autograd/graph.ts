/** Graph queries used by the function transforms. */
import type { Tensor } from '../tensor/tensor';
import type { Node } from './node';

/**
 * True when the graph behind `roots` reaches a leaf that requires grad other than those in
 * `inside`, i.e. when the roots depend on tensors from outside a transform.
 */
export function reachesOutside(roots: readonly Tensor[], inside: ReadonlySet<Tensor>): boolean {
  const seen = new Set<Node>();
  const stack: Node[] = [];
  for (const r of roots) {
    if (r.gradFn === null) {
      if (r.requiresGrad && !inside.has(r)) return true;
    } else stack.push(r.gradFn as Node);
  }
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) {
      if (e === null) continue;
      if ('leaf' in e) {
        if (!inside.has(e.leaf)) return true;
      } else stack.push(e.node);
    }
  }
  return false;
}
