/**
 * PyTorch-style optimizers over parameters' `.grad` (TorchOpt's `optim.Optimizer`): each parameter
 * group holds its own options and its own state of the same gradient transformation the functional
 * API uses, so both compute identical steps.
 */
import { enableGrad, noGrad } from '../../autograd/grad-mode';
import { typeError } from '../../errors';
import * as ip from '../../ops/inplace';
import { fmtShape, sameShape } from '../../tensor/shape';
import { type Tensor, isTensor } from '../../tensor/tensor';
import { map } from '../../tree/tree';
import { flattenLeaves } from '../flat';
import { readOptions, scalar } from '../options';
import type { GradientTransformation, OptState, Scalar } from '../types';
import { applyUpdates } from '../update';
import { isPlainObject } from '../../objects';

/** A tree of parameter tensors (arrays and plain objects of tensors). */
export type ParamTree = Tensor | readonly ParamTree[] | { readonly [key: string]: ParamTree };

/** A parameter group as given to a constructor: its tensors and options overriding the defaults. */
export type ParamGroupInput<O> = Partial<O> & {
  /** The group's tensors (any iterable or tree of them). */
  params: Iterable<Tensor> | ParamTree;
};

/** What an optimizer is built from: tensors (any iterable or tree of them) or an array of parameter groups. */
export type OptimizerParams<O> = Iterable<Tensor> | ParamTree | readonly ParamGroupInput<O>[];

/** A parameter group: its tensors and its full options (`lr` may be changed between steps). */
export type ParamGroup<O> = O & {
  /** The group's tensors. */
  params: Tensor[];
};

/** How an optimizer class turns a group's options into its gradient transformation. */
export interface OptimizerSpec<O> {
  /** Class name for error messages, e.g. `SGD`. */
  name: string;
  /** Options of groups that do not set them. */
  defaults: O;
  /** Builds (and validates) the transformation for one group's options. */
  build(options: O): GradientTransformation;
}

/** What {@link Optimizer.stateDict} returns: per-group states (null before the first step) and options. */
export interface OptimizerStateDict {
  /** State of each group's transformation (null before the group's first step). */
  state: OptState[];
  /** Options of each group, with `params` as indices counted over all groups. */
  paramGroups: Record<string, unknown>[];
}

/** Options of {@link Optimizer.zeroGrad}. */
export interface ZeroGradOptions {
  /** Set `.grad` to null (default true, as PyTorch 2) instead of filling it with zeros. */
  setToNone?: boolean;
}

function isGroupList(x: unknown): x is readonly Record<string, unknown>[] {
  return Array.isArray(x) && x.length > 0 && x.every((g) => isPlainObject(g) && 'params' in g);
}

function toTensorList(fn: string, arg: string, x: unknown): Tensor[] {
  const out: Tensor[] = [];
  const rec = (v: unknown, path: string): void => {
    if (isTensor(v)) out.push(v);
    else if (Array.isArray(v)) v.forEach((c, i) => rec(c, `${path}[${i}]`));
    else if (isPlainObject(v)) Object.keys(v).forEach((k) => rec(v[k], `${path}.${k}`));
    else throw typeError(fn, path, 'a Tensor', v);
  };
  if (isTensor(x) || Array.isArray(x) || isPlainObject(x)) rec(x, arg);
  else if (typeof x === 'object' && x !== null && Symbol.iterator in x) rec(Array.from(x as Iterable<unknown>), arg);
  else throw typeError(fn, arg, 'tensors (an array, iterable or tree of them) or an array of parameter groups', x);
  return out;
}

/**
 * A class's default options: `base` (PyTorch's defaults, so every group lists every option)
 * overridden by `opts`, after rejecting unknown names (values are checked per group, when built). @internal
 */
export function optionDefaults<O>(name: string, opts: unknown, allowed: readonly string[], base: Partial<O>): O {
  return { ...base, ...readOptions(name, opts, allowed) } as O;
}

/** The state's structure, ignoring values, to tell whether a rebuilt transformation can keep it. */
function structureOf(state: OptState): string {
  const [, spec] = flattenLeaves(state);
  return JSON.stringify(spec, (k, v: unknown) => (k === 'value' ? undefined : v));
}

/** The options with array values (betas) copied, so that two groups or optimizers never share one. */
function copyArrays(options: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k, Array.isArray(v) ? v.slice() : v]));
}

function sameOption(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameOption(x, b[i]));
  return a === b;
}

/**
 * The base optimizer (TorchOpt's `Optimizer`): `new mg.Optimizer(params, transformation)` runs any
 * gradient transformation (e.g. a `chain`) on the parameters' `.grad`; the classes SGD, Adam, …
 * build theirs from options. `step()` updates in place without recording; parameters whose
 * `.grad` is null are skipped and `.grad` is left untouched.
 */
export class Optimizer<O extends object = Record<string, never>> {
  /** The parameter groups with their options; change `lr` here between steps. */
  readonly paramGroups: ParamGroup<O>[] = [];
  private readonly spec: OptimizerSpec<O>;
  private readonly impls: GradientTransformation[] = [];
  private readonly built: Record<string, unknown>[] = [];
  private readonly states: (OptState | null)[] = [];

  /** Builds an optimizer from parameters and a transformation, or (for subclasses) a spec with options. */
  constructor(params: OptimizerParams<O>, impl: GradientTransformation | OptimizerSpec<O>) {
    if (typeof impl !== 'object' || impl === null) throw typeError('Optimizer', 'impl', 'a GradientTransformation', impl);
    if ('build' in impl && typeof impl.build === 'function') {
      this.spec = impl;
    } else {
      const t = impl as GradientTransformation;
      if (typeof t.init !== 'function' || typeof t.update !== 'function') throw typeError('Optimizer', 'impl', 'a GradientTransformation ({ init, update })', impl);
      this.spec = { name: 'Optimizer', defaults: {} as O, build: () => t };
    }
    const groups: readonly Record<string, unknown>[] = isGroupList(params) ? params : [{ params }];
    for (const g of groups) this.addParamGroup(g as ParamGroupInput<O>);
  }

  /** Adds a parameter group (its options default to the constructor's). */
  addParamGroup(group: ParamGroupInput<O>): void {
    const fn = `${this.spec.name}.addParamGroup`;
    if (!isPlainObject(group) || !('params' in group)) throw typeError(fn, 'group', 'an object { params, ...options }', group);
    const { params, ...options } = group as Record<string, unknown>;
    const list = toTensorList(this.spec.name, 'params', params);
    if (list.length === 0) throw new RangeError(`${this.spec.name}: got an empty parameter list`);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    list.forEach((p, i) => {
      if (!p.isLeaf) throw new RangeError(`${this.spec.name}: can't optimize a non-leaf Tensor (params[${i}]); pass leaves (e.g. detach().requiresGrad_())`);
      if (seen.has(p)) throw new RangeError(`${this.spec.name}: params[${i}] appears in more than one parameter group (or twice)`);
      seen.add(p);
    });
    const full = { ...copyArrays({ ...this.spec.defaults, ...options }), params: list } as ParamGroup<O>;
    const [impl, built] = this.buildFor(full); // before storing, so bad options leave the optimizer as it was
    this.paramGroups.push(full);
    this.impls.push(impl);
    this.built.push(built);
    this.states.push(null);
  }

  /** Clears the gradients of all parameters: sets them to null, or zeros them with `setToNone: false`. */
  zeroGrad(opts?: ZeroGradOptions): void {
    const setToNone = opts?.setToNone ?? true;
    if (typeof setToNone !== 'boolean') throw typeError(`${this.spec.name}.zeroGrad`, 'setToNone', 'a boolean', setToNone);
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (setToNone) p.grad = null;
          else if (p.grad !== null) {
            if (p.grad.gradFn !== null) ip.detach_(p.grad);
            else p.grad.requiresGrad = false;
            ip.zero_(p.grad);
          }
        }
      }
    });
  }

  /**
   * One update of every group from the parameters' `.grad`, in place and unrecorded. `closure`,
   * when given, is run first with grad enabled (it usually zeroes grads, computes the loss and calls
   * backward); its loss is returned.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const fn = `${this.spec.name}.step`;
    if (closure !== undefined && typeof closure !== 'function') throw typeError(fn, 'closure', 'a function', closure);
    const loss = closure === undefined ? undefined : enableGrad(closure);
    noGrad(() => {
      this.paramGroups.forEach((group, gi) => {
        this.refresh(gi);
        const params = group.params;
        const grads = params.map((p, i) => {
          if (p.grad === null) return null;
          if (!sameShape(p.grad.shape, p.shape)) {
            throw new RangeError(`${fn}: the gradient of parameter ${i} of group ${gi} has shape ${fmtShape(p.grad.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
          }
          // The update works in place on its input; a copy leaves .grad as the user left it (PyTorch).
          return ip.clone(p.grad);
        });
        const state = this.states[gi] ?? this.impls[gi].init(params);
        const [updates, next] = this.impls[gi].update(grads, state, { params, inplace: true });
        applyUpdates(params, updates, { inplace: true });
        this.states[gi] = next;
      });
    });
    return loss;
  }

  /** The per-group states (references, as PyTorch) and options, with parameters as indices. */
  stateDict(): OptimizerStateDict {
    let next = 0;
    return {
      state: this.states.slice(),
      paramGroups: this.paramGroups.map(({ params, ...options }) => ({ ...copyArrays(options), params: params.map(() => next++) })),
    };
  }

  /** Restores states (copied) and group options saved by {@link Optimizer.stateDict} from an optimizer over the same parameters. */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const fn = `${this.spec.name}.loadStateDict`;
    if (!isPlainObject(stateDict) || !Array.isArray(stateDict.state) || !Array.isArray(stateDict.paramGroups)) {
      throw typeError(fn, 'stateDict', 'an object { state, paramGroups } from stateDict()', stateDict);
    }
    if (stateDict.paramGroups.length !== this.paramGroups.length || stateDict.state.length !== this.paramGroups.length) {
      throw new RangeError(`${fn}: the state dict has ${stateDict.paramGroups.length} parameter groups but the optimizer has ${this.paramGroups.length}`);
    }
    const loaded = stateDict.paramGroups.map((g, gi) => {
      const n = Array.isArray(g?.params) ? g.params.length : -1;
      const own = this.paramGroups[gi];
      if (n !== own.params.length) {
        throw new RangeError(`${fn}: parameter group ${gi} of the state dict has ${n} parameters but the optimizer's has ${own.params.length}`);
      }
      const { params: _indices, ...options } = g;
      const group = { ...own, ...copyArrays(options), params: own.params } as ParamGroup<O>;
      const [impl, built] = this.buildFor(group);
      const s = stateDict.state[gi];
      const state = s === null || s === undefined ? null : noGrad(() => map((t) => ip.clone(ip.detach(t)), s));
      if (state !== null && structureOf(impl.init(own.params)) !== structureOf(state)) {
        throw new RangeError(`${fn}: the state of parameter group ${gi} does not have the structure of this optimizer's state (saved from another optimizer or other options?)`);
      }
      return { group, impl, built, state };
    });
    // Everything was checked: commit (so a bad state dict leaves the optimizer unchanged).
    loaded.forEach(({ group, impl, built, state }, gi) => {
      Object.assign(this.paramGroups[gi], group);
      this.impls[gi] = impl;
      this.built[gi] = built;
      this.states[gi] = state;
    });
  }

  /**
   * Builds a group's transformation (and returns the options it was built from); `lr` is read
   * from the group at every update so it can change between steps.
   */
  private buildFor(paramGroup: ParamGroup<O>): [GradientTransformation, Record<string, unknown>] {
    const group = paramGroup as Record<string, unknown>;
    const { params: _params, ...options } = group;
    const impl = this.spec.build(options as O); // validates the options as given, with errors naming the class
    const snapshot = copyArrays(options); // so that changing betas in place is noticed by refresh
    if (!('lr' in options)) return [impl, snapshot];
    const name = this.spec.name;
    const liveLr = (count: number): Scalar => {
      const lr = group.lr;
      return typeof lr === 'function' ? (lr as (c: number) => Scalar)(count) : scalar(name, 'lr', lr);
    };
    return [this.spec.build({ ...options, lr: liveLr } as O), snapshot];
  }

  /** Rebuilds group gi's transformation when options other than lr changed, keeping its state if the structure allows. */
  private refresh(gi: number): void {
    const group = this.paramGroups[gi] as Record<string, unknown>;
    const before = this.built[gi];
    const changed = Object.keys({ ...before, ...group }).filter((k) => k !== 'params' && k !== 'lr' && !sameOption(before[k], group[k]));
    if (changed.length === 0) return;
    const [impl, built] = this.buildFor(this.paramGroups[gi]);
    const state = this.states[gi];
    if (state !== null && structureOf(impl.init(this.paramGroups[gi].params)) !== structureOf(state)) {
      throw new RangeError(
        `${this.spec.name}.step: changing option '${changed[0]}' of parameter group ${gi} changes the optimizer state's structure; create a new optimizer instead`,
      );
    }
    this.impls[gi] = impl;
    this.built[gi] = built;
  }
}
