/**
 * TorchOpt's state utilities: `extractStateDict` takes a module's parameter and buffer tensors
 * (by reference, as graph-connected copies, or as detached copies) and `recoverStateDict` puts
 * such a state back into a module's slots (not in place: the slots get the state's tensors).
 * Together they let a meta-learning loop save and restore a network whose parameters are
 * non-leaf tensors produced by differentiable optimizer steps.
 */
import { noGrad } from '../autograd/grad-mode';
import { describe, typeError } from '../errors';
import { clone, requiresGrad_ } from '../ops/inplace';
import type { GradFn } from '../tensor/tensor';
import { type Tensor, isTensor } from '../tensor/tensor';
import { map as treeMap } from '../tree/tree';
import { Module } from './module';
import { Parameter } from './parameter';

/** How tensors are replicated: TorchOpt's modes (`'ref'`, `'clone'`, `'deepclone'` are aliases). */
export type CopyMode = 'reference' | 'copy' | 'deepcopy' | 'ref' | 'clone' | 'deepclone';

/** A parameter name attached to a tensor or to the node that produced it, for {@link makeDot}. */
export interface VisualEntry {
  /** Dotted name (with the visual prefix). */
  name: string;
  /** The tensor so named. */
  tensor: Tensor;
}

/**
 * The state of a module as TorchOpt's `extract_state_dict` returns it: one name → tensor container
 * per module that has parameters (and per module that has buffers), in `modules()` order.
 */
export class ModuleState {
  constructor(
    /** Own parameters of each module that has any, by own (undotted) name. */
    readonly params: Record<string, Tensor>[],
    /** Own buffers of each module that has any. */
    readonly buffers: Record<string, Tensor>[],
    /** Names for graph nodes and leaves, when extracted with `enableVisual`. */
    readonly visualContents: Map<Tensor | GradFn, VisualEntry> | null = null,
    /** Buffers are replaced by detached copies when recovered. */
    readonly detachBuffers = false,
  ) {}
}

/** Options of {@link extractStateDict}. */
export interface ExtractStateDictOptions {
  /** `'reference'` (default): the tensors themselves; `'copy'`: `t.clone()` (graph-connected); `'deepcopy'`: detached copies with the same `requiresGrad`. */
  by?: CopyMode;
  /** Include buffers (default true). */
  withBuffers?: boolean;
  /** Alias of `withBuffers`. */
  withBuffer?: boolean;
  /** Replace buffers by detached copies whatever `by` is (default false). */
  detachBuffers?: boolean;
  /** Record parameter names for {@link makeDot} in `visualContents` (default false). */
  enableVisual?: boolean;
  /** Prefix of those names. */
  visualPrefix?: string;
  /** Accepted for TorchOpt compatibility and ignored (there is one device). */
  device?: unknown;
}

/** An object with a TorchOpt-style optimizer state (e.g. a MetaOptimizer): `stateDict()` and `loadStateDict()`. */
export interface HasStateDict {
  /** The state tree. */
  stateDict(): unknown;
  /** Restores a state tree. */
  loadStateDict(state: never): unknown;
}

/** True for non-module objects with `stateDict`/`loadStateDict` methods (meta-optimizers). @internal */
export function hasStateDict(x: unknown): x is HasStateDict {
  return (
    typeof x === 'object' && x !== null && !(x instanceof Module) &&
    typeof (x as Partial<HasStateDict>).stateDict === 'function' && typeof (x as Partial<HasStateDict>).loadStateDict === 'function'
  );
}

/** A detached copy with the same `requiresGrad` (a Parameter stays a Parameter). @internal */
export function cloneDetach(t: Tensor): Tensor {
  const c = noGrad(() => clone(t));
  if (t instanceof Parameter) return new Parameter(c, t.requiresGrad);
  return requiresGrad_(c, t.requiresGrad);
}

/**
 * The replication function for a copy mode. It remembers what it made, so a tensor reachable
 * twice (tied weights) is replicated once and stays tied in the copy. @internal
 */
export function replicator(fn: string, by: unknown): (t: Tensor) => Tensor {
  let make: (t: Tensor) => Tensor;
  switch (by ?? 'reference') {
    case 'reference': case 'ref':
      return (t) => t;
    case 'copy': case 'clone':
      make = clone;
      break;
    case 'deepcopy': case 'deepclone':
      make = cloneDetach;
      break;
    default:
      throw typeError(fn, 'by', "'reference', 'copy' or 'deepcopy'", by);
  }
  const memo = new Map<Tensor, Tensor>();
  return (t) => {
    let r = memo.get(t);
    if (r === undefined) {
      r = make(t);
      memo.set(t, r);
    }
    return r;
  };
}

/** Per module (each once, `modules()` order): own parameters and own buffers, as name → tensor. @internal */
export function moduleContainers(module: Module): { params: [Module, [string, Tensor][]][]; buffers: [Module, [string, Tensor][]][] } {
  const params: [Module, [string, Tensor][]][] = [];
  const buffers: [Module, [string, Tensor][]][] = [];
  for (const m of module.modules()) {
    const ps = m.namedParameters({ recurse: false, removeDuplicate: false });
    const bs = m.namedBuffers({ recurse: false, removeDuplicate: false });
    if (ps.length > 0) params.push([m, ps]);
    if (bs.length > 0) buffers.push([m, bs]);
  }
  return { params, buffers };
}

/**
 * TorchOpt's `extract_state_dict`. For a module: a {@link ModuleState} of its parameters (and
 * buffers), replicated according to `by`. For an optimizer-like object with `stateDict()`: its
 * state tree with every tensor replicated.
 */
export function extractStateDict(target: Module, opts?: ExtractStateDictOptions): ModuleState;
export function extractStateDict(target: HasStateDict, opts?: ExtractStateDictOptions): unknown;
export function extractStateDict(target: Module | HasStateDict, opts: ExtractStateDictOptions = {}): ModuleState | unknown {
  const fn = 'extractStateDict';
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  const replicate = replicator(fn, opts.by);
  if (target instanceof Module) {
    const withBuffers = opts.withBuffers ?? opts.withBuffer ?? true;
    const detachBuffers = opts.detachBuffers ?? false;
    let visual: Map<Tensor | GradFn, VisualEntry> | null = null;
    if (opts.enableVisual) {
      const prefix = opts.visualPrefix ?? '';
      visual = new Map();
      for (const [k, v] of target.namedParameters()) visual.set(v.gradFn ?? v, { name: prefix + k, tensor: v });
    }
    const { params, buffers } = moduleContainers(target);
    const replicateBuffer = detachBuffers ? replicator(fn, 'deepcopy') : replicate;
    const toRecord = (entries: [string, Tensor][], f: (t: Tensor) => Tensor): Record<string, Tensor> =>
      Object.fromEntries(entries.map(([k, v]) => [k, f(v)]));
    return new ModuleState(
      params.map(([, ps]) => toRecord(ps, replicate)),
      withBuffers ? buffers.map(([, bs]) => toRecord(bs, replicateBuffer)) : [],
      visual,
      detachBuffers,
    );
  }
  if (hasStateDict(target)) return treeMap((t: Tensor) => replicate(t), target.stateDict());
  throw typeError(fn, 'target', 'an nn.Module or an optimizer with stateDict()', target);
}

function checkContainer(fn: string, arg: string, c: unknown): Record<string, Tensor> {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw typeError(fn, arg, 'an object from names to Tensors', c);
  for (const [k, v] of Object.entries(c)) if (!isTensor(v)) throw typeError(fn, `${arg}['${k}']`, 'a Tensor', v);
  return c as Record<string, Tensor>;
}

/**
 * TorchOpt's `recover_state_dict`: puts the tensors of `state` (from {@link extractStateDict})
 * into the module's parameter and buffer slots (the slots get those tensors; nothing is copied in
 * place). For an optimizer-like object, calls its `loadStateDict(state)`.
 */
export function recoverStateDict(target: Module | HasStateDict, state: ModuleState | unknown): void {
  const fn = 'recoverStateDict';
  if (target instanceof Module) {
    if (!(state instanceof ModuleState)) throw typeError(fn, 'state', 'a ModuleState (from extractStateDict)', state);
    const { params, buffers } = moduleContainers(target);
    if (state.params.length !== params.length) {
      throw new RangeError(`${fn}: the state holds parameters for ${state.params.length} modules, the target has ${params.length} modules with parameters`);
    }
    if (state.buffers.length !== 0 && state.buffers.length !== buffers.length) {
      throw new RangeError(`${fn}: the state holds buffers for ${state.buffers.length} modules, the target has ${buffers.length} modules with buffers`);
    }
    const srcParams = state.params.map((c, i) => checkContainer(fn, `state.params[${i}]`, c));
    const srcBuffers = state.buffers.map((c, i) => checkContainer(fn, `state.buffers[${i}]`, c));
    // Validate every name before changing anything, so a bad state leaves the module untouched.
    const check = (mods: [Module, [string, Tensor][]][], src: Record<string, Tensor>[], kind: string): void => {
      src.forEach((c, i) => {
        const own = new Set(mods[i][1].map(([n]) => n));
        for (const k of Object.keys(c)) {
          if (!own.has(k)) throw new RangeError(`${fn}: state.${kind}[${i}] has '${k}', which is not a ${kind === 'params' ? 'parameter' : 'buffer'} of the matching ${describe(mods[i][0])}`);
        }
      });
    };
    check(params, srcParams, 'params');
    check(buffers, srcBuffers, 'buffers');
    srcParams.forEach((c, i) => {
      for (const [k, v] of Object.entries(c)) params[i][0].setParameter(k, v);
    });
    srcBuffers.forEach((c, i) => {
      for (const [k, v] of Object.entries(c)) buffers[i][0].setBuffer(k, state.detachBuffers ? cloneDetach(v) : v);
    });
    return;
  }
  if (hasStateDict(target)) {
    (target.loadStateDict as (s: unknown) => unknown)(state);
    return;
  }
  throw typeError(fn, 'target', 'an nn.Module or an optimizer with loadStateDict()', target);
}
