/**
 * `makeDot`: Graphviz DOT text of the autograd graph behind some tensors (TorchOpt's `make_dot`,
 * after torchviz). Gray boxes are backward nodes; a leaf that requires grad appears as a light-blue
 * tensor box feeding an `AccumulateGrad` node, as in PyTorch; output tensors are green. Edges
 * point the way the forward pass went (input → consumer). Render with `dot -Tsvg`.
 */
import type { Edge } from '../autograd/node';
import { typeError } from '../errors';
import { type GradFn, type Tensor, isTensor } from '../tensor/tensor';
import { leaves } from '../tree/tree';
import { ModuleState, type VisualEntry } from './state-dict';

/** Names for tensors: an object or Map from names to tensors, `[name, tensor]` pairs, a ModuleState with visual contents, or an array of those. */
export type MakeDotParams =
  | Readonly<Record<string, Tensor>>
  | ReadonlyMap<string, Tensor>
  | readonly (readonly [string, Tensor])[]
  | ModuleState
  | readonly (Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor> | ModuleState)[];

/** Options of {@link makeDot}. */
export interface MakeDotOptions {
  /** Parameter names to label leaves (and, for non-leaf parameters, the nodes that produced them). */
  params?: MakeDotParams;
}

const NODE_ATTRS = 'align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled';

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function sizeToStr(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** Tensor → name and node → {name, tensor}, from every accepted form of `params`. */
function paramMap(fn: string, params: unknown): Map<Tensor | GradFn, VisualEntry> {
  const out = new Map<Tensor | GradFn, VisualEntry>();
  const addNamed = (name: string, t: unknown): void => {
    if (!isTensor(t)) throw typeError(fn, `params['${name}']`, 'a Tensor', t);
    out.set(t, { name, tensor: t });
    // A non-leaf parameter (after a differentiable update) is named on the node that produced it.
    if (t.gradFn !== null && !out.has(t.gradFn)) out.set(t.gradFn, { name, tensor: t });
  };
  const addOne = (p: unknown): void => {
    if (p instanceof ModuleState) {
      if (p.visualContents !== null) for (const [k, v] of p.visualContents) out.set(k, v);
    } else if (p instanceof Map) {
      for (const [k, v] of p) addNamed(String(k), v);
    } else if (typeof p === 'object' && p !== null && !Array.isArray(p) && !isTensor(p)) {
      for (const [k, v] of Object.entries(p)) addNamed(k, v);
    } else {
      throw typeError(fn, 'params', 'names for tensors: an object, a Map, [name, tensor] pairs or a ModuleState', p);
    }
  };
  if (params === undefined || params === null) return out;
  if (Array.isArray(params)) {
    for (const p of params) {
      if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string') addNamed(p[0], p[1]);
      else addOne(p);
    }
  } else addOne(params);
  return out;
}

/**
 * The DOT text of the graph that produced `output` (a Tensor or a tree of tensors). Leaves and
 * nodes are labelled with the names given in `params` and with their shapes.
 */
export function makeDot(output: unknown, opts: MakeDotOptions = {}): string {
  const fn = 'makeDot';
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  const outputs = leaves(output);
  if (outputs.length === 0) throw typeError(fn, 'output', 'a Tensor or a tree of Tensors', output);
  const names = paramMap(fn, opts.params);
  const ids = new Map<object, string>();
  const idOf = (x: object): string => {
    let id = ids.get(x);
    if (id === undefined) {
      id = `n${ids.size}`;
      ids.set(x, id);
    }
    return id;
  };
  const body: string[] = [];
  const seen = new Set<object>();
  const node = (x: object, label: string, fill?: string): void => {
    body.push(`\t${idOf(x)} [label=${quote(label)}${fill ? ` fillcolor=${fill}` : ''}]`);
  };
  const edge = (from: object, to: object): void => {
    body.push(`\t${idOf(from)} -> ${idOf(to)}`);
  };
  const varName = (t: Tensor): string => `${names.get(t)?.name ?? ''}\n${sizeToStr(t.shape)}`;

  // One AccumulateGrad stand-in per leaf, as PyTorch has one per leaf tensor.
  const accumulators = new Map<Tensor, object>();
  const addLeaf = (leaf: Tensor): object => {
    let acc = accumulators.get(leaf);
    if (acc === undefined) {
      acc = { name: 'AccumulateGrad' };
      accumulators.set(leaf, acc);
      seen.add(leaf);
      node(leaf, varName(leaf), 'lightblue');
      edge(leaf, acc);
      node(acc, 'AccumulateGrad');
    }
    return acc;
  };

  const addNodes = (f: GradFn): void => {
    if (seen.has(f)) return;
    seen.add(f);
    let label = f.name;
    let fill: string | undefined;
    const named = names.get(f);
    if (named !== undefined) {
      label += `\n${named.name}\n${sizeToStr(named.tensor.shape)}`;
      fill = 'lightblue';
    }
    node(f, label, fill);
    const next = (f as { next?: readonly Edge[] }).next ?? [];
    for (const e of next) {
      if (e === null) continue;
      if ('leaf' in e) {
        edge(addLeaf(e.leaf), f);
      } else {
        edge(e.node, f);
        addNodes(e.node);
      }
    }
  };

  for (const v of outputs) {
    if (seen.has(v)) continue;
    seen.add(v);
    node(v, varName(v), 'darkolivegreen1');
    if (v.gradFn !== null) {
      addNodes(v.gradFn);
      edge(v.gradFn, v);
    }
  }

  // TorchOpt's resize_graph: half an inch per statement, at least 12.
  const size = Math.max(12, body.length * 0.5);
  return ['digraph {', `\tgraph [size=${quote(`${size},${size}`)}]`, `\tnode [${NODE_ATTRS}]`, ...body, '}', ''].join('\n');
}
