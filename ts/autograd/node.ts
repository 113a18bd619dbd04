/**
 * Graph nodes: what a recorded operation remembers to compute its backward, and `record`, the one
 * function ops call to attach a node to their outputs.
 */
import { MetagradError } from '../errors';
import { isFloating } from '../tensor/dtype';
import { fmtShape } from '../tensor/shape';
import { type GradFn, Tensor } from '../tensor/tensor';
import { isGradEnabled } from './grad-mode';

/** Where an input's gradient goes: another node's output, a leaf, or nowhere. */
export type Edge = { node: Node; outputNr: number } | { leaf: Tensor } | null;

/**
 * Backward rule of one op: given the gradients of its outputs (null for an output that got none)
 * and which inputs need a gradient, returns one gradient (or null) per input. It must be written in
 * differentiable tensor operations so that higher derivatives are exact.
 */
export type BackwardFn = (grads: (Tensor | null)[], needs: boolean[]) => (Tensor | null)[];

/** Backward rule of a one-output op: called with that output's gradient. */
export type SingleBackwardFn = (grad: Tensor, needs: boolean[]) => (Tensor | null)[];

interface Saved {
  tensor: Tensor;
  version: number;
}

/** A recorded operation. */
export class Node implements GradFn {
  /** Edges to the inputs, aligned with the op's inputs. */
  readonly next: Edge[];
  /** Shapes of the outputs (to check gradient shapes and make zeros). */
  readonly outputShapes: (readonly number[])[];
  /**
   * Topological number: 1 + the largest of the input nodes' (leaves count 0). A path from a node
   * to another only goes down in this number, so a backward pass never needs to visit a node
   * numbered below its lowest target (PyTorch's topological_nr).
   */
  readonly topo: number;
  private backwardFn: BackwardFn | SingleBackwardFn | null;
  /** True when `backwardFn` takes the one output's gradient (no wrapper closure per node). */
  private readonly single: boolean;
  private saved: Saved[];
  /**
   * Scratch fields of the engine's planner (ts/autograd/engine.ts), valid while `_stamp` equals the
   * plan being built: planning never runs user code, so one set of fields per node suffices and no
   * per-pass maps are needed. @internal
   */
  _stamp = 0;
  /** @internal */
  _targetStamp = 0;
  /** @internal */
  _leads = false;
  /** @internal */
  _deps = 0;
  /** @internal */
  _slot = -1;
  /** Backward plans kept for this node as a root of retained graphs (engine.ts). @internal */
  _plans: unknown[] | null = null;

  constructor(
    readonly name: string,
    inputs: (Tensor | null)[],
    outputs: Tensor[],
    backward: BackwardFn | SingleBackwardFn,
    saved: Tensor[],
    single = false,
  ) {
    this.single = single;
    // Plain loops: a node is built for every recorded op, so this is on the hot path.
    const next: Edge[] = new Array<Edge>(inputs.length);
    let topo = 0;
    for (let i = 0; i < inputs.length; i++) {
      const e = edgeTo(inputs[i]);
      next[i] = e;
      if (e !== null && 'node' in e && e.node.topo > topo) topo = e.node.topo;
    }
    this.next = next;
    this.topo = topo + 1;
    // Tensor shapes are frozen, so they are kept, not copied.
    const shapes: (readonly number[])[] = new Array<readonly number[]>(outputs.length);
    for (let i = 0; i < outputs.length; i++) shapes[i] = outputs[i].shape;
    this.outputShapes = shapes;
    this.backwardFn = backward;
    const kept: Saved[] = new Array<Saved>(saved.length);
    for (let i = 0; i < saved.length; i++) kept[i] = { tensor: saved[i], version: saved[i]._version.value };
    this.saved = kept;
  }

  /** Number of outputs. */
  get numOutputs(): number {
    return this.outputShapes.length;
  }

  /** Runs the backward rule after checking that no saved tensor was modified in place. */
  apply(grads: (Tensor | null)[], needs: boolean[]): (Tensor | null)[] {
    if (this.backwardFn === null) {
      throw new MetagradError(
        `backward: trying to backward through the graph a second time (through ${this.name}); its saved tensors were freed. ` +
          'Pass retainGraph: true (or createGraph: true) to the first backward / autograd.grad call if you need to differentiate again.',
      );
    }
    for (const s of this.saved) {
      if (s.tensor._version.value !== s.version) {
        throw new MetagradError(
          `backward: one of the tensors needed for gradient computation has been modified by an in-place operation: ` +
            `${this.name} saved a tensor of shape ${fmtShape(s.tensor.shape)} at version ${s.version}, and it is now at version ` +
            `${s.tensor._version.value}. Modify a clone instead, or do the in-place update after the backward pass.`,
        );
      }
    }
    return this.single ? (this.backwardFn as SingleBackwardFn)(grads[0] as Tensor, needs) : (this.backwardFn as BackwardFn)(grads, needs);
  }

  /** Frees the backward closure and saved tensors (after a backward without retainGraph). */
  release(): void {
    this.backwardFn = null;
    this.saved = [];
  }
}

function edgeTo(t: Tensor | null): Edge {
  if (t === null || !t.requiresGrad) return null;
  if (t.gradFn === null) return { leaf: t };
  return { node: t.gradFn as Node, outputNr: t.outputNr };
}

/** True when an op on these inputs must be recorded. */
export function needsRecording(inputs: readonly (Tensor | null)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t !== null && t.requiresGrad) return true;
  return false;
}

/**
 * Attaches a node to `output` when grad mode is on and some input requires grad; returns `output`.
 * `saved` lists the tensors the backward reads, checked against in-place modification.
 */
export function record(
  name: string,
  inputs: (Tensor | null)[],
  output: Tensor,
  backward: (grad: Tensor, needs: boolean[]) => (Tensor | null)[],
  saved: Tensor[] = [],
): Tensor {
  // An integer or bool result (a cast, an index, a count) is a constant, as in PyTorch.
  if (!needsRecording(inputs) || !isFloating(output.dtype)) return output;
  const node = new Node(name, inputs, [output], backward, saved, true);
  output.gradFn = node;
  output.outputNr = 0;
  return output;
}

/** Like {@link record} for ops with several outputs; missing output gradients arrive as null. */
export function recordMulti(
  name: string,
  inputs: (Tensor | null)[],
  outputs: Tensor[],
  backward: BackwardFn,
  saved: Tensor[] = [],
): Tensor[] {
  if (!needsRecording(inputs)) return outputs;
  const node = new Node(name, inputs, outputs, backward, saved);
  outputs.forEach((o, i) => {
    o.gradFn = node;
    o.outputNr = i;
  });
  return outputs;
}
