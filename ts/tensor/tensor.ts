/**
 * The Tensor type: a shape, a dtype and a row-major contiguous typed array, plus the autograd
 * fields that `ts/autograd` fills in. Math methods are declared here and wired to the ops in one
 * place (`ts/methods.ts`), the one sanctioned exception to the one-way layering.
 */
import { typeError } from '../errors';
import { type DType, type TypedArray, dtypeOf, getDefaultDtype, isFloating } from './dtype';
import { addSuffixes, formatValues } from './format';
import { fmtShape, numelOf } from './shape';
import { gradAssigned, hostRead } from './trace';

/** What a tensor's `gradFn` exposes: the autograd node that produced it (see `ts/autograd/node.ts`). */
export interface GradFn {
  /** PyTorch-style node name, e.g. `MulBackward0`. */
  readonly name: string;
}

/** A counter shared by a tensor and its views; in-place writes bump it so saved tensors can detect them. */
export interface VersionCounter {
  value: number;
}

/** A tensor or a plain number (broadcast as a 0-d tensor of the other operand's dtype). */
export type TensorLike = Tensor | number;

/** Nested arrays of numbers, as returned by `tolist()`. */
export type NestedArray = number | NestedArray[];

/** Options of {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Gradient of the output (defaults to 1 for a one-element output). */
  gradient?: Tensor;
  /** Accumulate only into these leaves' `.grad`. */
  inputs?: Tensor | Tensor[];
  /** Record the backward pass so the gradients are differentiable again. */
  createGraph?: boolean;
  /** Keep the graph's saved tensors for another backward (defaults to `createGraph`). */
  retainGraph?: boolean;
}

/** An n-dimensional array (float32/float64, int32/int64 or bool) with PyTorch-style autograd. */
export class Tensor {
  /**
   * Row-major contiguous values. Views (`reshape`, `view`) share this array. A small tensor's
   * array is a view of an ArrayBuffer shared with other tensors (as Node's small Buffers are), so
   * transfer a copy (`data.slice()`), never `data.buffer` itself.
   */
  data: TypedArray;
  /** Size of each dimension (frozen: a shape is changed by reshape/view, never by assignment). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  private _grad: Tensor | null = null;
  /** The node that produced this tensor; null for leaves. */
  gradFn: GradFn | null = null;
  /** Which output of `gradFn` this tensor is. */
  outputNr = 0;
  /** Shared with views; bumped by in-place writes. @internal */
  _version: VersionCounter;
  /** True when a non-leaf keeps its `.grad` (see `retainGrad`). @internal */
  _retainsGrad = false;
  private _requiresGrad: boolean;

  /**
   * Wraps `data` (not copied) as a tensor of `shape`. Prefer `mg.tensor`, `mg.zeros`, ….
   * @internal
   */
  constructor(data: TypedArray, shape: readonly number[], requiresGrad = false, version?: VersionCounter) {
    if (numelOf(shape) !== data.length) {
      throw new RangeError(`Tensor: argument 'shape' must hold the data's ${data.length} elements, got ${fmtShape(shape)} (${numelOf(shape)} elements)`);
    }
    this.data = data;
    // Shapes are immutable, so a frozen one (another tensor's: most ops keep their input's shape)
    // is shared rather than copied and frozen again.
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
    this.dtype = dtypeOf(data);
    if (requiresGrad) requireGradable('Tensor', this.dtype);
    this._requiresGrad = requiresGrad;
    this._version = version ?? { value: 0 };
  }

  /** Accumulated gradient of a leaf after `backward()`, or null. */
  get grad(): Tensor | null {
    return this._grad;
  }

  /** Sets the gradient: null, or a tensor of this tensor's shape and dtype (as PyTorch checks). */
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw typeError('Tensor.grad', 'grad', 'a Tensor or null', g);
      if (g.dtype !== this.dtype) throw new TypeError(`Tensor.grad: assigned grad has dtype ${g.dtype}, but the tensor is ${this.dtype}`);
      if (numelOf(g.shape) !== this.data.length || g.shape.length !== this.shape.length || g.shape.some((s, i) => s !== this.shape[i])) {
        throw new RangeError(`Tensor.grad: assigned grad has shape ${fmtShape(g.shape)}, but the tensor has shape ${fmtShape(this.shape)}`);
      }
    }
    this._grad = g;
    gradAssigned(this, g);
  }

  /** True for the batched view of a tensor inside `func.vmap` (see `tensor/batched.ts`). @internal */
  get _batched(): boolean {
    return false;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return this.data.length;
  }

  /** True for tensors created by the user (not the output of a recorded operation). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Whether gradients flow to (leaf) or through (non-leaf) this tensor. */
  get requiresGrad(): boolean {
    return this._requiresGrad || this.gradFn !== null;
  }

  /** Sets whether gradients flow to this tensor (leaves only, like PyTorch). */
  set requiresGrad(flag: boolean) {
    if (typeof flag !== 'boolean') throw typeError('requiresGrad', 'flag', 'a boolean', flag);
    if (this.gradFn !== null) {
      throw new RangeError(
        'requiresGrad: you can only change the requiresGrad flag of leaf tensors; use detach() to get a leaf from a non-leaf',
      );
    }
    if (flag) requireGradable('requiresGrad', this.dtype);
    this._requiresGrad = flag;
  }

  /** The value of a one-element tensor. */
  item(): number {
    this.checkAttached('item');
    hostRead('item', this.data);
    if (this.data.length !== 1) {
      throw new RangeError(`item: a tensor with ${this.data.length} elements (shape ${fmtShape(this.shape)}) cannot be converted to a number`);
    }
    return this.data[0];
  }

  /** The values as nested arrays (a number for a 0-d tensor; bool values read as 0 and 1). */
  tolist(): NestedArray {
    this.checkAttached('tolist');
    hostRead('tolist', this.data);
    if (this.shape.length === 0) return this.data[0];
    let offset = 0;
    const rec = (dim: number): NestedArray => {
      const n = this.shape[dim];
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = dim === this.shape.length - 1 ? this.data[offset++] : rec(dim + 1);
      return out;
    };
    return rec(0);
  }

  /** Throws when the data's buffer was transferred away (it then reads as empty). */
  private checkAttached(fn: string): void {
    if (this.data.length === 0 && !this.shape.includes(0)) {
      throw new TypeError(`${fn}: the tensor's buffer is detached (its ArrayBuffer was transferred, e.g. by postMessage; shape ${fmtShape(this.shape)})`);
    }
  }

  /** PyTorch-like representation, e.g. `tensor([1., 2.], requires_grad=True)`. */
  toString(): string {
    const prefix = 'tensor(';
    const suffixes: string[] = [];
    if (this.data.length === 0 && this.shape.length !== 1) suffixes.push(`size=(${this.shape.join(', ')})`);
    // PyTorch names no dtype for the default float, int64 and bool (their values show the type).
    if (this.dtype !== getDefaultDtype() && this.dtype !== 'int64' && this.dtype !== 'bool') suffixes.push(`dtype=torch.${this.dtype}`);
    if (this.gradFn) suffixes.push(`grad_fn=<${this.gradFn.name}>`);
    else if (this.requiresGrad) suffixes.push('requires_grad=True');
    const body = this.data.length === 0 ? '[]' : formatValues(this.data, this.shape, prefix.length);
    return addSuffixes(prefix + body, suffixes, prefix.length);
  }

  /** Used by `console.log` / `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** PyTorch's rule: only floating-point tensors can require gradients. */
function requireGradable(fn: string, dtype: DType): void {
  if (!isFloating(dtype)) throw new TypeError(`${fn}: only floating-point tensors can require gradients, got a tensor of dtype ${dtype}`);
}

/**
 * Throws unless `t`'s buffer is attached: a tensor whose ArrayBuffer was transferred away
 * (postMessage, structuredClone with transfer) reads as empty, or as garbage. @internal
 */
export function checkAttached(fn: string, arg: string, t: Tensor): Tensor {
  if (t._batched) return t; // its physical tensor was checked when vmap batched it
  if (t.data.length === 0 && !t.shape.includes(0)) {
    throw new TypeError(
      `${fn}: argument '${arg}' has a detached buffer (its ArrayBuffer was transferred, e.g. by postMessage; shape ${fmtShape(t.shape)}); ` +
        'copy the values (t.data.slice()) before transferring them',
    );
  }
  return t;
}

/** True for Tensor instances (including nn.Parameter). */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
