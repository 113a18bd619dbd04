/**
 * Function transforms in the style of torch.func / JAX: grad, valueAndGrad, vjp, jvp, hvp,
 * jacrev, hessian. They compose (hvp is a jvp of grad, hessian is jacrev of jacrev) because every
 * backward rule is itself differentiable. Results stay connected to any tensor that requires grad
 * outside the transform, so a transformed function can sit inside another transform or customRoot.
 */
import { grad as autogradGrad } from '../autograd/engine';
import { reachesOutside } from '../autograd/graph';
import { enableGrad, isGradEnabled } from '../autograd/grad-mode';
import { MetagradError, typeError } from '../errors';
import { detach } from '../ops/inplace';
import { checkTensor, zerosOf } from '../ops/util';
import { zerosLike } from '../ops/creation';
import { batchedOver, materializeBatched } from '../ops/broadcast';
import { activeVmaps, batchedOf, physicalOf } from '../tensor/batched';
import { permute, reshape } from '../ops/shape';
import { eye } from '../ops/creation';
import { vmap } from './vmap';
import { fmtShape } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { flatten, unflatten } from '../tree/tree';

/**
 * The gradient's type for an argument of type T: tensors map to tensors, arrays and objects of
 * tensors to arrays and objects of gradients.
 */
export type GradTree<T> = T extends Tensor
  ? Tensor
  : T extends readonly (infer E)[]
    ? GradTree<E>[]
    : T extends Record<string, unknown>
      ? { [K in keyof T]: GradTree<T[K]> }
      : T;

/** Gradients of each primal, aligned with the primals. */
export type GradTrees<A extends readonly unknown[]> = { [K in keyof A]: GradTree<A[K]> };

/** Options of {@link grad} and {@link valueAndGrad}. */
export interface GradTransformOptions {
  /** Which positional argument(s) to differentiate (default 0). */
  argnums?: number | number[];
  /** `fn` returns `[output, aux]`; aux is passed through. */
  hasAux?: boolean;
}

/**
 * Replaces each tensor of `tree` by a differentiable stand-in: an identity view of it when it
 * already requires grad (so outer derivatives still flow), otherwise a fresh leaf.
 */
function track(fn: string, tree: unknown, fresh: Set<Tensor>): { tree: unknown; inputs: Tensor[] } {
  const [ls, spec] = flatten(tree);
  const inputs = ls.map((t0, i) => {
    checkTensor(fn, `input ${i}`, t0);
    // Inside vmap every member differentiates with respect to its own copy of the argument, so
    // the gradient is per member even where the argument is shared (per-example gradients).
    const t = batchToActive(t0);
    if (t.requiresGrad) return reshape(t, t.shape.slice());
    const leaf = detach(t).requiresGrad_(true);
    fresh.add(physicalOf(leaf)[0]);
    return leaf;
  });
  return { tree: unflatten(spec, inputs), inputs };
}

/**
 * Results that depend only on the transform's own stand-in leaves are returned detached (as
 * functorch does); results that depend on outer tensors keep their graph.
 */
function finish<T>(tree: T, fresh: ReadonlySet<Tensor>): T {
  const [ls, spec] = flatten(tree);
  if (ls.length === 0 || reachesOutside(ls.map((t) => physicalOf(t)[0]), fresh)) return tree;
  return unflatten(spec, ls.map((t) => (t.requiresGrad ? detach(t) : t)));
}

function checkArgnums(fn: string, argnums: number | number[], nargs: number): number[] {
  const list = Array.isArray(argnums) ? argnums : [argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs) {
      throw new RangeError(`${fn}: argnums entry ${a} is out of range for a call with ${nargs} positional argument(s)`);
    }
  }
  if (new Set(list).size !== list.length) throw typeError(fn, 'argnums', 'distinct integers', argnums);
  return list;
}

function scalarOutput(fn: string, out: unknown): Tensor {
  if (!isTensor(out)) throw new TypeError(`${fn}: the function must return a Tensor (or [Tensor, aux] with hasAux), got ${typeof out}`);
  if (out.numel !== 1) throw new RangeError(`${fn}: the function must return a one-element tensor, got shape ${fmtShape(out.shape)}`);
  return out;
}

/**
 * Σ over the outputs connected to the graph of their VJP with `cotangents`, with respect to
 * `inputs`; zeros when no output is connected (the transforms' "unused means zero" rule).
 */
function vjpOfLive(outputs: readonly Tensor[], cotangents: readonly Tensor[], inputs: Tensor[], createGraph: boolean, retainGraph?: boolean): Tensor[] {
  const live = outputs.map((_, i) => i).filter((i) => outputs[i].requiresGrad);
  if (live.length === 0) return inputs.map((t) => zerosLike(t));
  return autogradGrad(
    live.map((i) => outputs[i]),
    inputs,
    { gradOutputs: live.map((i) => batchedLike(cotangents[i], outputs[i])), createGraph, retainGraph, allowUnused: true, materializeGrads: true },
  ) as Tensor[];
}

/** Splits a flat list aligned with the tracked inputs back into one tree per primal. */
function regroup(primals: readonly unknown[], tracked: readonly { inputs: Tensor[] }[], flat: readonly Tensor[]): unknown[] {
  let k = 0;
  return tracked.map((t, i) => {
    const part = flat.slice(k, k + t.inputs.length);
    k += t.inputs.length;
    return unflatten(flatten(primals[i])[1], part);
  });
}

/** Core of grad/valueAndGrad: returns [value, grads, aux]. */
function gradCore(name: string, f: (...args: never[]) => unknown, opts: GradTransformOptions, args: unknown[]): [Tensor, unknown, unknown] {
  const argnums = checkArgnums(name, opts.argnums ?? 0, args.length);
  return enableGrad(() => {
    const callArgs = args.slice();
    const fresh = new Set<Tensor>();
    const tracked = argnums.map((a) => {
      const t = track(name, args[a], fresh);
      callArgs[a] = t.tree;
      return t;
    });
    const res = (f as (...a: unknown[]) => unknown)(...callArgs);
    let out: unknown = res;
    let aux: unknown;
    if (opts.hasAux) {
      if (!Array.isArray(res) || res.length !== 2) throw new TypeError(`${name}: with hasAux the function must return [output, aux]`);
      [out, aux] = res;
    }
    const value = scalarOutput(name, out);
    const all = tracked.flatMap((t) => t.inputs);
    const grads = value.requiresGrad
      ? autogradGrad(value, all, { createGraph: true, allowUnused: true, materializeGrads: true })
      : all.map((t) => zerosOf(t.shape, t.dtype));
    const structured = regroup(
      argnums.map((a) => args[a]),
      tracked,
      grads as Tensor[],
    );
    const result = Array.isArray(opts.argnums) ? structured : structured[0];
    return [finish(value, fresh), finish(result, fresh), aux];
  });
}

/**
 * `grad(fn, { argnums, hasAux })`: a function with fn's signature returning the gradient of fn's
 * (one-element) output with respect to argument(s) `argnums`, shaped like them.
 */
export function grad<A extends unknown[]>(fn: (...args: A) => unknown, opts?: { argnums?: 0; hasAux?: false }): (...args: A) => GradTree<A[0]>;
export function grad<A extends unknown[], N extends number>(fn: (...args: A) => unknown, opts: { argnums: N; hasAux?: false }): (...args: A) => GradTree<A[N]>;
export function grad<A extends unknown[]>(fn: (...args: A) => unknown, opts: { argnums: number[]; hasAux?: false }): (...args: A) => unknown[];
export function grad<A extends unknown[]>(fn: (...args: A) => unknown, opts: GradTransformOptions & { hasAux: true }): (...args: A) => [unknown, unknown];
export function grad<A extends unknown[]>(fn: (...args: A) => unknown, opts: GradTransformOptions = {}): (...args: A) => unknown {
  if (typeof fn !== 'function') throw typeError('func.grad', 'fn', 'a function', fn);
  return (...args: A) => {
    const [, g, aux] = gradCore('func.grad', fn as (...a: never[]) => unknown, opts, args);
    return opts.hasAux ? [g, aux] : g;
  };
}

/** Like {@link grad} but returns `[value, grad]` (`[[value, aux], grad]` with hasAux), as JAX's value_and_grad. */
export function valueAndGrad<A extends unknown[]>(fn: (...args: A) => unknown, opts?: { argnums?: 0; hasAux?: false }): (...args: A) => [Tensor, GradTree<A[0]>];
export function valueAndGrad<A extends unknown[], N extends number>(fn: (...args: A) => unknown, opts: { argnums: N; hasAux?: false }): (...args: A) => [Tensor, GradTree<A[N]>];
export function valueAndGrad<A extends unknown[]>(fn: (...args: A) => unknown, opts: GradTransformOptions): (...args: A) => [unknown, unknown];
export function valueAndGrad<A extends unknown[]>(fn: (...args: A) => unknown, opts: GradTransformOptions = {}): (...args: A) => unknown {
  if (typeof fn !== 'function') throw typeError('func.valueAndGrad', 'fn', 'a function', fn);
  return (...args: A) => {
    const [v, g, aux] = gradCore('func.valueAndGrad', fn as (...a: never[]) => unknown, opts, args);
    return opts.hasAux ? [[v, aux], g] : [v, g];
  };
}

/**
 * `vjp(fn, ...primals) -> [output, vjpFn]`: `vjpFn(cotangents)` returns the vector-Jacobian
 * products, one per primal (an array), each shaped like its primal. vjpFn can be called repeatedly.
 */
export function vjp<A extends unknown[], R>(fn: (...args: A) => R, ...primals: A): [R, (cotangents: unknown) => GradTrees<A>] {
  if (typeof fn !== 'function') throw typeError('func.vjp', 'fn', 'a function', fn);
  return enableGrad(() => {
    const fresh = new Set<Tensor>();
    const tracked = primals.map((p) => track('vjp', p, fresh));
    const out = fn(...(tracked.map((t) => t.tree) as A));
    const [outs] = flatten(out);
    const inputs = tracked.flatMap((t) => t.inputs);
    const vjpFn = (cotangents: unknown): GradTrees<A> => {
      const [cts] = flatten(cotangents);
      if (cts.length !== outs.length) {
        throw new RangeError(`vjpFn: expected cotangents with ${outs.length} tensor(s) (the output's structure), got ${cts.length}`);
      }
      cts.forEach((c, i) => {
        if (fmtShape(c.shape) !== fmtShape(outs[i].shape)) {
          throw new RangeError(`vjpFn: cotangent ${i} has shape ${fmtShape(c.shape)} but output ${i} has shape ${fmtShape(outs[i].shape)}`);
        }
      });
      const gs = vjpOfLive(outs, cts, inputs, isGradEnabled(), true);
      return finish(regroup(primals, tracked, gs), fresh) as GradTrees<A>;
    };
    return [finish(out, fresh), vjpFn];
  });
}

/**
 * `jvp(fn, primals, tangents) -> [output, jvpOut]`: forward-mode directional derivative, computed
 * with the double-VJP trick (the VJP is linear in the cotangent; differentiating it gives J·t).
 */
export function jvp<A extends unknown[], R>(fn: (...args: A) => R, primals: A, tangents: unknown[]): [R, R] {
  if (typeof fn !== 'function') throw typeError('func.jvp', 'fn', 'a function', fn);
  if (!Array.isArray(primals) || !Array.isArray(tangents) || primals.length !== tangents.length) {
    throw typeError('func.jvp', 'primals/tangents', 'arrays of the same length', [primals, tangents]);
  }
  const outerGrad = isGradEnabled();
  return enableGrad(() => {
    const fresh = new Set<Tensor>();
    const tracked = primals.map((p) => track('jvp', p, fresh));
    const inputs = tracked.flatMap((t) => t.inputs);
    const tans = tangents.flatMap((t) => flatten(t)[0]);
    if (tans.length !== inputs.length) throw new RangeError(`func.jvp: tangents have ${tans.length} tensors, primals ${inputs.length}`);
    tans.forEach((t, i) => {
      if (fmtShape(t.shape) !== fmtShape(inputs[i].shape)) {
        throw new RangeError(`func.jvp: tangent ${i} has shape ${fmtShape(t.shape)} but its primal has shape ${fmtShape(inputs[i].shape)}`);
      }
    });
    const out = fn(...(tracked.map((t) => t.tree) as A));
    const [outs, outSpec] = flatten(out);
    // Batched like their outputs inside vmap, so that each member's J·t is its own.
    const dummies = outs.map((o) => zerosLike(o).requiresGrad_(true));
    for (const d of dummies) fresh.add(physicalOf(d)[0]);
    // g = Jᵀ·dummies is linear in the dummies; its VJP with the tangents is J·t.
    const g = vjpOfLive(outs, dummies, inputs, true);
    const results = vjpOfLive(g, tans, dummies, outerGrad);
    return [finish(out, fresh), finish(unflatten<R>(outSpec, results), fresh)];
  });
}

/**
 * `hvp(fn, primals, tangents) -> [value, hvpOut]`: Hessian-vector product of a scalar function,
 * by reverse-over-reverse (the gradient of ⟨∇f, v⟩).
 */
export function hvp<A extends unknown[]>(fn: (...args: A) => unknown, primals: A, tangents: unknown[]): [Tensor, GradTrees<A>] {
  if (typeof fn !== 'function') throw typeError('func.hvp', 'fn', 'a function', fn);
  if (!Array.isArray(primals) || !Array.isArray(tangents) || primals.length !== tangents.length) {
    throw typeError('func.hvp', 'primals/tangents', 'arrays of the same length', [primals, tangents]);
  }
  const outerGrad = isGradEnabled();
  return enableGrad(() => {
    const fresh = new Set<Tensor>();
    const tracked = primals.map((p) => track('hvp', p, fresh));
    const inputs = tracked.flatMap((t) => t.inputs);
    const tans = tangents.flatMap((t) => flatten(t)[0]);
    if (tans.length !== inputs.length) throw new RangeError(`func.hvp: tangents have ${tans.length} tensors, primals ${inputs.length}`);
    const value = scalarOutput('func.hvp', fn(...(tracked.map((t) => t.tree) as A)));
    if (!value.requiresGrad) return [value, primals.map((p) => unflatten(flatten(p)[1], flatten(p)[0].map((t) => zerosOf(t.shape, t.dtype)))) as GradTrees<A>];
    const g = autogradGrad(value, inputs, { createGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const hv = vjpOfLive(g, tans, inputs, outerGrad);
    const out = regroup(primals, tracked, hv);
    return [finish(outerGrad ? value : detach(value), fresh), finish(out, fresh) as GradTrees<A>];
  });
}

/** The Jacobians' argument `argnums` (a tensor) and fn as a function of it alone. */
function differentiated<A extends unknown[]>(name: string, fn: (...args: A) => unknown, args: A, argnums: number): { x: Tensor; at: (xi: Tensor) => unknown } {
  checkArgnums(name, argnums, args.length);
  const x = args[argnums];
  if (!isTensor(x)) throw typeError(name, `args[${argnums}]`, 'a Tensor', x);
  const at = (xi: Tensor): unknown => {
    const a = args.slice() as A;
    a[argnums] = xi;
    return fn(...a);
  };
  return { x, at };
}

/**
 * `jacrev(fn, argnums = 0)`: the Jacobian by reverse mode, all rows at once: the VJP applied to
 * the standard basis of each output under {@link vmap}. For an output leaf of shape O and a tensor
 * argument of shape I the Jacobian has shape [...O, ...I]; a tree output gives a tree of them.
 */
export function jacrev<A extends unknown[]>(fn: (...args: A) => unknown, argnums = 0): (...args: A) => Tensor {
  if (typeof fn !== 'function') throw typeError('func.jacrev', 'fn', 'a function', fn);
  return (...args: A) => {
    const { x, at } = differentiated('func.jacrev', fn, args, argnums);
    const [outs, spec] = flatten(at(x));
    if (outs.length === 0) throw new MetagradError('func.jacrev: the function must return a Tensor or a tree of tensors');
    const jacobians = outs.map((o, k) => {
      if (o.numel === 0 || x.numel === 0) return zerosOf([...o.shape, ...x.shape], x.dtype);
      const basis = reshape(eye(o.numel, { dtype: o.dtype }), [o.numel, ...o.shape]);
      const rows = vmap((e: Tensor) => {
        const [out, pull] = vjp(at, x);
        const [ls, s2] = flatten(out);
        return pull(unflatten(s2, ls.map((l, j) => (j === k ? e : zerosLike(l)))))[0] as Tensor;
      })(basis);
      return reshape(rows, [...o.shape, ...x.shape]);
    });
    return unflatten<Tensor>(spec, jacobians);
  };
}

/**
 * `jacfwd(fn, argnums = 0)`: the Jacobian by forward mode, all columns at once: the JVP along the
 * standard basis of the argument under {@link vmap}. Shapes as {@link jacrev}'s.
 */
export function jacfwd<A extends unknown[]>(fn: (...args: A) => unknown, argnums = 0): (...args: A) => Tensor {
  if (typeof fn !== 'function') throw typeError('func.jacfwd', 'fn', 'a function', fn);
  return (...args: A) => {
    const { x, at } = differentiated('func.jacfwd', fn, args, argnums);
    if (x.numel === 0) {
      const [outs, spec] = flatten(at(x));
      return unflatten<Tensor>(spec, outs.map((o) => zerosOf([...o.shape, ...x.shape], x.dtype)));
    }
    const basis = reshape(eye(x.numel, { dtype: x.dtype }), [x.numel, ...x.shape]);
    // Columns stacked along dim 0, then moved behind the output's dims.
    const cols = vmap((t: Tensor) => jvp(at, [x], [t])[1])(basis);
    const [ls, spec] = flatten(cols);
    if (ls.length === 0) throw new MetagradError('func.jacfwd: the function must return a Tensor or a tree of tensors');
    return unflatten<Tensor>(spec, ls.map((c) => {
      const od = c.ndim - 1;
      const moved = permute(c, [...Array(od).keys()].map((d) => d + 1).concat([0]));
      return reshape(moved, [...c.shape.slice(1), ...x.shape]);
    }));
  };
}

/** `hessian(fn, argnums = 0)`: the Hessian of a scalar function, as jacfwd of jacrev (forward-over-reverse). */
export function hessian<A extends unknown[]>(fn: (...args: A) => unknown, argnums = 0): (...args: A) => Tensor {
  return jacfwd(jacrev(fn, argnums), argnums);
}

/**
 * `t` batched over every active vmap level: a tensor shared by the members (inDims null, or
 * captured from outside) is repeated, so that each member's gradient with respect to it is
 * separate. Outside vmap, `t` itself.
 */
function batchToActive(t: Tensor): Tensor {
  const frames = activeVmaps();
  if (frames.length === 0) return t;
  const own = physicalOf(t)[1];
  if (frames.every((f) => own.includes(f.level))) return t;
  const levels = frames.map((f) => f.level);
  return batchedOver(t, levels, frames.map((f) => f.size));
}

/**
 * A cotangent batched over fewer vmap levels than its output (a basis vector of an inner vmap
 * against an output that an outer vmap batched too), repeated over the output's other levels.
 */
function batchedLike(c: Tensor, o: Tensor): Tensor {
  const [po, lo] = physicalOf(o);
  const lc = physicalOf(c)[1];
  if (lo.length === lc.length || !lc.every((l) => lo.includes(l))) return c;
  return batchedOf(materializeBatched(c, lo, lo.map((_, i) => po.shape[i]), c.ndim), lo);
}
