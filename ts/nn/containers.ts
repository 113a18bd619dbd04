/** `nn.Sequential`: a chain of modules. */
import { typeError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';

/**
 * Runs its modules in order, each on the previous one's output. Built from modules
 * (`new Sequential(a, b, c)`, children named `'0'`, `'1'`, …) or from one object of named modules
 * (`new Sequential({ fc: …, act: … })`, PyTorch's OrderedDict form).
 */
export class Sequential extends Module {
  /** Children by position (`seq[0]`); children built from an object are properties by name. */
  [index: number]: Module;

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    const named = modules.length === 1 && !(first instanceof Module) && typeof first === 'object' && first !== null;
    const entries: [string, unknown][] = named ? Object.entries(first as Record<string, unknown>) : modules.map((m, i) => [String(i), m]);
    for (const [name, m] of entries) {
      if (!(m instanceof Module)) throw typeError('Sequential', named ? name : `modules[${name}]`, 'an nn.Module', m);
      this.registerModule(name, m);
    }
  }

  /** The modules in order (repeated entries included). */
  private entries(): Module[] {
    const self = this as unknown as Record<string, unknown>;
    return Object.keys(this).map((k) => self[k]).filter((m): m is Module => m instanceof Module);
  }

  /** Number of modules. */
  get length(): number {
    return this.entries().length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): Module {
    const list = this.entries();
    if (!Number.isInteger(index) || index < -list.length || index >= list.length) {
      throw new RangeError(`Sequential.at: argument 'index' must be an integer in [${-list.length}, ${list.length}), got ${String(index)}`);
    }
    return list[index < 0 ? index + list.length : index];
  }

  /**
   * Appends a module under the next index; returns this. Not available on a Sequential built from
   * named modules: JS orders integer-like property names first, so the new module would not run
   * last (use `registerModule(name, module)` with a non-numeric name there).
   */
  append(module: Module): this {
    if (!(module instanceof Module)) throw typeError('Sequential.append', 'module', 'an nn.Module', module);
    if (Object.keys(this).some((k) => !/^(0|[1-9]\d*)$/.test(k))) {
      throw new RangeError("Sequential.append: this Sequential has named children; add the module with registerModule(name, module) under a non-numeric name so that it runs last");
    }
    this.registerModule(String(this.length), module);
    return this;
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.entries()[Symbol.iterator]();
  }

  /** Feeds `input` through every module in order. */
  override forward(input: Tensor): Tensor {
    let x: unknown = input;
    for (const m of this.entries()) x = (m.forward as (...a: unknown[]) => unknown).call(m, x);
    return x as Tensor;
  }
}

/**
 * A list of modules (PyTorch's `nn.ModuleList`): children named `'0'`, `'1'`, …, registered so
 * their parameters are found; indexing, `at`, `append`, `length` and iteration. It has no forward.
 */
export class ModuleList extends Module {
  /** Children by position (`list[0]`). */
  [index: number]: Module;

  /** `new ModuleList([a, b, c])`. */
  constructor(modules: Iterable<Module> = []) {
    super();
    let i = 0;
    for (const m of modules) {
      if (!(m instanceof Module)) throw typeError('ModuleList', `modules[${i}]`, 'an nn.Module', m);
      this.registerModule(String(i++), m);
    }
  }

  private items(): Module[] {
    const self = this as unknown as Record<string, unknown>;
    return Object.keys(this).filter((k) => /^(0|[1-9]\d*)$/.test(k)).map((k) => self[k] as Module);
  }

  /** Number of modules. */
  get length(): number {
    return this.items().length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): Module {
    const list = this.items();
    if (!Number.isInteger(index) || index < -list.length || index >= list.length) {
      throw new RangeError(`ModuleList.at: argument 'index' must be an integer in [${-list.length}, ${list.length}), got ${String(index)}`);
    }
    return list[index < 0 ? index + list.length : index];
  }

  /** Appends a module; returns this. */
  append(module: Module): this {
    if (!(module instanceof Module)) throw typeError('ModuleList.append', 'module', 'an nn.Module', module);
    this.registerModule(String(this.length), module);
    return this;
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.items()[Symbol.iterator]();
  }

  /** A ModuleList is a container: call its modules. */
  override forward(): never {
    throw new TypeError('ModuleList.forward: a ModuleList has no forward; iterate it and call its modules');
  }
}

/**
 * Modules by name (PyTorch's `nn.ModuleDict`), in insertion order: `get`, `set`, `has`, `keys`,
 * `values`, `entries`. Names are properties too (`dict.encoder`); integer-like names come first, as
 * JavaScript orders such properties. It has no forward.
 */
export class ModuleDict extends Module {
  /** `new ModuleDict({ encoder, head })`. */
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [name, m] of Object.entries(modules)) this.set(name, m);
  }

  /** The module under `name`. */
  get(name: string): Module {
    const m = (this as unknown as Record<string, unknown>)[name];
    if (!(m instanceof Module) || !Object.prototype.hasOwnProperty.call(this, name)) throw new RangeError(`ModuleDict.get: no module named '${name}' (has ${this.keys().join(', ') || 'none'})`);
    return m;
  }

  /** Adds or replaces the module under `name`. */
  set(name: string, module: Module): this {
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw typeError('ModuleDict.set', 'name', 'a non-empty string without dots', name);
    if (!(module instanceof Module)) throw typeError('ModuleDict.set', 'module', 'an nn.Module', module);
    if (name in Module.prototype || name in ModuleDict.prototype) throw new RangeError(`ModuleDict.set: '${name}' is the name of a ModuleDict method`);
    this.registerModule(name, module);
    return this;
  }

  /** Whether a module is registered under `name`. */
  has(name: string): boolean {
    return this.keys().includes(name);
  }

  /** Names in insertion order. */
  keys(): string[] {
    return this.entries().map(([k]) => k);
  }

  /** Modules in insertion order. */
  values(): Module[] {
    return this.entries().map(([, m]) => m);
  }

  /** [name, module] pairs in insertion order. */
  entries(): [string, Module][] {
    const self = this as unknown as Record<string, unknown>;
    return Object.keys(this).filter((k) => self[k] instanceof Module).map((k) => [k, self[k] as Module]);
  }

  /** A ModuleDict is a container: call its modules. */
  override forward(): never {
    throw new TypeError('ModuleDict.forward: a ModuleDict has no forward; get its modules and call them');
  }
}
