/**
 * The backward engine: walks the recorded graph from the outputs in dependency order, calls each
 * node's backward rule and sums the gradients that meet. Serves both `Tensor.backward`
 * (accumulating into leaves' `.grad`) and `autograd.grad` (returning gradients).
 */
import { NoGraphError, typeError } from '../errors';
import { allocate } from '../tensor/dtype';
import { fmtShape, sameShape } from '../tensor/shape';
import { Tensor, checkAttached, isTensor } from '../tensor/tensor';
import { addGrads, castGrad, copyGrad, detachGrad } from './accumulate';
import { withGradMode } from './grad-mode';
import { type Edge, Node } from './node';

/** Options of {@link grad}. */
export interface GradOptions {
  /** Gradients of the outputs (default: ones for one-element outputs). */
  gradOutputs?: Tensor | (Tensor | null)[] | null;
  /** Record the backward pass so the result is differentiable again. */
  createGraph?: boolean;
  /** Keep the graph for another backward (defaults to `createGraph`). */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of raising. */
  allowUnused?: boolean;
  /** Return zeros instead of null for unused inputs (functorch's behaviour). */
  materializeGrads?: boolean;
  /**
   * Nodes the traversal must not pass through (their inputs get nothing). Implicit
   * differentiation uses it to take partial derivatives at a solution that is itself a node output.
   * @internal
   */
  stopAt?: readonly object[];
}

interface RunOptions {
  fn: string;
  createGraph: boolean;
  retainGraph: boolean;
  stopAt?: readonly object[];
}

function asTensorList(fn: string, arg: string, x: unknown): Tensor[] {
  const list = Array.isArray(x) ? x : [x];
  list.forEach((t, i) => {
    if (!isTensor(t)) throw typeError(fn, Array.isArray(x) ? `${arg}[${i}]` : arg, 'a Tensor', t);
    checkAttached(fn, Array.isArray(x) ? `${arg}[${i}]` : arg, t);
  });
  return list as Tensor[];
}

function onesLike(t: Tensor): Tensor {
  return new Tensor(allocate(t.dtype, t.numel).fill(1), t.shape);
}

function resolveGradOutputs(fn: string, outputs: Tensor[], given: GradOptions['gradOutputs']): Tensor[] {
  const list = given === undefined || given === null ? [] : Array.isArray(given) ? given : [given];
  if (list.length !== 0 && list.length !== outputs.length) {
    throw new RangeError(`${fn}: got ${list.length} gradOutputs for ${outputs.length} outputs`);
  }
  return outputs.map((o, i) => {
    const g = list[i];
    if (g === undefined || g === null) {
      if (o.numel !== 1) {
        throw new RangeError(
          `${fn}: a gradient can be created implicitly only for one-element outputs, but output ${i} has shape ${fmtShape(o.shape)}; pass gradOutputs / gradient`,
        );
      }
      return onesLike(o);
    }
    if (!isTensor(g)) throw typeError(fn, `gradOutputs[${i}]`, 'a Tensor', g);
    checkAttached(fn, `gradOutputs[${i}]`, g);
    if (!sameShape(g.shape, o.shape)) {
      throw new RangeError(`${fn}: gradOutputs[${i}] has shape ${fmtShape(g.shape)} but output ${i} has shape ${fmtShape(o.shape)}`);
    }
    // As PyTorch's validate_outputs: a gradient takes its output's dtype, so leaves get grads of their own dtype.
    return castGrad(g, o.dtype);
  });
}

/** Gradient storage for one run: per node output, per leaf. */
class Buffers {
  readonly nodes = new Map<Node, (Tensor | null)[]>();
  readonly leaves = new Map<Tensor, Tensor>();

  addNode(node: Node, nr: number, g: Tensor): void {
    let slot = this.nodes.get(node);
    if (!slot) {
      slot = new Array<Tensor | null>(node.numOutputs).fill(null);
      this.nodes.set(node, slot);
    }
    const prev = slot[nr];
    slot[nr] = prev ? addGrads(prev, g) : g;
  }

  addLeaf(leaf: Tensor, g: Tensor): void {
    const prev = this.leaves.get(leaf);
    this.leaves.set(leaf, prev ? addGrads(prev, g) : g);
  }
}

let lastVisited = 0;
let runs = 0;

/** Nodes the last backward pass visited (to test that traversal stops at its targets). @internal */
export function lastTraversalSize(): number {
  return lastVisited;
}

/** Backward passes run by this process so far (the benchmark counts them per meta-gradient). @internal */
export function backwardRuns(): number {
  return runs;
}

/**
 * Runs backward from `roots` with `rootGrads`. `targets` (leaves or non-leaf tensors) restricts the
 * traversal to what reaches them; when null every leaf that requires grad is a target.
 * Returns the gradient buffers and the captured gradients of non-leaf targets.
 */
function run(roots: Tensor[], rootGrads: Tensor[], targets: Tensor[] | null, opts: RunOptions) {
  const buffers = new Buffers();
  const targetLeaves = new Set<Tensor>();
  const targetOutputs = new Map<Node, Set<number>>();
  if (targets) {
    for (const t of targets) {
      if (t.gradFn === null) targetLeaves.add(t);
      else {
        const node = t.gradFn as Node;
        if (!targetOutputs.has(node)) targetOutputs.set(node, new Set());
        targetOutputs.get(node)?.add(t.outputNr);
      }
    }
  }
  // Gradients of non-leaf targets, by (node, output number).
  const captured = new Map<Node, Map<number, Tensor>>();
  // Nodes numbered below every target cannot lead to one: the traversal stops there, so a pass
  // that asks for the gradient of a recent non-leaf (an unrolled step's parameters) costs what the
  // graph above it costs, not the whole history below. Leaf targets (or none given) rule out nothing.
  let minTopo = Number.POSITIVE_INFINITY;
  if (targets === null || targetLeaves.size > 0) minTopo = 0;
  else for (const node of targetOutputs.keys()) minTopo = Math.min(minTopo, node.topo);

  // Which nodes lead to a target (memoised, iterative to survive deep graphs).
  const leads = new Map<Node, boolean>();
  for (const n of opts.stopAt ?? []) leads.set(n as Node, false);
  const edgeLeads = (e: Edge): boolean => {
    if (e === null) return false;
    if ('leaf' in e) return targets === null ? true : targetLeaves.has(e.leaf);
    return leads.get(e.node) === true || targetOutputs.has(e.node);
  };
  const rootNodes = roots.map((r) => r.gradFn as Node | null);
  const order: Node[] = []; // post-order: children before parents
  const visiting = new Set<Node>();
  for (const start of rootNodes) {
    if (start === null || leads.has(start)) continue;
    const stack: [Node, number][] = [[start, 0]];
    visiting.add(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.next.length) {
        top[1]++;
        const e = node.next[i];
        if (e !== null && 'node' in e && e.node.topo >= minTopo && !leads.has(e.node) && !visiting.has(e.node)) {
          visiting.add(e.node);
          stack.push([e.node, 0]);
        }
      } else {
        stack.pop();
        leads.set(node, node.next.some(edgeLeads));
        order.push(node);
      }
    }
  }
  lastVisited = order.length;
  runs++;
  const needed = (n: Node): boolean => leads.get(n) === true || targetOutputs.has(n);

  // Dependencies among needed nodes.
  const deps = new Map<Node, number>();
  for (const n of order) {
    if (!needed(n) || leads.get(n) !== true) continue;
    for (const e of n.next) if (e !== null && 'node' in e && needed(e.node)) deps.set(e.node, (deps.get(e.node) ?? 0) + 1);
  }

  roots.forEach((r, i) => {
    if (r.gradFn === null) {
      if (targets === null ? r.requiresGrad : targetLeaves.has(r)) buffers.addLeaf(r, rootGrads[i]);
    } else buffers.addNode(r.gradFn as Node, r.outputNr, rootGrads[i]);
  });

  const ready: Node[] = [];
  const seen = new Set<Node>();
  for (const n of rootNodes) {
    if (n !== null && needed(n) && !deps.get(n) && !seen.has(n)) {
      seen.add(n);
      ready.push(n);
    }
  }

  withGradMode(opts.createGraph, () => {
    while (ready.length > 0) {
      const node = ready.pop() as Node;
      const grads = buffers.nodes.get(node) ?? new Array<Tensor | null>(node.numOutputs).fill(null);
      buffers.nodes.delete(node);
      const outs = targetOutputs.get(node);
      if (outs) {
        const got = new Map<number, Tensor>();
        for (const nr of outs) if (grads[nr]) got.set(nr, grads[nr] as Tensor);
        captured.set(node, got);
      }
      const active = leads.get(node) === true && grads.some((g) => g !== null);
      if (active) {
        const needs = node.next.map((e) => edgeLeads(e));
        const results = node.apply(grads, needs);
        if (!opts.retainGraph) node.release();
        node.next.forEach((e, i) => {
          const g = results[i];
          if (!needs[i] || e === null || g === null || g === undefined) return;
          const want = 'leaf' in e ? e.leaf.shape : e.node.outputShapes[e.outputNr];
          if (!sameShape(g.shape, want)) {
            throw new NoGraphError(
              `${opts.fn}: ${node.name} returned a gradient of shape ${fmtShape(g.shape)} for input ${i}, which has shape ${fmtShape(want)}`,
            );
          }
          if ('leaf' in e) buffers.addLeaf(e.leaf, g);
          else buffers.addNode(e.node, e.outputNr, g);
        });
      }
      for (const e of node.next) {
        if (e === null || !('node' in e) || !needed(e.node) || leads.get(node) !== true) continue;
        const left = (deps.get(e.node) ?? 0) - 1;
        deps.set(e.node, left);
        if (left === 0) ready.push(e.node);
      }
    }
  });
  return { buffers, captured };
}

function checkOutputs(fn: string, outputs: Tensor[]): void {
  outputs.forEach((o, i) => {
    if (!o.requiresGrad) {
      throw new NoGraphError(`${fn}: output ${i} does not require grad and has no gradFn; nothing connects it to the inputs (was it computed inside noGrad, or from tensors without requiresGrad?)`);
    }
  });
}

/**
 * Computes and returns the gradients of `outputs` with respect to `inputs` (PyTorch's
 * `torch.autograd.grad`). The result is aligned with `inputs`; with `createGraph` it is differentiable.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts?: GradOptions & { allowUnused?: false }): Tensor[];
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions & { materializeGrads: true }): Tensor[];
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions): (Tensor | null)[];
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const fn = 'autograd.grad';
  const outs = asTensorList(fn, 'outputs', outputs);
  const ins = asTensorList(fn, 'inputs', inputs);
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new NoGraphError(`${fn}: inputs[${i}] does not require grad; call requiresGrad_() on it before computing the outputs`);
  });
  checkOutputs(fn, outs);
  const createGraph = opts.createGraph ?? false;
  const rootGrads = resolveGradOutputs(fn, outs, opts.gradOutputs);
  const { buffers, captured } = run(outs, rootGrads, ins, { fn, createGraph, retainGraph: opts.retainGraph ?? createGraph, stopAt: opts.stopAt });
  return ins.map((t, i) => {
    const g = t.gradFn === null ? buffers.leaves.get(t) : captured.get(t.gradFn as Node)?.get(t.outputNr);
    if (g) return g;
    if (opts.materializeGrads) return new Tensor(allocate(t.dtype, t.numel), t.shape);
    if (!opts.allowUnused) {
      throw new NoGraphError(`${fn}: inputs[${i}] (shape ${fmtShape(t.shape)}) was not used to compute the outputs; pass allowUnused: true to get null for it`);
    }
    return null;
  });
}

/**
 * Accumulates the gradient of `tensors` into the `.grad` of the leaves they depend on
 * (of `inputs` only, when given). PyTorch's `torch.autograd.backward`.
 */
export function backward(
  tensors: Tensor | Tensor[],
  opts: { gradTensors?: Tensor | (Tensor | null)[]; inputs?: Tensor | Tensor[]; createGraph?: boolean; retainGraph?: boolean } = {},
): void {
  const fn = 'backward';
  const outs = asTensorList(fn, 'tensors', tensors);
  checkOutputs(fn, outs);
  const createGraph = opts.createGraph ?? false;
  const rootGrads = resolveGradOutputs(fn, outs, opts.gradTensors);
  const targets = opts.inputs === undefined ? null : asTensorList(fn, 'inputs', opts.inputs);
  targets?.forEach((t, i) => {
    if (!t.requiresGrad) throw new NoGraphError(`${fn}: inputs[${i}] does not require grad`);
  });
  const { buffers, captured } = run(outs, rootGrads, targets, { fn, createGraph, retainGraph: opts.retainGraph ?? createGraph });
  const store = (t: Tensor, g: Tensor): void => {
    const value = createGraph ? g : detachGrad(g);
    if (t.grad) {
      t.grad = withGradMode(createGraph, () => addGrads(t.grad as Tensor, value));
      return;
    }
    // A fresh buffer, as PyTorch's AccumulateGrad clones: gradients of different leaves (and the
    // caller's `gradient`) may share storage, and `.grad` is later written in place (zero_, optimizers).
    t.grad = createGraph ? withGradMode(true, () => copyGrad(g)) : new Tensor(g.data.slice(), g.shape);
  };
  for (const [leaf, g] of buffers.leaves) store(leaf, g);
  if (targets) {
    for (const t of targets) {
      if (t.gradFn !== null) {
        const g = captured.get(t.gradFn as Node)?.get(t.outputNr);
        if (g) store(t, g);
      }
    }
  }
}
