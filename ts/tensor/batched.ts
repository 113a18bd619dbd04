/**
 * The tensors `func.vmap` hands to the function it maps: a batched tensor shows the logical
 * shape of one member while holding a physical tensor with one leading dimension per vmap level
 * (outermost first). Ops meet a batched operand at their entry and run once on the physical
 * tensors (their batching rule), so autograd only ever records physical tensors and every
 * derivative of a vmapped computation is an ordinary one. This file holds the type and the stack
 * of active vmap levels; the rules sit beside their ops.
 */
import { MetagradError } from '../errors';
import { fmtShape, numelOf } from './shape';
import { Tensor } from './tensor';

/** How random draws inside vmap behave (torch.func's `randomness`). */
export type Randomness = 'error' | 'different' | 'same';

/** One active `vmap` call. */
export interface VmapFrame {
  /**
   * This call's level: unique per call and increasing with nesting (an inner vmap's level is
   * above its outer one's), so a tensor that escaped an earlier vmap is recognised as such.
   */
  readonly level: number;
  /** Number of members. */
  readonly size: number;
  readonly randomness: Randomness;
}

const frames: VmapFrame[] = [];
let lastLevel = 0;

/** Enters a vmap level of `size` members. @internal */
export function enterVmap(size: number, randomness: Randomness): VmapFrame {
  const frame = { level: ++lastLevel, size, randomness };
  frames.push(frame);
  return frame;
}

/** Leaves the innermost vmap level (which must be `frame`). @internal */
export function exitVmap(frame: VmapFrame): void {
  if (frames[frames.length - 1] !== frame) throw new MetagradError('vmap: levels were exited out of order');
  frames.pop();
}

/** The active vmap levels, outermost first. @internal */
export function activeVmaps(): readonly VmapFrame[] {
  return frames;
}

/**
 * A tensor inside `func.vmap`: its `shape` is one member's; `value` holds all members, with one
 * leading dimension per entry of `levels`. Its values cannot be read (`item()`, `tolist()`,
 * `.data`) inside vmap, as in torch.func.
 */
export class BatchedTensor extends Tensor {
  /** The physical tensor: `levels.length` leading batch dimensions, then the logical ones. */
  declare readonly value: Tensor;
  /** The vmap level of each leading dimension of `value`, ascending. */
  declare readonly levels: readonly number[];

  /** Always true: marks the batched view without an import of this file. @internal */
  override get _batched(): boolean {
    return true;
  }

  /** Elements of one member. */
  override get numel(): number {
    return numelOf(this.shape);
  }

  /** Refused inside vmap: a member's value is not one number. */
  override item(): number {
    throw new MetagradError(`vmap: item() of a batched tensor (shape ${fmtShape(this.shape)}): its value differs per member and cannot be read inside vmap; return it from the function instead`);
  }

  /** Refused inside vmap, as {@link item}. */
  override tolist(): never {
    throw new MetagradError(`vmap: tolist() of a batched tensor (shape ${fmtShape(this.shape)}): its values differ per member and cannot be read inside vmap; return it from the function instead`);
  }

  /** Shows the logical shape and the batch sizes, not values. */
  override toString(): string {
    const sizes = this.levels.map((_, i) => this.value.shape[i]).join(' × ');
    return `BatchedTensor(shape ${fmtShape(this.shape)}, ${this.dtype}, ${sizes} members)`;
  }
}

// The autograd fields read and write the physical tensor's, so `requiresGrad`, `gradFn` and
// `requiresGrad_` inside vmap mean what they mean for the stacked members.
for (const key of ['gradFn', 'outputNr', '_version', '_requiresGrad', '_retainsGrad'] as const) {
  Object.defineProperty(BatchedTensor.prototype, key, {
    get(this: BatchedTensor) {
      return (this.value as unknown as Record<string, unknown>)[key];
    },
    set(this: BatchedTensor, v: unknown) {
      (this.value as unknown as Record<string, unknown>)[key] = v;
    },
  });
}
Object.defineProperty(BatchedTensor.prototype, 'data', {
  get(this: BatchedTensor): never {
    const by = reader();
    throw new MetagradError(
      `vmap: the values of a batched tensor (shape ${fmtShape(this.shape)}) cannot be read inside vmap${by ? ` (read by ${by})` : ''}: item(), tolist(), .data, ` +
        'a data-dependent branch, or an operation without a batching rule asked for them',
    );
  },
});

/**
 * The metagrad function that read a batched tensor's values, from the stack: an op without a
 * batching rule is then named in the refusal (user code reading `.data` is not named).
 */
function reader(): string | null {
  const root = __dirname.replace(/[\\/]tensor$/, '');
  // Frames: this function, the getter, then the reader itself.
  const line = (new Error().stack ?? '').split('\n')[3] ?? '';
  const m = /at (?:\w+\.)?([\w$]+) \((.*):\d+:\d+\)/.exec(line.trim());
  return m !== null && m[2].startsWith(root) ? m[1] : null;
}

/** Wraps `value` as batched over `levels` (its leading dims); a plain tensor when `levels` is empty. */
export function batchedOf(value: Tensor, levels: readonly number[]): Tensor {
  if (levels.length === 0) return value;
  if (value instanceof BatchedTensor) throw new MetagradError('vmap: a batched tensor cannot hold another');
  if (value.shape.length < levels.length) throw new MetagradError(`vmap: a physical tensor of shape ${fmtShape(value.shape)} cannot hold ${levels.length} batch dimensions`);
  // Plain assignments (not defineProperties, which would leave a slow dictionary-mode object);
  // Tensor's constructor is skipped because a batched tensor has no data of its own.
  const b = Object.create(BatchedTensor.prototype) as { -readonly [K in 'value' | 'levels' | 'shape' | 'dtype']: BatchedTensor[K] } & { _grad: null };
  b.value = value;
  b.levels = Object.isFrozen(levels) ? levels : Object.freeze(levels.slice());
  b.shape = Object.freeze(value.shape.slice(levels.length));
  b.dtype = value.dtype;
  b._grad = null;
  return b as unknown as BatchedTensor;
}

/** True for a tensor that vmap batched. */
export function isBatched(x: unknown): x is BatchedTensor {
  return x instanceof BatchedTensor;
}

/** The physical tensor and its levels (none for a plain tensor). */
export function physicalOf(x: Tensor): [Tensor, readonly number[]] {
  return x instanceof BatchedTensor ? [x.value, x.levels] : [x, []];
}

/** The sorted union of the operands' levels. */
export function unionLevels(xs: readonly unknown[]): number[] {
  const set = new Set<number>();
  for (const x of xs) if (x instanceof BatchedTensor) for (const l of x.levels) set.add(l);
  return [...set].sort((p, q) => p - q);
}

/** The size of `level` in whichever operand is batched over it. */
export function levelSize(xs: readonly unknown[], level: number): number {
  for (const x of xs) {
    if (x instanceof BatchedTensor) {
      const i = x.levels.indexOf(level);
      if (i >= 0) return x.value.shape[i];
    }
  }
  const f = frames.find((fr) => fr.level === level);
  if (f) return f.size;
  throw new MetagradError(`vmap: no operand is batched over level ${level}`);
}

/**
 * Where a random draw of `fn` inside vmap varies (torch.func's `randomness`): the active levels
 * whose members get draws of their own ('different'), with their sizes; 'same' levels share one
 * draw, and an 'error' level refuses.
 */
export function randomLevels(fn: string): { levels: number[]; sizes: number[] } {
  const levels: number[] = [];
  const sizes: number[] = [];
  for (const f of frames) {
    if (f.randomness === 'error') {
      throw new MetagradError(
        `${fn}: a random draw inside vmap needs vmap's option randomness: 'different' (a draw per member) or 'same' (one draw shared by the members); it is 'error'`,
      );
    }
    if (f.randomness === 'different') {
      levels.push(f.level);
      sizes.push(f.size);
    }
  }
  return { levels, sizes };
}

/** The vmap levels the operands are batched over (sorted) and the size of each: the batch they share. */
export function batchOf(xs: readonly unknown[]): { levels: number[]; sizes: number[] } {
  const levels = unionLevels(xs);
  return { levels, sizes: levels.map((l) => levelSize(xs, l)) };
}
