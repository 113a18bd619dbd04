/**
 * The backward engine: walks the recorded graph from the outputs in dependency order, calls each
 * node's backward rule and sums the gradients that meet. Serves both `Tensor.backward`
 * (accumulating into leaves' `.grad`) and `autograd.grad` (returning gradients).
 */
import { MetagradError, NoGraphError, typeError } from '../errors';
import { allocate } from '../tensor/dtype';
import { fmtShape, sameShape } from '../tensor/shape';
import { Tensor, checkAttached, isTensor } from '../tensor/tensor';
import { batchedOf, isBatched, physicalOf } from '../tensor/batched';
import { addGrads, castGrad, copyGrad, copyValues, detachGrad } from './accumulate';
import { copyRange } from '../tensor/kernels/layout';
import { markConstant } from '../tensor/trace';
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
}

interface RunOptions {
  fn: string;
  createGraph: boolean;
  retainGraph: boolean;
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
  return new Tensor(markConstant(allocate(t.dtype, t.numel, 'backward').fill(1)), t.shape);
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

let lastVisited = 0;
let runs = 0;
let plans = 0;

/** Nodes the last planned backward pass visited (to test that traversal stops at its targets). @internal */
export function lastTraversalSize(): number {
  return lastVisited;
}

/** Backward passes run by this process so far (the benchmark counts them per meta-gradient). @internal */
export function backwardRuns(): number {
  return runs;
}

/** Backward plans built so far (a replayed plan does not count). @internal */
export function plansBuilt(): number {
  return plans;
}

/** Where an edge's gradient goes in a plan: a node slot (≥ 0), a leaf slot (≤ −2) or nowhere (−1). */
const NOWHERE = -1;
const leafCode = (i: number): number => -2 - i;

/** A node's `_slot` while it is being planned, before it gets its place in the order (≥ 0). */
const UNSEEN = -1;
const COUNTED = -2;
const QUEUED = -3;

/**
 * One backward pass worked out ahead of running it: which nodes run, in which order, and where
 * each of their input gradients goes. Built from the graph and the targets alone (no values), so a
 * graph differentiated again with the same roots and targets (every matvec of a backward linear
 * solve) replays it instead of walking and counting again.
 */
interface Plan {
  /** What the plan was built for (identity), to recognise it again. */
  readonly rootKeys: readonly object[];
  readonly rootNrs: readonly number[];
  readonly targetKeys: readonly object[] | null;
  readonly targetNrs: readonly number[] | null;
  /** Nodes in execution order (the order a dependency-counting ready stack pops them). */
  readonly nodes: Node[];
  /** Per node: whether its backward runs (it leads to a target), and which inputs need gradients. */
  readonly active: boolean[];
  readonly needs: boolean[][];
  /** Per node, per input edge: destination slot (see {@link NOWHERE}, {@link leafCode}). */
  readonly routes: Int32Array[];
  /** Leaves that receive gradients, by leaf slot. */
  readonly leaves: Tensor[];
  /** Per root: its destination slot. */
  readonly rootSlots: Int32Array;
  /** Per target: the slot whose gradient it is (leaf code, or node slot with `targetOutputNr`). */
  readonly targetSlots: Int32Array | null;
  /** Nodes whose output gradients are captured for non-leaf targets. */
  readonly captureAt: boolean[];
  visited: number;
}

function keyOf(t: Tensor): object {
  return t.gradFn ?? t;
}

function sameKeys(a: readonly object[] | null, b: readonly object[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameNrs(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Plans kept per root node of retained graphs (on the node itself, so they die with the graph). */
const PLANS_PER_ROOT = 4;

function cachedPlan(roots: Tensor[], targets: Tensor[] | null): Plan | null {
  const list = (roots[0].gradFn as Node | null)?._plans as Plan[] | null | undefined;
  if (!list) return null;
  const rootKeys = roots.map(keyOf);
  const targetKeys = targets?.map(keyOf) ?? null;
  for (const p of list) {
    if (
      sameKeys(p.rootKeys, rootKeys) &&
      sameNrs(p.rootNrs, roots.map((r) => r.outputNr)) &&
      sameKeys(p.targetKeys, targetKeys) &&
      (targets === null || sameNrs(p.targetNrs, targets.map((t) => t.outputNr)))
    ) {
      return p;
    }
  }
  return null;
}

function keepPlan(roots: Tensor[], p: Plan): void {
  const node = roots[0].gradFn as Node | null;
  if (node === null) return;
  const list = (node._plans ?? []) as Plan[];
  list.unshift(p);
  if (list.length > PLANS_PER_ROOT) list.length = PLANS_PER_ROOT;
  node._plans = list;
}

/**
 * Plans a backward pass from `roots` to `targets` (leaves or non-leaf tensors; null: every leaf
 * that requires grad). Traversal stops below the lowest target node.
 */
function buildPlan(roots: Tensor[], targets: Tensor[] | null): Plan {
  const stamp = ++plans;
  const targetLeaves = new Set<Tensor>();
  // Nodes numbered below every target cannot lead to one: the traversal stops there, so a pass
  // that asks for the gradient of a recent non-leaf (an unrolled step's parameters) costs what the
  // graph above it costs, not the whole history below. Leaf targets (or none given) rule out nothing.
  let minTopo = targets === null ? 0 : Number.POSITIVE_INFINITY;
  if (targets) {
    for (const t of targets) {
      if (t.gradFn === null) {
        targetLeaves.add(t);
        minTopo = 0;
      } else {
        const n = t.gradFn as Node;
        n._targetStamp = stamp;
        if (n.topo < minTopo) minTopo = n.topo;
      }
    }
  }
  const isTarget = (n: Node): boolean => n._targetStamp === stamp;
  const edgeLeads = (e: Edge): boolean => {
    if (e === null) return false;
    if ('leaf' in e) return targets === null || targetLeaves.has(e.leaf);
    const n = e.node;
    return (n._stamp === stamp && n._leads) || isTarget(n);
  };
  // Depth-first post-order from the roots: a node leads to a target when one of its edges does.
  let visited = 0;
  const stack: Node[] = [];
  const cursor: number[] = [];
  const enter = (n: Node): void => {
    n._stamp = stamp;
    n._leads = false;
    n._deps = 0;
    n._slot = UNSEEN;
    stack.push(n);
    cursor.push(0);
  };
  for (const r of roots) {
    const start = r.gradFn as Node | null;
    if (start === null || start._stamp === stamp) continue;
    enter(start);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const node = stack[top];
      const i = cursor[top];
      if (i < node.next.length) {
        cursor[top] = i + 1;
        const e = node.next[i];
        if (e !== null && 'node' in e && e.node.topo >= minTopo && e.node._stamp !== stamp) enter(e.node);
      } else {
        stack.pop();
        cursor.pop();
        let leads = false;
        for (const e of node.next) {
          if (edgeLeads(e)) {
            leads = true;
            break;
          }
        }
        node._leads = leads;
        visited++;
      }
    }
  }
  // A node runs when it leads to a target or is one (its gradient is captured); nodes never
  // reached (stamp differs) are not needed.
  const needed = (n: Node): boolean => n._stamp === stamp && (n._leads || isTarget(n));
  // Dependencies among needed nodes (counted from the nodes that pass gradients on, reached again
  // from the roots), then the order a ready stack runs them in. Until a node gets its place in
  // that order, `_slot` says how far planning has got with it (UNSEEN, COUNTED, QUEUED).
  const collect: Node[] = [];
  for (const r of roots) {
    const n = r.gradFn as Node | null;
    if (n !== null && n._stamp === stamp && n._slot === UNSEEN) {
      n._slot = COUNTED;
      collect.push(n);
    }
  }
  while (collect.length > 0) {
    const n = collect.pop() as Node;
    if (!n._leads) continue;
    for (const e of n.next) {
      if (e === null || !('node' in e)) continue;
      const c = e.node;
      if (c._stamp !== stamp || !needed(c)) continue;
      c._deps++;
      if (c._slot === UNSEEN) {
        c._slot = COUNTED;
        collect.push(c);
      }
    }
  }
  const order: Node[] = [];
  const ready: Node[] = [];
  for (const r of roots) {
    const n = r.gradFn as Node | null;
    if (n !== null && needed(n) && n._deps === 0 && n._slot === COUNTED) {
      n._slot = QUEUED;
      ready.push(n);
    }
  }
  while (ready.length > 0) {
    const node = ready.pop() as Node;
    node._slot = order.length;
    order.push(node);
    if (!node._leads) continue;
    for (const e of node.next) {
      if (e === null || !('node' in e)) continue;
      const c = e.node;
      if (c._stamp !== stamp || !needed(c)) continue;
      if (--c._deps === 0) ready.push(c);
    }
  }

  const leaves: Tensor[] = [];
  const leafSlot = new Map<Tensor, number>();
  const leafTo = (t: Tensor): number => {
    let i = leafSlot.get(t);
    if (i === undefined) {
      i = leaves.length;
      leaves.push(t);
      leafSlot.set(t, i);
    }
    return leafCode(i);
  };
  const slotOf = (n: Node): number => (n._stamp === stamp && n._slot >= 0 ? n._slot : NOWHERE);
  const active: boolean[] = new Array<boolean>(order.length);
  const needs: boolean[][] = new Array<boolean[]>(order.length);
  const routes: Int32Array[] = new Array<Int32Array>(order.length);
  const captureAt: boolean[] = new Array<boolean>(order.length);
  for (let k = 0; k < order.length; k++) {
    const n = order[k];
    active[k] = n._leads;
    captureAt[k] = isTarget(n);
    const m = n.next.length;
    const nd = new Array<boolean>(m);
    const route = new Int32Array(m).fill(NOWHERE);
    for (let j = 0; j < m; j++) {
      const e = n.next[j];
      nd[j] = n._leads && edgeLeads(e);
      if (!nd[j] || e === null) continue;
      route[j] = 'leaf' in e ? leafTo(e.leaf) : slotOf(e.node);
    }
    needs[k] = nd;
    routes[k] = route;
  }
  const rootSlots = Int32Array.from(roots, (r) => {
    if (r.gradFn === null) return (targets === null ? r.requiresGrad : targetLeaves.has(r)) ? leafTo(r) : NOWHERE;
    return slotOf(r.gradFn as Node);
  });
  const targetSlots = targets
    ? Int32Array.from(targets, (t) => {
        if (t.gradFn !== null) return slotOf(t.gradFn as Node);
        const i = leafSlot.get(t);
        return i === undefined ? NOWHERE : leafCode(i);
      })
    : null;
  lastVisited = visited;
  return {
    rootKeys: roots.map(keyOf),
    rootNrs: roots.map((r) => r.outputNr),
    targetKeys: targets?.map(keyOf) ?? null,
    targetNrs: targets?.map((t) => t.outputNr) ?? null,
    nodes: order,
    active,
    needs,
    routes,
    leaves,
    rootSlots,
    targetSlots,
    captureAt,
    visited,
  };
}

/** What a backward pass produced: gradients by leaf slot, and per target. */
interface RunResult {
  plan: Plan;
  leafGrads: (Tensor | null)[];
  /** Gradient of each target (aligned with the targets given), undefined when none reached it. */
  targetGrads: (Tensor | undefined)[];
}

/**
 * Runs backward from `roots` with `rootGrads` to `targets` (see {@link buildPlan}), replaying a
 * cached plan when the graph is retained and was planned for the same roots and targets before.
 */
function run(roots: Tensor[], rootGrads: Tensor[], targets: Tensor[] | null, opts: RunOptions): RunResult {
  runs++;
  let plan = opts.retainGraph ? cachedPlan(roots, targets) : null;
  if (plan === null) {
    plan = buildPlan(roots, targets);
    if (opts.retainGraph) keepPlan(roots, plan);
  } else lastVisited = plan.visited;
  const { nodes, routes } = plan;
  const slots: ((Tensor | null)[] | undefined)[] = new Array(nodes.length);
  const leafGrads: (Tensor | null)[] = new Array<Tensor | null>(plan.leaves.length).fill(null);
  const captured: ((Tensor | null)[] | undefined)[] = new Array(nodes.length);
  const deliver = (to: number, nr: number, g: Tensor): void => {
    if (to >= 0) {
      let s = slots[to];
      if (s === undefined) {
        s = new Array<Tensor | null>(nodes[to].numOutputs).fill(null);
        slots[to] = s;
      }
      const prev = s[nr];
      s[nr] = prev ? addGrads(prev, g) : g;
    } else if (to !== NOWHERE) {
      const i = -2 - to;
      const prev = leafGrads[i];
      leafGrads[i] = prev ? addGrads(prev, g) : g;
    }
  };
  for (let i = 0; i < roots.length; i++) deliver(plan.rootSlots[i], roots[i].outputNr, rootGrads[i]);

  withGradMode(opts.createGraph, () => {
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k];
      const grads = slots[k] ?? new Array<Tensor | null>(node.numOutputs).fill(null);
      slots[k] = undefined;
      if (plan.captureAt[k]) captured[k] = grads;
      if (!plan.active[k] || !grads.some((g) => g !== null)) continue;
      const results = node.apply(grads, plan.needs[k]);
      if (!opts.retainGraph) node.release();
      const route = routes[k];
      for (let i = 0; i < route.length; i++) {
        const g = results[i];
        if (route[i] === NOWHERE || g === null || g === undefined) continue;
        const e = node.next[i] as Exclude<Edge, null>;
        const want = 'leaf' in e ? e.leaf.shape : e.node.outputShapes[e.outputNr];
        if (!sameShape(g.shape, want)) {
          throw new NoGraphError(`${opts.fn}: ${node.name} returned a gradient of shape ${fmtShape(g.shape)} for input ${i}, which has shape ${fmtShape(want)}`);
        }
        deliver(route[i], 'leaf' in e ? 0 : e.outputNr, g);
      }
    }
  });
  const targetGrads = (targets ?? []).map((t, i) => {
    const to = (plan.targetSlots as Int32Array)[i];
    if (to === NOWHERE) return undefined;
    if (to < 0) return leafGrads[-2 - to] ?? undefined;
    return captured[to]?.[t.outputNr] ?? undefined;
  });
  return { plan, leafGrads, targetGrads };
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
  if (outs.some(isBatched) || ins.some(isBatched)) return batchedGrad(fn, outs, ins, opts);
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new NoGraphError(`${fn}: inputs[${i}] does not require grad; call requiresGrad_() on it before computing the outputs`);
  });
  checkOutputs(fn, outs);
  const createGraph = opts.createGraph ?? false;
  const rootGrads = resolveGradOutputs(fn, outs, opts.gradOutputs);
  const { targetGrads } = run(outs, rootGrads, ins, { fn, createGraph, retainGraph: opts.retainGraph ?? createGraph });
  return ins.map((t, i) => {
    const g = targetGrads[i];
    if (g) return g;
    if (opts.materializeGrads) return new Tensor(allocate(t.dtype, t.numel), t.shape);
    if (!opts.allowUnused) {
      throw new NoGraphError(`${fn}: inputs[${i}] (shape ${fmtShape(t.shape)}) was not used to compute the outputs; pass allowUnused: true to get null for it`);
    }
    return null;
  });
}

/**
 * autograd.grad inside vmap: the graph holds the physical tensors, so the gradient of the
 * members' outputs with respect to the members' inputs is one ordinary backward pass over the
 * physical ones (members never mix). An input not batched over a level of an output would get
 * the sum over that level's members, not a gradient per member: refused.
 */
function batchedGrad(fn: string, outs: Tensor[], ins: Tensor[], opts: GradOptions): (Tensor | null)[] {
  const given = opts.gradOutputs === undefined || opts.gradOutputs === null ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  if (given.length !== 0 && given.length !== outs.length) throw new RangeError(`${fn}: got ${given.length} gradOutputs for ${outs.length} outputs`);
  const outLevels = new Set(outs.flatMap((o) => physicalOf(o)[1]));
  ins.forEach((x, i) => {
    const missing = [...outLevels].filter((l) => !physicalOf(x)[1].includes(l));
    if (missing.length > 0) {
      throw new MetagradError(
        `${fn}: inside vmap, inputs[${i}] (shape ${fmtShape(x.shape)}) is not batched by ${missing.length > 1 ? 'the vmaps' : 'the vmap'} that batched the outputs, so its gradient would be ` +
          'the sum over the members; differentiate with respect to a batched tensor (func.grad, vjp and jvp batch their arguments themselves)',
      );
    }
  });
  const gradOutputs = outs.map((o, i): Tensor => {
    const [po, lo] = physicalOf(o);
    const g = given[i];
    if (g === undefined || g === null) {
      if (o.numel !== 1) {
        throw new RangeError(`${fn}: a gradient can be created implicitly only for one-element outputs, but output ${i} has shape ${fmtShape(o.shape)}; pass gradOutputs`);
      }
      return onesLike(po);
    }
    if (!isTensor(g)) throw typeError(fn, `gradOutputs[${i}]`, 'a Tensor', g);
    if (!sameShape(g.shape, o.shape)) throw new RangeError(`${fn}: gradOutputs[${i}] has shape ${fmtShape(g.shape)} but output ${i} has shape ${fmtShape(o.shape)}`);
    const [pg, lg] = physicalOf(g);
    if (sameShape(pg.shape, po.shape) && lg.length === lo.length && lg.every((l, k) => l === lo[k])) return pg;
    if (lg.length === 0 && !pg.requiresGrad) {
      // One cotangent for every member: repeated along the leading batch dimensions.
      const data = allocate(pg.dtype, po.numel);
      for (let k = 0; k < data.length; k += pg.numel) copyRange(pg.data, 0, data, k, pg.numel);
      return new Tensor(data, po.shape);
    }
    throw new MetagradError(`${fn}: inside vmap, gradOutputs[${i}] must be batched like output ${i} (or be a constant shared by the members)`);
  });
  const res = grad(
    outs.map((o) => physicalOf(o)[0]),
    ins.map((x) => physicalOf(x)[0]),
    { ...opts, gradOutputs },
  );
  return res.map((g, i) => (g === null ? null : batchedOf(g, physicalOf(ins[i])[1])));
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
  if (outs.some(isBatched)) {
    throw new MetagradError(`${fn}: cannot accumulate .grad inside vmap (each member would add into one leaf); use autograd.grad or func.grad, which return per-member gradients`);
  }
  checkOutputs(fn, outs);
  const createGraph = opts.createGraph ?? false;
  const rootGrads = resolveGradOutputs(fn, outs, opts.gradTensors);
  const targets = opts.inputs === undefined ? null : asTensorList(fn, 'inputs', opts.inputs);
  targets?.forEach((t, i) => {
    if (!t.requiresGrad) throw new NoGraphError(`${fn}: inputs[${i}] does not require grad`);
  });
  const { plan, leafGrads, targetGrads } = run(outs, rootGrads, targets, { fn, createGraph, retainGraph: opts.retainGraph ?? createGraph });
  const store = (t: Tensor, g: Tensor): void => {
    const value = createGraph ? g : detachGrad(g);
    if (t.grad) {
      t.grad = withGradMode(createGraph, () => addGrads(t.grad as Tensor, value));
      return;
    }
    // A fresh buffer, as PyTorch's AccumulateGrad clones: gradients of different leaves (and the
    // caller's `gradient`) may share storage, and `.grad` is later written in place (zero_, optimizers).
    t.grad = createGraph ? withGradMode(true, () => copyGrad(g)) : copyValues(g);
  };
  plan.leaves.forEach((leaf, i) => {
    const g = leafGrads[i];
    if (g) store(leaf, g);
  });
  // Non-leaf targets (their .grad, as retainGrad would keep it), each once.
  const stored = new Set<Tensor>();
  targets?.forEach((t, i) => {
    const g = targetGrads[i];
    if (t.gradFn !== null && g && !stored.has(t)) {
      stored.add(t);
      store(t, g);
    }
  });
}
