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
