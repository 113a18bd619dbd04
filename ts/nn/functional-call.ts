/**
 * Running a module with parameters supplied from outside (torch.func's `functional_call`,
 * functorch's `make_functional`). The given tensors are swapped into the module's parameter slots
 * for one forward call and the previous tensors are restored afterwards, even when forward throws.
 */
import { noGrad } from '../autograd/grad-mode';
import { typeError } from '../errors';
import { clone, detach, requiresGrad_ } from '../ops/inplace';
import { fmtShape, sameShape } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { Module } from './module';
import { stack } from '../ops/indexing';

/** Parameters for {@link functionalCall}: an array in `namedParameters()` order, or tensors by dotted name. */
export type FunctionalParams = readonly Tensor[] | Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

/** Options of {@link functionalCall}. */
export interface FunctionalCallOptions {
  /**
   * A tensor given for one name of a parameter the module shares under several names is used for
   * all of them (default true, as in torch.func).
   */
  tieWeights?: boolean;
  /** With named params, require every parameter and buffer to be given (default false). */
  strict?: boolean;
}

/** The call signature of a module's forward method. */
export type Forward<M extends Module> = M['forward'] extends (...args: infer A) => infer R ? (...args: A) => R : never;

/** The function {@link makeFunctional} returns: `fmodel(params, ...inputs)`. */
export type FunctionalModel<M extends Module> = (params: readonly Tensor[], ...inputs: Parameters<Forward<M>>) => ReturnType<Forward<M>>;

/** Options of {@link makeFunctional}. */
export interface MakeFunctionalOptions {
  /** Return parameters that do not require grad (functorch's `disable_autograd_tracking`). */
  disableAutogradTracking?: boolean;
}

function checkShape(fn: string, name: string, given: Tensor, expected: Tensor | null): void {
  if (expected !== null && !sameShape(given.shape, expected.shape)) {
    throw new RangeError(`${fn}: the tensor given for '${name}' has shape ${fmtShape(given.shape)}, the module's has shape ${fmtShape(expected.shape)}`);
  }
}

/** Dotted name → replacement, with shared parameters tied and everything checked. */
function replacements(fn: string, module: Module, params: unknown, opts: FunctionalCallOptions): [Map<string, Tensor>, Map<string, Tensor>] {
  const tie = opts.tieWeights ?? true;
  const allParams = module.namedParameters({ removeDuplicate: false });
  const allBuffers = module.namedBuffers({ removeDuplicate: false });
  const origParam = new Map(allParams);
  const origBuffer = new Map(allBuffers);
  const aliases = (orig: Tensor): string[] => allParams.filter(([, t]) => t === orig).map(([n]) => n);
  const outP = new Map<string, Tensor>();
  const outB = new Map<string, Tensor>();

  if (Array.isArray(params)) {
    const unique = module.namedParameters();
    if (params.length !== unique.length) {
      throw new RangeError(`${fn}: got ${params.length} parameter tensors for a module with ${unique.length} parameters (${unique.map(([n]) => n).join(', ')})`);
    }
    unique.forEach(([name, orig], i) => {
      const t: unknown = params[i];
      if (!isTensor(t)) throw typeError(fn, `params[${i}]`, `a Tensor (for '${name}')`, t);
      checkShape(fn, name, t, orig);
      for (const alias of tie ? aliases(orig) : [name]) outP.set(alias, t);
    });
    return [outP, outB];
  }

  let entries: [string, unknown][];
  if (params instanceof Map) entries = [...params.entries()];
  else if (typeof params === 'object' && params !== null && !isTensor(params)) entries = Object.entries(params);
  else throw typeError(fn, 'params', 'an array of Tensors or an object/Map from dotted names to Tensors', params);

  const explicit = new Set<string>();
  for (const [name, t] of entries) {
    if (!isTensor(t)) throw typeError(fn, `params['${name}']`, 'a Tensor', t);
    if (origParam.has(name)) {
      checkShape(fn, name, t, origParam.get(name) ?? null);
      outP.set(name, t);
      explicit.add(name);
    } else if (origBuffer.has(name)) {
      checkShape(fn, name, t, origBuffer.get(name) ?? null);
      outB.set(name, t);
    } else {
      throw new RangeError(`${fn}: '${name}' is not a parameter or buffer of ${module.constructor.name} (it has ${[...origParam.keys(), ...origBuffer.keys()].join(', ') || 'none'})`);
    }
  }
  if (tie) {
    for (const name of explicit) {
      const t = outP.get(name) as Tensor;
      for (const alias of aliases(origParam.get(name) as Tensor)) {
        const other = outP.get(alias);
        if (explicit.has(alias) && other !== t) {
          throw new RangeError(`${fn}: '${name}' and '${alias}' are the same (tied) parameter of the module but were given different tensors; pass tieWeights: false to untie them`);
        }
        outP.set(alias, t);
      }
    }
  }
  if (opts.strict) {
    const missing = [...origParam.keys()].filter((n) => !outP.has(n)).concat([...origBuffer.keys()].filter((n) => !outB.has(n)));
    if (missing.length > 0) throw new RangeError(`${fn}: with strict: true every parameter and buffer must be given; missing ${missing.join(', ')}`);
  }
  return [outP, outB];
}

/**
 * The array form, the one every functional training step takes: the given tensors go straight
 * into the module's parameter slots (tied names included) from its member table, and back after.
 */
function swappedCall<M extends Module>(fn: string, module: M, params: readonly unknown[], args: unknown[]): ReturnType<Forward<M>> {
  const table = module.parameterSlots();
  if (params.length !== table.params.length) {
    throw new RangeError(`${fn}: got ${params.length} parameter tensors for a module with ${table.params.length} parameters (${table.names.join(', ')})`);
  }
  for (let i = 0; i < params.length; i++) {
    const t: unknown = params[i];
    if (!isTensor(t)) throw typeError(fn, `params[${i}]`, `a Tensor (for '${table.names[i]}')`, t);
    checkShape(fn, table.names[i], t, table.params[i]);
  }
  const restore: [Record<string, unknown>, string, unknown][] = [];
  try {
    for (let i = 0; i < params.length; i++) {
      for (const [owner, key] of table.slots[i]) {
        const self = owner as unknown as Record<string, unknown>;
        restore.push([self, key, self[key]]);
        self[key] = params[i];
      }
    }
    return (module.forward as (...a: unknown[]) => unknown).apply(module, args) as ReturnType<Forward<M>>;
  } finally {
    for (let i = restore.length - 1; i >= 0; i--) restore[i][0][restore[i][1]] = restore[i][2];
  }
}

/**
 * Runs `module.forward(...inputs)` with the given parameters (and, by name, buffers) in place of
 * the module's own, then restores them. `params` is an array aligned with `module.namedParameters()`
 * or an object/Map from dotted names to tensors (a subset is allowed: the rest keep their values).
 * `inputs` is an array of positional arguments, or a single non-array argument. The result is
 * differentiable with respect to the given tensors.
 */
export function functionalCall<M extends Module>(module: M, params: FunctionalParams, inputs: unknown = [], opts: FunctionalCallOptions = {}): ReturnType<Forward<M>> {
  const fn = 'functionalCall';
  if (!(module instanceof Module)) throw typeError(fn, 'module', 'an nn.Module', module);
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
  const args = Array.isArray(inputs) ? inputs : [inputs];
  if (Array.isArray(params) && (opts.tieWeights ?? true)) return swappedCall(fn, module, params, args);
  const [ps, bs] = replacements(fn, module, params, opts);
  const restore: (() => void)[] = [];
  try {
    for (const [name, t] of ps) {
      const prev = module.setParameter(name, t);
      restore.push(() => module.setParameter(name, prev));
    }
    for (const [name, t] of bs) {
      const prev = module.setBuffer(name, t);
      restore.push(() => module.setBuffer(name, prev));
    }
    return (module.forward as (...a: unknown[]) => unknown).apply(module, args) as ReturnType<Forward<M>>;
  } finally {
    for (let i = restore.length - 1; i >= 0; i--) restore[i]();
  }
}

/**
 * functorch's `make_functional`: returns `[fmodel, params]` where `params` are copies of the
 * module's parameters (leaves with the same `requiresGrad`, in `namedParameters()` order, not
 * sharing storage with the module) and `fmodel(params, ...inputs)` runs the module with any such
 * parameter array via {@link functionalCall}. The module itself is left unchanged.
 */
export function makeFunctional<M extends Module>(module: M, opts: MakeFunctionalOptions = {}): [FunctionalModel<M>, Tensor[]] {
  const fn = 'makeFunctional';
  if (!(module instanceof Module)) throw typeError(fn, 'module', 'an nn.Module', module);
  const disable = opts.disableAutogradTracking ?? false;
  if (typeof disable !== 'boolean') throw typeError(fn, 'disableAutogradTracking', 'a boolean', disable);
  const params = module.parameters().map((p) => {
    const c = noGrad(() => detach(clone(p)));
    return requiresGrad_(c, disable ? false : p.requiresGrad);
  });
  const fmodel = (ps: readonly Tensor[], ...inputs: unknown[]): unknown => {
    if (!Array.isArray(ps)) throw typeError('fmodel', 'params', 'an array of Tensors', ps);
    return functionalCall(module, ps, inputs);
  };
  return [fmodel as FunctionalModel<M>, params];
}

/**
 * `stackModuleState(modules)` (torch.func.stack_module_state): the parameters and buffers of
 * modules of one structure, each stacked along a new leading dimension, as `[params, buffers]`
 * keyed by name. The stacked parameters are new leaves that require grad. With
 * `functionalCall` under `vmap` they run an ensemble (or one model per task) in one pass:
 * `vmap((p, x) => functionalCall(base, p, [x]))(params, xs)`.
 */
export function stackModuleState(modules: readonly Module[]): [Record<string, Tensor>, Record<string, Tensor>] {
  const fn = 'stackModuleState';
  if (!Array.isArray(modules) || modules.length === 0) throw typeError(fn, 'modules', 'a non-empty array of nn.Modules', modules);
  modules.forEach((m, i) => {
    if (!(m instanceof Module)) throw typeError(fn, `modules[${i}]`, 'an nn.Module', m);
  });
  const stackNamed = (what: string, lists: [string, Tensor][][], leaf: boolean): Record<string, Tensor> => {
    const names = lists[0].map(([n]) => n);
    lists.forEach((l, i) => {
      const got = l.map(([n]) => n);
      if (got.join('\u0000') !== names.join('\u0000')) {
        throw new RangeError(`${fn}: modules[${i}] has ${what} [${got.join(', ')}] but modules[0] has [${names.join(', ')}]; the modules must share one structure`);
      }
      l.forEach(([n, t], k) => {
        const ref = lists[0][k][1];
        if (fmtShape(t.shape) !== fmtShape(ref.shape) || t.dtype !== ref.dtype) {
          throw new RangeError(`${fn}: ${what.slice(0, -1)} '${n}' of modules[${i}] is ${fmtShape(t.shape)} ${t.dtype}, but modules[0]'s is ${fmtShape(ref.shape)} ${ref.dtype}`);
        }
      });
    });
    const out: Record<string, Tensor> = {};
    names.forEach((n, k) => {
      const s = noGrad(() => stack(lists.map((l) => detach(l[k][1])), 0));
      out[n] = leaf ? s.requiresGrad_(true) : s;
    });
    return out;
  };
  return [
    stackNamed('parameters', modules.map((m) => m.namedParameters()), true),
    stackNamed('buffers', modules.map((m) => m.namedBuffers()), false),
  ];
}
