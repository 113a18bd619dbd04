/**
 * `vmap`: maps a function over a batch dimension of its arguments (torch.func.vmap / jax.vmap).
 * The function runs once, on batched tensors (see `tensor/batched.ts`) whose ops run on all
 * members at a time; the transforms (grad, vjp, jvp, …) compose with it because autograd records
 * the physical tensors only.
 */
import { MetagradError, describe, typeError } from '../errors';
import { permute, unsqueeze } from '../ops/shape';
import { expand } from '../ops/broadcast';
import { cat, narrow } from '../ops/indexing';
import { type Randomness, activeVmaps, batchedOf, enterVmap, exitVmap, physicalOf } from '../tensor/batched';
import { fmtShape, normalizeDim } from '../tensor/shape';
import { type Tensor, isTensor } from '../tensor/tensor';
import { isPlainObject } from '../objects';
import { flatten, unflatten } from '../tree/tree';

/**
 * Which dimension of a (tree) argument or output is the batch dimension: a number for every
 * tensor below it, null for none, or an array / plain object that follows the tree's structure.
 */
export type VmapDims = number | null | readonly VmapDims[] | { readonly [key: string]: VmapDims };

/** Options of {@link vmap}. */
export interface VmapOptions {
  /**
   * Batch dimension of the arguments (default 0): one number or null for all, or an array with
   * an entry (a number, null, or a tree of them) per argument.
   */
  inDims?: VmapDims;
  /** Where the batch dimension goes in the outputs (default 0): a number, or a tree like the output. */
  outDims?: VmapDims;
  /**
   * Random draws inside the function (torch.func's option): 'error' (default) refuses them,
   * 'different' draws independently per member, 'same' draws once for all members.
   */
  randomness?: Randomness;
  /**
   * Members per pass (torch.func's `chunk_size`): the batch runs in chunks of this many members
   * and the outputs are concatenated, bounding the memory of a large batch. Default: all at once.
   * Not combinable with `randomness: 'same'` (each chunk would draw anew).
   */
  chunkSize?: number;
}

/** The dims spec of each leaf of `value`, following the prefix tree `spec`. */
function leafDims(fn: string, what: string, spec: VmapDims, value: unknown, out: (number | null)[]): void {
  if (spec === null || typeof spec === 'number') {
    for (let k = flatten(value)[0].length; k > 0; k--) out.push(spec);
    return;
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value) || value.length !== spec.length) {
      throw typeError(fn, what, `an array of ${spec.length} entries to match its dims ${describe(spec)}`, value);
    }
    value.forEach((v, i) => leafDims(fn, `${what}[${i}]`, spec[i] as VmapDims, v, out));
    return;
  }
  if (isPlainObject(spec)) {
    if (!isPlainObject(value)) throw typeError(fn, what, 'a plain object to match its dims', value);
    const dims = spec as { readonly [key: string]: VmapDims };
    for (const k of Object.keys(value)) {
      if (!(k in dims)) throw new TypeError(`${fn}: the dims of ${what} have no entry for key '${k}'`);
      leafDims(fn, `${what}.${k}`, dims[k], (value as Record<string, unknown>)[k], out);
    }
    return;
  }
  throw typeError(fn, `dims of ${what}`, 'a number, null, or an array / object of them', spec);
}

/** Moves logical dim `d` of `x` to be the batch dimension of `level` (after x's own levels). */
function batchAlong(x: Tensor, d: number, level: number): Tensor {
  const [p, own] = physicalOf(x);
  const k = own.length;
  const src = k + d;
  const perm = [...Array(p.ndim).keys()].filter((i) => i !== src);
  perm.splice(k, 0, src);
  return batchedOf(permute(p, perm), [...own, level]);
}

/** The member view's batch dimension of `level` moved to logical dim `d` of an unbatched-at-level result. */
function unbatchTo(x: Tensor, level: number, d: number): Tensor {
  const [p, own] = physicalOf(x);
  const i = own.indexOf(level);
  const rest = own.filter((l) => l !== level);
  const perm = [...Array(p.ndim).keys()].filter((j) => j !== i);
  perm.splice(rest.length + d, 0, i);
  return batchedOf(permute(p, perm), rest);
}

/**
 * `vmap(fn, { inDims, outDims, randomness })`: a function that maps `fn` over the batch dimension
 * of its arguments and stacks the results along `outDims`, computed in one pass over batched
 * tensors rather than a loop. Nested vmaps batch over several dimensions. Inside `fn`, tensors
 * have one member's shape; their values cannot be read (`item()`, `.data`), as in torch.func.
 */
export function vmap<A extends unknown[], R>(fn: (...args: A) => R, opts: VmapOptions = {}): (...args: A) => R {
  const name = 'func.vmap';
  if (typeof fn !== 'function') throw typeError(name, 'fn', 'a function', fn);
  if (!isPlainObject(opts)) throw typeError(name, 'opts', 'an options object', opts);
  const randomness = opts.randomness ?? 'error';
  if (randomness !== 'error' && randomness !== 'different' && randomness !== 'same') {
    throw typeError(name, 'randomness', "'error', 'different' or 'same'", randomness);
  }
  const chunk = (opts as VmapOptions).chunkSize;
  if (chunk !== undefined && !(Number.isInteger(chunk) && chunk >= 1)) throw typeError(name, 'chunkSize', 'a positive integer', chunk);
  if (chunk !== undefined && randomness === 'same') {
    throw new TypeError(`${name}: chunkSize cannot be combined with randomness: 'same' (each chunk would make its own draw)`);
  }
  const mapped = (...args: A): R => {
    const inDims = opts.inDims === undefined ? 0 : opts.inDims;
    if (Array.isArray(inDims) && inDims.length !== args.length) {
      throw new RangeError(`${name}: inDims has ${inDims.length} entries but the function was called with ${args.length} argument(s)`);
    }
    const perArg = Array.isArray(inDims) ? (inDims as VmapDims[]) : args.map(() => inDims);
    // Batch size: from the batched leaves, which must agree.
    let size = -1;
    let first = '';
    const dimsOf = args.map((a, i) => {
      const dims: (number | null)[] = [];
      leafDims(name, `args[${i}]`, perArg[i] as VmapDims, a, dims);
      const leaves = flatten(a)[0];
      return dims.map((d, j) => {
        if (d === null) return null;
        const t = leaves[j];
        const where = `args[${i}]${leaves.length > 1 ? ` (tensor ${j})` : ''}`;
        if (!Number.isInteger(d)) throw typeError(name, `inDims of ${where}`, 'an integer or null', d);
        if (t.ndim === 0) throw new RangeError(`${name}: ${where} is 0-d (shape []) and has no dimension ${d} to map over; give it inDims null`);
        const nd = normalizeDim(name, d, t.ndim);
        if (size < 0) {
          size = t.shape[nd];
          first = where;
        } else if (t.shape[nd] !== size) {
          throw new RangeError(`${name}: ${where} has size ${t.shape[nd]} along its mapped dimension ${nd} (shape ${fmtShape(t.shape)}), but ${first} has size ${size}`);
        }
        return nd;
      });
    });
    if (size < 0) throw new RangeError(`${name}: no argument is batched (every inDims entry is null, or no argument holds a tensor)`);
    if (chunk !== undefined && size > chunk) return chunked(args, dimsOf, size, chunk);
    const frame = enterVmap(size, randomness);
    let out: R;
    try {
      const batchedArgs = args.map((a, i) => {
        const [leaves, spec] = flatten(a);
        if (leaves.length === 0) return a;
        return unflatten(spec, leaves.map((t, j) => (dimsOf[i][j] === null ? t : batchAlong(t, dimsOf[i][j] as number, frame.level))));
      }) as A;
      out = fn(...batchedArgs);
      const [outs, outSpec] = flatten(out);
      const outDims: (number | null)[] = [];
      leafDims(name, 'the output', (opts.outDims === undefined ? 0 : opts.outDims) as VmapDims, out, outDims);
      checkOutputLeaves(name, out);
      const results = outs.map((t, j) => {
        const d = outDims[j];
        const batchedHere = physicalOf(t)[1].includes(frame.level);
        if (d === null) {
          if (batchedHere) throw new MetagradError(`${name}: output ${j} varies across the members but its outDims entry is null`);
          return t;
        }
        if (!Number.isInteger(d)) throw typeError(name, `outDims of output ${j}`, 'an integer or null', d);
        const nd = normalizeDim(name, d, t.ndim + 1);
        // An output that does not depend on the batched inputs is the same for every member.
        const r = batchedHere ? unbatchTo(t, frame.level, nd) : expand(unsqueeze(t, nd), [...t.shape.slice(0, nd), size, ...t.shape.slice(nd)]);
        // A tensor of an inner vmap that escaped it (kept in a closure, say) would stay batched here.
        const outer = activeVmaps().filter((f) => f !== frame).map((f) => f.level);
        if (physicalOf(r)[1].some((l) => !outer.includes(l))) {
          throw new MetagradError(`${name}: output ${j} holds a tensor batched by another vmap call that it escaped (kept in a closure, say); return values from the vmapped function instead of keeping them`);
        }
        return r;
      });
      return unflatten<R>(outSpec, results);
    } finally {
      exitVmap(frame);
    }
  };
  const whole = chunk === undefined ? null : vmap(fn, { ...opts, chunkSize: undefined });
  /** The batch in slices of `chunk` members (narrowed along each argument's mapped dim), outputs concatenated along their outDims. */
  const chunked = (args: A, dimsOf: (number | null)[][], size: number, chunkLen: number): R => {
    const parts: unknown[] = [];
    for (let start = 0; start < size; start += chunkLen) {
      const len = Math.min(chunkLen, size - start);
      const sliceArgs = args.map((a, i) => {
        const [leaves, spec] = flatten(a);
        if (leaves.length === 0) return a;
        return unflatten(spec, leaves.map((t, j) => (dimsOf[i][j] === null ? t : narrow(t, dimsOf[i][j] as number, start, len))));
      }) as A;
      parts.push((whole as (...a: A) => R)(...sliceArgs));
    }
    const [firstLeaves, spec] = flatten(parts[0]);
    const outDims: (number | null)[] = [];
    leafDims(name, 'the output', (opts.outDims === undefined ? 0 : opts.outDims) as VmapDims, parts[0], outDims);
    const leavesOf = parts.map((p) => flatten(p)[0]);
    return unflatten<R>(spec, firstLeaves.map((t, j) => {
      const d = outDims[j];
      if (d === null) return t; // the same in every chunk: not stacked
      return cat(leavesOf.map((ls) => ls[j]), normalizeDim(name, d, t.ndim));
    }));
  };
  return mapped;
}

/** vmap's outputs are tensors (or trees of them); a number or string cannot be stacked. */
function checkOutputLeaves(fn: string, out: unknown): void {
  const rec = (x: unknown, path: string): void => {
    if (isTensor(x) || x === null || x === undefined) return;
    if (Array.isArray(x)) x.forEach((v, i) => rec(v, `${path}[${i}]`));
    else if (isPlainObject(x)) for (const k of Object.keys(x)) rec((x as Record<string, unknown>)[k], `${path}.${k}`);
    else throw typeError(fn, path, 'a Tensor (vmap stacks the outputs of the members)', x);
  };
  rec(out, 'output');
}
