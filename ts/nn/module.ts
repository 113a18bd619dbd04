/**
 * `nn.Module`: the base class of layers and models. Parameters, buffers and sub-modules are not
 * declared through registration calls as in PyTorch; they are discovered from the instance's own
 * enumerable properties each time they are asked for, so plain assignment (`this.fc = new
 * Linear(…)`) is enough.
 *
 * Discovery rule, for each own enumerable property in property-creation order (for TypeScript
 * class fields that is declaration order; integer-like names such as `'0'` come first, ascending):
 * - a name registered with {@link Module.registerBuffer} is a buffer (a Tensor, or null = absent);
 * - a value that is an {@link Parameter} makes the name a *parameter slot* of this instance. A slot
 *   stays a parameter whatever tensor is assigned to it later (a plain or non-leaf Tensor, e.g. the
 *   result of a differentiable optimizer step or of `functionalCall`), and null leaves it empty.
 *   {@link Module.registerParameter} creates a slot explicitly, for any tensor or null;
 * - a Module value is a child; an array property makes each Module entry a child named
 *   `name.0`, `name.1`, … (like a ModuleList);
 * - anything else (numbers, functions, plain tensors never held in a slot) is an ordinary attribute.
 *
 * A name becomes a slot when registered, or the first time discovery (any of `parameters()`,
 * `namedParameters()`, `stateDict()`, `setParameter()`, …) sees a Parameter in it. Built-in layers
 * register their slots in their constructors; in your own module, if a Parameter may be replaced
 * by a plain tensor before the parameters were ever listed, create it with `registerParameter`.
 *
 * Orders follow PyTorch for the equivalent module: `namedParameters()` walks modules depth-first
 * (pre-order, children in property order) and yields each module's own parameters before its
 * children's; shared tensors and shared modules are reported once.
 */
import { noGrad } from '../autograd/grad-mode';
import { describe, typeError } from '../errors';
import { to as castTo } from '../ops/cast';
import { copy_, detach, detach_, zero_ } from '../ops/inplace';
import { type FloatDType, isFloating } from '../tensor/dtype';
import { fmtShape, sameShape } from '../tensor/shape';
import { Tensor, isTensor } from '../tensor/tensor';
import { Parameter } from './parameter';

/** Options of the `named*` iterators. */
export interface NamedMembersOptions {
  /** Prepended (with a dot) to every name. */
  prefix?: string;
  /** Include sub-modules' members (default true). */
  recurse?: boolean;
  /** Report a tensor or module reachable under several names only once (default true). */
  removeDuplicate?: boolean;
}

/** Options of {@link Module.stateDict}. */
export interface StateDictOptions {
  /** Prepended to every key. */
  prefix?: string;
  /** Keep the tensors themselves instead of detached views (PyTorch's `keep_vars`). */
  keepVars?: boolean;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Raise on missing or unexpected keys (default true). Shape mismatches always raise. */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} reports (with `strict: false`). */
export interface LoadStateDictResult {
  /** Keys the module expects that the dict lacks. */
  missingKeys: string[];
  /** Keys of the dict the module does not have. */
  unexpectedKeys: string[];
}

/** A module's own members as discovered from its properties (see the module docs). */
export interface ModuleMembers {
  /** Own parameter slots in order; null for an empty slot. */
  parameters: [string, Tensor | null][];
  /** Own buffers in order: name, tensor (null when absent), persistent. */
  buffers: [string, Tensor | null, boolean][];
  /** Direct children in order (array entries named `name.i`). */
  children: [string, Module][];
}

/** Per-instance bookkeeping, kept in a non-enumerable property so it is never discovered. */
interface ModuleInternals {
  training: boolean;
  /** Names that are parameter slots (first seen holding a Parameter, or registered). */
  paramSlots: Set<string>;
  /** Buffer names and whether each is persistent (part of the state dict). */
  buffers: Map<string, boolean>;
  /** The tree's parameter slots, with the snapshot that says when they must be found again. */
  slots: ParameterSlots | null;
}

/** One module's own properties when a {@link ParameterSlots} table was built. */
interface OwnSnapshot {
  module: Module;
  keys: string[];
  values: unknown[];
  /** Copies of the arrays among the values (arrays of sub-modules change in place). */
  arrays: (unknown[] | null)[];
}

/**
 * Where the parameters of a module tree live: per unique parameter (in namedParameters() order),
 * every (owner module, property) slot holding it (tied weights have several). @internal
 */
export interface ParameterSlots {
  readonly params: readonly Tensor[];
  readonly names: readonly string[];
  readonly slots: readonly (readonly [Module, string])[][];
  readonly snapshot: readonly OwnSnapshot[];
}

function snapshotOf(m: Module): OwnSnapshot {
  const self = m as unknown as Record<string, unknown>;
  const keys = Object.keys(m);
  const values = keys.map((k) => self[k]);
  return { module: m, keys, values, arrays: values.map((v) => (Array.isArray(v) ? v.slice() : null)) };
}

/** True when no module of the snapshot gained, lost or reassigned a property since. */
function unchanged(snapshot: readonly OwnSnapshot[]): boolean {
  for (const s of snapshot) {
    const self = s.module as unknown as Record<string, unknown>;
    const keys = Object.keys(s.module);
    if (keys.length !== s.keys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== s.keys[i] || self[keys[i]] !== s.values[i]) return false;
      const copy = s.arrays[i];
      if (copy !== null) {
        const now = s.values[i] as unknown[];
        if (now.length !== copy.length) return false;
        for (let j = 0; j < copy.length; j++) if (now[j] !== copy[j]) return false;
      }
    }
  }
  return true;
}

const INTERNALS = Symbol('metagrad.nn.Module');

function checkName(fn: string, arg: string, name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw typeError(fn, arg, 'a non-empty string without dots', name);
  }
  return name;
}

function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/** Adds `m` to the current recursion path, raising on a cycle (a module that contains itself). */
function enter(path: Set<Module>, m: Module, name: string): void {
  if (path.has(m)) {
    throw new RangeError(`nn.Module: the module at '${name}' (${m.constructor.name}) contains itself; sub-module references must not form a cycle`);
  }
  path.add(m);
}

/** Indents every line but the first (PyTorch's `_addindent`). */
function indent(s: string, n: number): string {
  return s.split('\n').join(`\n${' '.repeat(n)}`);
}

/** Base class of all modules. Subclasses assign parameters and sub-modules and define `forward`. */
export class Module {
  declare private readonly [INTERNALS]: ModuleInternals;

  constructor() {
    Object.defineProperty(this, INTERNALS, {
      value: { training: true, paramSlots: new Set<string>(), buffers: new Map<string, boolean>(), slots: null },
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }

  /** Runs the module. Subclasses override it; the base class raises. */
  forward(...inputs: unknown[]): unknown {
    void inputs;
    throw new TypeError(`${this.constructor.name}.forward: module is missing the required forward(...inputs) method; subclasses of nn.Module must define it`);
  }

  /** True in training mode (the default); set for the whole tree by {@link train} / {@link eval}. */
  get training(): boolean {
    return this[INTERNALS].training;
  }

  /** Sets the training flag of this module only (use {@link train} / {@link eval} for the whole tree). */
  set training(mode: boolean) {
    if (typeof mode !== 'boolean') throw typeError(`${this.constructor.name}.training`, 'mode', 'a boolean', mode);
    this[INTERNALS].training = mode;
  }

  // ---- discovery ---------------------------------------------------------------------------

  /**
   * This module's own parameters, buffers and children, read afresh from its properties. The single
   * discovery point: every other accessor builds on it, so a subclass that keeps extra members
   * (e.g. meta-parameters held apart from inner parameters) may override it and filter.
   */
  protected _members(): ModuleMembers {
    const st = this[INTERNALS];
    const self = this as unknown as Record<string, unknown>;
    const out: ModuleMembers = { parameters: [], buffers: [], children: [] };
    for (const key of Object.keys(this)) {
      const v = self[key];
      const persistent = st.buffers.get(key);
      if (persistent !== undefined) {
        if (v !== null && v !== undefined && !isTensor(v)) {
          throw typeError(this.constructor.name, key, 'a Tensor or null (it is a registered buffer)', v);
        }
        out.buffers.push([key, v ?? null, persistent]);
      } else if (v instanceof Parameter) {
        st.paramSlots.add(key);
        out.parameters.push([key, v]);
      } else if (st.paramSlots.has(key)) {
        if (v !== null && v !== undefined && !isTensor(v)) {
          throw typeError(this.constructor.name, key, 'a Tensor or null (it is a parameter slot)', v);
        }
        out.parameters.push([key, v ?? null]);
      } else if (v instanceof Module) {
        out.children.push([key, v]);
      } else if (Array.isArray(v)) {
        v.forEach((m, i) => {
          if (m instanceof Module) out.children.push([`${key}.${i}`, m]);
        });
      }
    }
    return out;
  }

  /** `[name, module]` for this module and all descendants, depth-first pre-order (this one is named `prefix`). */
  namedModules(opts: { prefix?: string; removeDuplicate?: boolean } = {}): [string, Module][] {
    const removeDuplicate = opts.removeDuplicate ?? true;
    const out: [string, Module][] = [];
    const memo = new Set<Module>();
    const path = new Set<Module>();
    const rec = (m: Module, prefix: string): void => {
      if (removeDuplicate) {
        if (memo.has(m)) return;
        memo.add(m);
      }
      enter(path, m, prefix);
      out.push([prefix, m]);
      for (const [name, c] of m._members().children) rec(c, joinName(prefix, name));
      path.delete(m);
    };
    rec(this, opts.prefix ?? '');
    return out;
  }

  /** This module and all descendants (each once). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** `[name, child]` for the direct children (each once). */
  namedChildren(): [string, Module][] {
    const memo = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, c] of this._members().children) {
      if (memo.has(c)) continue;
      memo.add(c);
      out.push([name, c]);
    }
    return out;
  }

  /** The direct children (each once). */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  private namedMembers(kind: 'parameters' | 'buffers', opts: NamedMembersOptions): [string, Tensor][] {
    const prefix = opts.prefix ?? '';
    const removeDuplicate = opts.removeDuplicate ?? true;
    const mods: [string, Module][] = opts.recurse ?? true ? this.namedModules({ prefix, removeDuplicate }) : [[prefix, this]];
    const memo = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [modPrefix, m] of mods) {
      for (const [name, t] of m._members()[kind]) {
        if (t === null) continue;
        if (removeDuplicate) {
          if (memo.has(t)) continue;
          memo.add(t);
        }
        out.push([joinName(modPrefix, name), t]);
      }
    }
    return out;
  }

  /** `[name, tensor]` of every parameter, in PyTorch's order (see the module docs). */
  namedParameters(opts: NamedMembersOptions = {}): [string, Tensor][] {
    return this.namedMembers('parameters', opts);
  }

  /** The parameters in {@link namedParameters} order. */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters({ recurse }).map(([, t]) => t);
  }

  /**
   * The parameter slots of this tree, found by discovery once and kept while a structural check
   * (every module's own property names and values, and its arrays' entries, unchanged) holds: what
   * swaps parameters in and out on every call (functionalCall, the implicit module) uses it
   * instead of rediscovering the tree each time. @internal
   */
  parameterSlots(): ParameterSlots {
    const st = this[INTERNALS];
    if (st.slots !== null && unchanged(st.slots.snapshot)) return st.slots;
    const all = this.namedParameters({ removeDuplicate: false });
    const unique = this.namedParameters();
    const snapshot = this.namedModules({ removeDuplicate: true }).map(([, m]) => snapshotOf(m));
    const slots = unique.map(([, t]) =>
      all
        .filter(([, u]) => u === t)
        .map(([name]): readonly [Module, string] => {
          const dot = name.lastIndexOf('.');
          return [dot < 0 ? this : this.getSubmodule(name.slice(0, dot)), name.slice(dot + 1)];
        }),
    );
    st.slots = { params: unique.map(([, t]) => t), names: unique.map(([n]) => n), slots, snapshot };
    return st.slots;
  }

  /** `[name, tensor]` of every buffer. */
  namedBuffers(opts: NamedMembersOptions = {}): [string, Tensor][] {
    return this.namedMembers('buffers', opts);
  }

  /** The buffers in {@link namedBuffers} order. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers({ recurse }).map(([, t]) => t);
  }

  // ---- registration and lookup -------------------------------------------------------------

  /**
   * Makes `name` a parameter slot holding `param` (any Tensor, or null for an empty slot) and
   * assigns the property. Assigning a Parameter to a property does the same implicitly.
   */
  registerParameter(name: string, param: Tensor | null): void {
    const fn = `${this.constructor.name}.registerParameter`;
    checkName(fn, 'name', name);
    if (param !== null && !isTensor(param)) throw typeError(fn, 'param', 'a Tensor or null', param);
    const st = this[INTERNALS];
    if (st.buffers.has(name)) throw new RangeError(`${fn}: '${name}' is already a buffer`);
    st.paramSlots.add(name);
    (this as unknown as Record<string, unknown>)[name] = param;
  }

  /**
   * Registers a buffer: state that is not a parameter (e.g. running statistics). Persistent buffers
   * are part of {@link stateDict}.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    const fn = `${this.constructor.name}.registerBuffer`;
    checkName(fn, 'name', name);
    if (tensor !== null && !isTensor(tensor)) throw typeError(fn, 'tensor', 'a Tensor or null', tensor);
    if (typeof persistent !== 'boolean') throw typeError(fn, 'persistent', 'a boolean', persistent);
    const self = this as unknown as Record<string, unknown>;
    if (this[INTERNALS].paramSlots.has(name) || self[name] instanceof Parameter) {
      throw new RangeError(`${fn}: '${name}' is already a parameter`);
    }
    if (self[name] instanceof Module) throw new RangeError(`${fn}: '${name}' is already a sub-module`);
    this[INTERNALS].buffers.set(name, persistent);
    self[name] = tensor;
  }

  /** Assigns a child module (PyTorch's `add_module`); plain assignment does the same. */
  registerModule(name: string, module: Module | null): void {
    const fn = `${this.constructor.name}.registerModule`;
    checkName(fn, 'name', name);
    if (module !== null && !(module instanceof Module)) throw typeError(fn, 'module', 'an nn.Module or null', module);
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  /** The sub-module at a dotted path (`'encoder.0'`); `''` is this module. */
  getSubmodule(target: string): Module {
    const fn = `${this.constructor.name}.getSubmodule`;
    if (typeof target !== 'string') throw typeError(fn, 'target', 'a dotted path string', target);
    if (target === '') return this;
    let cur: unknown = this;
    const walked: string[] = [];
    for (const part of target.split('.')) {
      const next = typeof cur === 'object' && cur !== null && Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
      walked.push(part);
      if (!(next instanceof Module) && !Array.isArray(next)) {
        throw new RangeError(`${fn}: '${walked.join('.')}' is not a sub-module of ${this.constructor.name}`);
      }
      cur = next;
    }
    if (!(cur instanceof Module)) throw new RangeError(`${fn}: '${target}' is not a sub-module of ${this.constructor.name}`);
    return cur;
  }

  private resolve(fn: string, target: string, kind: 'parameter' | 'buffer'): [Module, string] {
    if (typeof target !== 'string' || target === '') throw typeError(fn, 'target', 'a dotted name', target);
    const dot = target.lastIndexOf('.');
    const owner = dot < 0 ? this : this.getSubmodule(target.slice(0, dot));
    const name = target.slice(dot + 1);
    const members = owner._members();
    const found = kind === 'parameter' ? members.parameters.some(([n]) => n === name) : members.buffers.some(([n]) => n === name);
    if (!found) throw new RangeError(`${fn}: '${target}' is not a ${kind} of ${this.constructor.name}`);
    return [owner, name];
  }

  /** The parameter (slot value) at a dotted name; null for an empty slot. */
  getParameter(target: string): Tensor | null {
    const [owner, name] = this.resolve(`${this.constructor.name}.getParameter`, target, 'parameter');
    return ((owner as unknown as Record<string, unknown>)[name] as Tensor | null | undefined) ?? null;
  }

  /** The buffer at a dotted name (null when absent). */
  getBuffer(target: string): Tensor | null {
    const [owner, name] = this.resolve(`${this.constructor.name}.getBuffer`, target, 'buffer');
    return ((owner as unknown as Record<string, unknown>)[name] as Tensor | null | undefined) ?? null;
  }

  /**
   * Puts `value` (any tensor, e.g. a non-leaf produced by a differentiable update, or null) into
   * the existing parameter slot at a dotted name; it stays a parameter. Returns the previous value.
   * This is how functionalCall, meta-optimizers and state recovery swap parameters.
   */
  setParameter(target: string, value: Tensor | null): Tensor | null {
    const fn = `${this.constructor.name}.setParameter`;
    if (value !== null && !isTensor(value)) throw typeError(fn, 'value', 'a Tensor or null', value);
    const [owner, name] = this.resolve(fn, target, 'parameter');
    const self = owner as unknown as Record<string, unknown>;
    const prev = (self[name] as Tensor | null | undefined) ?? null;
    self[name] = value;
    return prev;
  }

  /** Puts `value` into the existing buffer at a dotted name; returns the previous value. */
  setBuffer(target: string, value: Tensor | null): Tensor | null {
    const fn = `${this.constructor.name}.setBuffer`;
    if (value !== null && !isTensor(value)) throw typeError(fn, 'value', 'a Tensor or null', value);
    const [owner, name] = this.resolve(fn, target, 'buffer');
    const self = owner as unknown as Record<string, unknown>;
    const prev = (self[name] as Tensor | null | undefined) ?? null;
    self[name] = value;
    return prev;
  }

  // ---- modes and gradients ------------------------------------------------------------------

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw typeError(`${this.constructor.name}.train`, 'mode', 'a boolean', mode);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the parameters' gradients: sets `.grad` to null (default) or zeroes it in place. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (p.grad === null) continue;
      if (setToNone) {
        p.grad = null;
      } else {
        const g = p.grad;
        if (g.gradFn !== null) detach_(g);
        else g.requiresGrad = false;
        noGrad(() => zero_(g));
      }
    }
  }

  /** Sets `requiresGrad` on every parameter (leaves only); returns this. */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw typeError(`${this.constructor.name}.requiresGrad_`, 'flag', 'a boolean', flag);
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Calls `fn` on every descendant (children first) and then on this module; returns this. */
  apply(fn: (module: Module) => void): this {
    if (typeof fn !== 'function') throw typeError(`${this.constructor.name}.apply`, 'fn', 'a function', fn);
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Converts parameters and buffers to `dtype`, replacing each slot's tensor (Parameters become new
   * Parameters with converted gradients; shared tensors stay shared); returns this.
   */
  to(dtype: FloatDType): this {
    if (dtype !== 'float32' && dtype !== 'float64') throw typeError(`${this.constructor.name}.to`, 'dtype', "'float32' or 'float64'", dtype);
    const memo = new Map<Tensor, Tensor>();
    const convert = (t: Tensor, isParam: boolean): Tensor => {
      let r = memo.get(t);
      if (r !== undefined) return r;
      // Integer and bool buffers (BatchNorm's num_batches_tracked) keep their dtype, as in PyTorch.
      if (t.dtype === dtype || !isFloating(t.dtype)) r = t;
      else if (t instanceof Parameter) {
        r = new Parameter(noGrad(() => castTo(t, dtype)), t.requiresGrad);
        if (t.grad !== null) r.grad = noGrad(() => castTo(t.grad as Tensor, dtype));
      } else r = isParam ? castTo(t, dtype) : noGrad(() => castTo(t, dtype));
      memo.set(t, r);
      return r;
    };
    for (const m of this.modules()) {
      const self = m as unknown as Record<string, unknown>;
      const members = m._members();
      for (const [name, t] of members.parameters) if (t !== null) self[name] = convert(t, true);
      for (const [name, t] of members.buffers) if (t !== null) self[name] = convert(t, false);
    }
    return this;
  }

  /** `to('float64')`. */
  double(): this {
    return this.to('float64');
  }

  /** `to('float32')`. */
  float(): this {
    return this.to('float32');
  }

  // ---- state dict ---------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted name, module by module (own parameters, own
   * buffers, then children), detached from the graph unless `keepVars`. Names reachable twice
   * appear twice, as in PyTorch.
   */
  stateDict(opts: StateDictOptions = {}): Record<string, Tensor> {
    const keepVars = opts.keepVars ?? false;
    const out: Record<string, Tensor> = {};
    const path = new Set<Module>();
    const rec = (m: Module, prefix: string): void => {
      enter(path, m, prefix);
      const members = m._members();
      for (const [name, t] of members.parameters) if (t !== null) out[joinName(prefix, name)] = keepVars ? t : detach(t);
      for (const [name, t, persistent] of members.buffers) {
        if (t !== null && persistent) out[joinName(prefix, name)] = keepVars ? t : detach(t);
      }
      for (const [name, c] of members.children) rec(c, joinName(prefix, name));
      path.delete(m);
    };
    rec(this, opts.prefix ?? '');
    return out;
  }

  /**
   * Copies the tensors of `stateDict` (a name → Tensor object or Map, as from {@link Module.stateDict})
   * into the module's parameters and buffers, in place and without recording gradients. Every
   * entry is checked before anything is copied: a non-tensor value, a shape mismatch, or (with
   * `strict`, the default) a missing or unexpected key raises one error that lists all problems.
   */
  loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const fn = `${this.constructor.name}.loadStateDict`;
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw typeError(fn, 'strict', 'a boolean', strict);
    let entries: [string, unknown][];
    if (stateDict instanceof Map) entries = [...stateDict.entries()];
    else if (typeof stateDict === 'object' && stateDict !== null && !Array.isArray(stateDict) && !isTensor(stateDict)) entries = Object.entries(stateDict);
    else throw typeError(fn, 'stateDict', 'an object or Map from names to Tensors', stateDict);

    const given = new Map(entries);
    const targets = this.stateDict({ keepVars: true });
    const missingKeys = Object.keys(targets).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !Object.hasOwn(targets, k));
    const typeProblems: string[] = [];
    const problems: string[] = [];
    for (const [key, src] of given) {
      const dst = targets[key];
      if (!isTensor(src)) typeProblems.push(`'${key}' must be a Tensor, got ${describe(src)}`);
      else if (dst !== undefined && !sameShape(src.shape, dst.shape)) {
        problems.push(`size mismatch for '${key}': copying a tensor of shape ${fmtShape(src.shape)} from the state dict, the shape in the current module is ${fmtShape(dst.shape)}`);
      }
    }
    if (strict) {
      if (missingKeys.length > 0) problems.unshift(`missing key(s): ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
      if (unexpectedKeys.length > 0) problems.unshift(`unexpected key(s): ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    }
    if (typeProblems.length > 0 || problems.length > 0) {
      const msg = `${fn}: error(s) in loading the state dict: ${[...typeProblems, ...problems].join('; ')}`;
      throw typeProblems.length > 0 ? new TypeError(msg) : new RangeError(msg);
    }
    noGrad(() => {
      for (const [key, dst] of Object.entries(targets)) {
        const src = given.get(key);
        if (src !== undefined && src !== dst) copy_(dst, src as Tensor);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ------------------------------------------------------------------------------

  /** Extra text inside the module's representation, e.g. `in_features=4, out_features=3, bias=True`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style representation listing the children. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra === '' ? [] : extra.split('\n');
    const childLines = this._members().children.map(([name, c]) => `(${name}): ${indent(c.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length > 0) {
      s += extraLines.length === 1 && childLines.length === 0 ? extraLines[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  /** Used by `console.log` / `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** True for {@link Module} instances. */
export function isModule(x: unknown): x is Module {
  return x instanceof Module;
}

