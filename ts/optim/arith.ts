/**
 * The arithmetic the update rules are written in, once, for both modes (TorchOpt writes each rule
 * twice, with `x.add_` and `x.add`). In place, the first operand is overwritten and returned; out
 * of place, a new differentiable tensor is returned. A write autograd could not record (grad mode
 * on and an operand requires grad) is done out of place, which gives the values and graph PyTorch's
 * recorded in-place op would.
 */
import { isGradEnabled } from '../autograd/grad-mode';
import * as el from '../ops/elementwise';
import * as ip from '../ops/inplace';
import { physicalOf } from '../tensor/batched';
import { type Tensor, type TensorLike, isTensor } from '../tensor/tensor';

/** Update-rule arithmetic; `x` is the tensor an in-place op writes into. */
export interface Arith {
  /** x·s. */
  mul(x: Tensor, s: TensorLike): Tensor;
  /** x + alpha·y. */
  add(x: Tensor, y: TensorLike, alpha?: number): Tensor;
  /** x + value·a·b (PyTorch's addcmul). */
  addcmul(x: Tensor, a: Tensor, b: Tensor, value?: number): Tensor;
  /** x / y. */
  div(x: Tensor, y: TensorLike): Tensor;
  /** −x. */
  neg(x: Tensor): Tensor;
  /** The values of `src`, written into `dst` in place, or a differentiable copy. */
  copy(dst: Tensor, src: Tensor): Tensor;
  /** The weight-decay operand for `p` next to `g`: detached when `g` will be written in place (TorchOpt's `p.data`). */
  decayOperand(g: Tensor, p: Tensor): Tensor;
}

function requires(x: TensorLike): boolean {
  return isTensor(x) && x.requiresGrad;
}

/** The arithmetic for one update call. */
export function arith(inplace: boolean): Arith {
  // Inside vmap a state tensor shared by the members (from init on unbatched parameters) cannot
  // hold per-member values: it is then replaced (out of place), as the returned state allows.
  const holds = (x: Tensor, o: TensorLike): boolean => !isTensor(o) || physicalOf(o)[1].every((l) => physicalOf(x)[1].includes(l));
  const writable = (x: Tensor, ...others: TensorLike[]): boolean =>
    inplace && (!isGradEnabled() || (!x.requiresGrad && !others.some(requires))) && others.every((o) => holds(x, o));
  return {
    mul: (x, s) => (writable(x, s) ? ip.mul_(x, s) : el.mul(x, s)),
    add: (x, y, alpha = 1) => (writable(x, y) ? ip.add_(x, y, alpha) : el.add(x, y, alpha)),
    addcmul: (x, a, b, value = 1) => {
      const prod = el.mul(a, b);
      return writable(x, prod) ? ip.add_(x, prod, value) : el.add(x, prod, value);
    },
    div: (x, y) => (writable(x, y) ? ip.div_(x, y) : el.div(x, y)),
    neg: (x) => (writable(x) ? ip.mul_(x, -1) : el.neg(x)),
    copy: (dst, src) => (writable(dst, src) ? ip.copy_(dst, src) : ip.clone(src)),
    decayOperand: (g, p) => (writable(g) ? ip.detach(p) : p),
  };
}
