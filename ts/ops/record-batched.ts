/**
 * Recording a custom node whose inputs or outputs vmap batched (customRoot's implicit node, a
 * linear solve's): the node joins the graph of the physical tensors, and its backward sees its
 * tensors as it saw them in the forward, batched. A gradient batched over levels an input is not
 * batched over (a shared θ of a vmapped inner problem) is summed over those members, which is
 * the derivative of the whole batch with respect to the shared input.
 */
import { type BackwardFn, recordMulti } from '../autograd/node';
import { batchedOf, isBatched, physicalOf } from '../tensor/batched';
import type { Tensor } from '../tensor/tensor';
import { broadcastTo } from './broadcast';
import { sum } from './reduce';
import { alignBatched } from './shape';

/** {@link recordMulti} for possibly batched inputs and outputs; returns `outputs`. */
export function recordMultiBatched(name: string, inputs: Tensor[], outputs: Tensor[], backward: BackwardFn): Tensor[] {
  if (!inputs.some(isBatched) && !outputs.some(isBatched)) return recordMulti(name, inputs, outputs, backward);
  recordMulti(
    name,
    inputs.map((t) => physicalOf(t)[0]),
    outputs.map((t) => physicalOf(t)[0]),
    (grads, needs) => {
      const res = backward(grads.map((g, i) => (g === null ? null : batchedOf(g, physicalOf(outputs[i])[1]))), needs);
      return res.map((r, i) => (r === null ? null : physicalFor(r, inputs[i])));
    },
  );
  return outputs;
}

/** A gradient `g` for input `x` as a tensor of x's physical shape: extra levels summed, missing ones repeated. */
function physicalFor(g: Tensor, x: Tensor): Tensor {
  const [pg, lg] = physicalOf(g);
  const [px, lx] = physicalOf(x);
  const extra = lg.map((l, i) => [l, i] as const).filter(([l]) => !lx.includes(l));
  const kept = lg.filter((l) => lx.includes(l));
  const summed = extra.length === 0 ? pg : sum(pg, extra.map(([, i]) => i));
  const aligned = alignBatched(batchedOf(summed, kept), lx, x.ndim);
  return broadcastTo(aligned, px.shape);
}
