/**
 * ImplicitMetaGradientModule: the object-oriented form of customRoot (TorchOpt's
 * `torchopt.diff.implicit.nn.ImplicitMetaGradientModule`). A subclass holds inner parameters (its
 * own parameters and sub-modules) and meta-parameters (the modules and grad-requiring tensors given
 * to the base constructor, or registered explicitly); it defines `solve(...inputs)` and either
 * `objective(...inputs)` or `optimality(...inputs)`. After `solve` returns, the inner parameters
 * are the solution, differentiable with respect to the meta-parameters by the implicit function
 * theorem.
 */
import { enableGrad } from '../../autograd/grad-mode';
import { MetagradError, describe, typeError } from '../../errors';
import { grad as funcGrad } from '../../func/transforms';
import { solveNormalCg } from '../../linear-solve/index';
import { Module, type ModuleMembers } from '../../nn/module';
import { clone, detach } from '../../ops/inplace';
import { Parameter } from '../../nn/parameter';
import { fmtShape, sameShape } from '../../tensor/shape';
import { type Tensor, isTensor } from '../../tensor/tensor';
import { type CustomRootOptions, customRoot } from './root';
import type { LinearSolver } from './types';

const META = Symbol('metagrad.implicit.meta');

interface MetaState {
  /** Meta modules in registration order (named later by the property that holds them). */
  modules: Module[];
  /** Meta tensors (grad-requiring tensors given to the constructor or registered). */
  tensors: Tensor[];
  /** Explicit names from registerMeta*; others are named by the property holding them. */
  names: Map<Module | Tensor, string>;
  /** The customRoot wrapper, built at the first solve. */
  wrapped?: RootWrapped;
  /** The subclass defines only objective: optimality is derived from it (and exposed on the instance). */
  derived: boolean;
}

/**
 * Options of the module's implicit differentiation (set as `static implicitOptions` on a
 * subclass): as {@link CustomRootOptions}, less what the module decides itself.
 */
export type ImplicitModuleOptions = Pick<CustomRootOptions, 'onSolve' | 'warnNotConverged' | 'checkRoot' | 'rootTol'>;

/** Subclass contract: what a concrete implicit module provides. */
interface ImplicitHooks {
  solve(...inputs: unknown[]): unknown;
  objective?(...inputs: unknown[]): Tensor;
  optimality?(...inputs: unknown[]): Tensor[];
}

/**
 * Base class of modules whose inner parameters are the solution of an inner optimisation problem.
 * A subclass implements {@link solve} (returning `this`) and one of {@link objective} or
 * {@link optimality}; set `static linearSolve` on it to choose the backward linear solver.
 */
export abstract class ImplicitMetaGradientModule extends Module {
  /**
   * Runs the inner optimisation on the inner parameters (any optimizer loop, recording on) and
   * returns `this`. Called through the module, the parameters it leaves are the solution,
   * differentiable with respect to the meta-parameters.
   */
  abstract solve(...inputs: never[]): this;
  /** The inner objective whose gradient with respect to the inner parameters is zero at the solution. */
  objective?(...inputs: never[]): Tensor;
  /** The optimality condition itself, one tensor per inner parameter (instead of {@link objective}). */
  optimality?(...inputs: never[]): Tensor[];
  /** Linear solver of the backward system (default `solveNormalCg()`), set per subclass. */
  static linearSolve: LinearSolver | undefined = undefined;
  /** Options of the implicit differentiation (root check, diagnostics), set per subclass. */
  static implicitOptions: ImplicitModuleOptions | undefined = undefined;

  declare private readonly [META]: MetaState;

  /**
   * Registers meta-parameters from the arguments as TorchOpt does: modules in training mode and
   * tensors that require grad. Subclasses call `super(...arguments)`.
   */
  constructor(...args: unknown[]) {
    super();
    const state: MetaState = { modules: [], tensors: [], names: new Map(), derived: false };
    Object.defineProperty(this, META, { value: state, enumerable: false });
    for (const a of args) {
      if (a instanceof Module) {
        if (a.training && !state.modules.includes(a)) state.modules.push(a);
      } else if (isTensor(a) && a.requiresGrad && !state.tensors.includes(a)) {
        state.tensors.push(a);
      }
    }
    const hooks = this as unknown as ImplicitHooks;
    const name = this.constructor.name;
    if (typeof hooks.solve !== 'function') throw new TypeError(`${name}: an ImplicitMetaGradientModule must define solve(...inputs)`);
    if (typeof hooks.optimality !== 'function' && typeof hooks.objective !== 'function') {
      throw new TypeError(`${name}: an ImplicitMetaGradientModule must define either objective(...inputs) or optimality(...inputs)`);
    }
    if (typeof hooks.optimality !== 'function') {
      // TorchOpt exposes the derived condition: the gradient of the objective with respect to the
      // inner parameters, one tensor per parameter, differentiable (createGraph).
      state.derived = true;
      const objective = hooks.objective as (...a: unknown[]) => Tensor;
      Object.defineProperty(this, 'optimality', {
        value: (...inputs: unknown[]): Tensor[] => {
          const inner = this.parameters();
          return funcGrad((flat: Tensor[]) => {
            const names = this.namedParameters().map(([n]) => n);
            const prev = names.map((n) => this.getParameter(n) as Tensor);
            names.forEach((n, i) => this.setParameter(n, flat[i]));
            try {
              return objective.apply(this, inputs);
            } finally {
              names.forEach((n, i) => this.setParameter(n, prev[i]));
            }
          })(inner) as Tensor[];
        },
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
    const userSolve = hooks.solve;
    Object.defineProperty(this, 'solve', {
      value: (...inputs: unknown[]) => this.implicitSolve(userSolve, inputs),
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }

  /** Registers a module whose parameters are meta-parameters, and assigns it as a property. */
  registerMetaModule(name: string, module: Module): void {
    const fn = `${this.constructor.name}.registerMetaModule`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw typeError(fn, 'name', 'a non-empty string without dots', name);
    if (!(module instanceof Module)) throw typeError(fn, 'module', 'an nn.Module', module);
    const st = this[META];
    if (!st.modules.includes(module)) st.modules.push(module);
    st.names.set(module, name);
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  /** Registers a tensor as a meta-parameter, and assigns it as a property. */
  registerMetaParameter(name: string, tensor: Tensor): void {
    const fn = `${this.constructor.name}.registerMetaParameter`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw typeError(fn, 'name', 'a non-empty string without dots', name);
    if (!isTensor(tensor)) throw typeError(fn, 'tensor', 'a Tensor', tensor);
    const st = this[META];
    if (!st.tensors.includes(tensor)) st.tensors.push(tensor);
    st.names.set(tensor, name);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Meta modules and tensors are not inner members: hide them from parameters()/children(). */
  protected override _members(): ModuleMembers {
    const m = super._members();
    const st = this[META];
    if (!st) return m;
    return {
      parameters: m.parameters.filter(([, t]) => t === null || !st.tensors.includes(t)),
      buffers: m.buffers,
      children: m.children.filter(([, c]) => !st.modules.includes(c)),
    };
  }

  /** Where each meta member is: [name, holder for swapping]. */
  private metaEntries(): { name: string; get: () => Tensor; set: (t: Tensor) => void }[] {
    const st = this[META];
    const self = this as unknown as Record<string, unknown>;
    const propOf = (x: unknown): string | undefined => Object.keys(this).find((k) => self[k] === x);
    const out: { name: string; get: () => Tensor; set: (t: Tensor) => void }[] = [];
    st.modules.forEach((mod, i) => {
      const prefix = st.names.get(mod) ?? propOf(mod) ?? `metaModule${i}`;
      for (const [pname] of mod.namedParameters()) {
        out.push({ name: `${prefix}.${pname}`, get: () => mod.getParameter(pname) as Tensor, set: (t) => mod.setParameter(pname, t) });
      }
    });
    st.tensors.forEach((t0, i) => {
      const prop = st.names.get(t0) ?? propOf(t0);
      let current = t0;
      out.push({
        name: prop ?? `metaParameter${i}`,
        get: () => current,
        set: (t) => {
          current = t;
          if (prop !== undefined) self[prop] = t;
        },
      });
    });
    return out;
  }

  /** `[name, tensor]` of the meta-parameters (meta modules' parameters first, then meta tensors). */
  namedMetaParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const e of this.metaEntries()) {
      const t = e.get();
      if (seen.has(t)) continue;
      seen.add(t);
      out.push([e.name, t]);
    }
    return out;
  }

  /** The meta-parameters, in {@link namedMetaParameters} order. */
  metaParameters(): Tensor[] {
    return this.namedMetaParameters().map(([, t]) => t);
  }

  /** Runs the user's solve through customRoot and installs the differentiable solution. */
  private implicitSolve(userSolve: (...inputs: unknown[]) => unknown, inputs: unknown[]): unknown {
    const name = this.constructor.name;
    const inner = this.namedParameters();
    if (inner.length === 0) {
      throw new MetagradError(`${name}.solve: the module has no inner parameters (assign nn.Parameter properties or sub-modules that are not meta-modules)`);
    }
    const meta = this.metaEntries();
    if (meta.length === 0) {
      throw new MetagradError(
        `${name}.solve: the module has no meta-parameters; pass meta-modules (in training mode) or tensors that require grad to super(...), or use registerMetaModule / registerMetaParameter`,
      );
    }
    const innerNames = inner.map(([n]) => n);
    // Start every solve from fresh leaves holding the current values: the user's optimizer works on
    // leaves, and no graph from an earlier solve stays reachable (repeated solves must not leak).
    for (const [n, t] of inner) this.setParameter(n, new Parameter(clone(detach(t))));
    // Where each inner parameter lives (tied names included), found once per solve: every
    // optimality evaluation swaps tensors through these slots instead of resolving names.
    const { slots } = this.parameterSlots();
    const call: SolveCall = { innerNames, innerSlots: slots, meta, userSolve };
    const [solution, output] = this.rootWrapper()(
      innerNames.map((n) => this.getParameter(n) as Tensor),
      meta.map((e) => e.get()),
      call,
      ...inputs,
    ) as [Tensor[], unknown];
    swapInto(call.innerSlots, solution);
    if (output !== this) {
      throw new TypeError(`${name}.solve must return this (the module, as in TorchOpt), got ${describe(output)}`);
    }
    return output;
  }

  /**
   * The customRoot wrapper of this module, built once: its diagnostics (warn once, onSolve) are
   * per wrapper, and a wrapper per solve would warn on every solve and keep growing. What differs
   * between solves travels as the `call` argument.
   */
  private rootWrapper(): RootWrapped {
    const st = this[META];
    if (st.wrapped !== undefined) return st.wrapped;
    const name = this.constructor.name;
    const hooks = this as unknown as ImplicitHooks;
    const ctor = this.constructor as typeof ImplicitMetaGradientModule;
    const solve = ctor.linearSolve ?? solveNormalCg();
    const options = ctor.implicitOptions ?? {};
    if (typeof options !== 'object' || options === null) throw typeError(`${name}.implicitOptions`, 'implicitOptions', 'an options object', options);

    const withSwapped = <T>(call: SolveCall, params: Tensor[], metaParams: Tensor[], fn: () => T): T => {
      const prevInner = swapInto(call.innerSlots, params);
      const prevMeta = call.meta.map((e, i) => {
        const prev = e.get();
        e.set(metaParams[i]);
        return prev;
      });
      try {
        return fn();
      } finally {
        swapInto(call.innerSlots, prevInner);
        call.meta.forEach((e, i) => e.set(prevMeta[i]));
      }
    };

    const optimalityOf = (call: SolveCall, ins: unknown[]): Tensor[] => {
      if (!this[META].derived && typeof hooks.optimality === 'function') return hooks.optimality.apply(this, ins);
      const objective = hooks.objective as (...a: unknown[]) => Tensor;
      const current = call.innerSlots.map(([[owner, key]]) => (owner as unknown as Record<string, Tensor>)[key]);
      return funcGrad((flat: Tensor[]) => {
        const prev = swapInto(call.innerSlots, flat);
        try {
          return objective.apply(this, ins);
        } finally {
          swapInto(call.innerSlots, prev);
        }
      })(current) as Tensor[];
    };

    const optimalityFn = (params: Tensor[], metaParams: Tensor[], call: SolveCall, ...ins: unknown[]): Tensor[] =>
      withSwapped(call, params, metaParams, () => {
        const { innerNames } = call;
        const out = optimalityOf(call, ins);
        if (!Array.isArray(out) || out.length !== innerNames.length || !out.every(isTensor)) {
          throw new TypeError(
            `${name}.optimality: must return an array of ${innerNames.length} tensor(s) aligned with parameters() (${innerNames.join(', ')}), got ${Array.isArray(out) ? `an array of ${out.length}` : typeof out}`,
          );
        }
        out.forEach((o, i) => {
          if (!sameShape(o.shape, params[i].shape)) {
            throw new RangeError(
              `${name}.optimality: output ${i} for parameter '${innerNames[i]}' has shape ${fmtShape(o.shape)}, but the parameter has shape ${fmtShape(params[i].shape)}`,
            );
          }
        });
        return out;
      });

    const solverFn = (_params: Tensor[], _metaParams: Tensor[], call: SolveCall, ...ins: unknown[]): [Tensor[], unknown] => {
      const output = enableGrad(() => call.userSolve.apply(this, ins));
      const solved = call.innerNames.map((n) => {
        const t = this.getParameter(n);
        if (!isTensor(t)) throw new TypeError(`${name}.solve: parameter '${n}' is empty after solve`);
        return t;
      });
      return [solved, output];
    };
    Object.defineProperty(solverFn, 'name', { value: `${name}.solve` });

    st.wrapped = customRoot(optimalityFn, { ...options, argnums: 1, hasAux: true, solve })(solverFn) as RootWrapped;
    return st.wrapped;
  }
}

/** Puts tensors[i] into every slot of parameter i; returns what the slots held (the first of each). */
function swapInto(slots: readonly (readonly [Module, string])[][], tensors: readonly Tensor[]): Tensor[] {
  return slots.map((holders, i) => {
    const [[owner0, key0]] = holders;
    const prev = (owner0 as unknown as Record<string, Tensor>)[key0];
    for (const [owner, key] of holders) (owner as unknown as Record<string, Tensor>)[key] = tensors[i];
    return prev;
  });
}

/** What one `solve` call hands to the module's (single) customRoot wrapper. */
interface SolveCall {
  innerNames: string[];
  /** Per inner parameter, the (module, property) slots holding it (from Module.parameterSlots). */
  innerSlots: readonly (readonly [Module, string])[][];
  meta: { name: string; get: () => Tensor; set: (t: Tensor) => void }[];
  userSolve: (...inputs: unknown[]) => unknown;
}

type RootWrapped = (params: Tensor[], metaParams: Tensor[], call: SolveCall, ...inputs: unknown[]) => unknown;
