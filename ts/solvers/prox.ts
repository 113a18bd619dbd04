/**
 * `mg.prox`: proximal operators prox(x, hyperparams, scaling) = argmin_z ½‖z − x‖² +
 * scaling·g(z, hyperparams), leaf by leaf over a tree (JAXopt's `jaxopt.prox`). Written in
 * differentiable ops, so a solution found with them is differentiable in the hyperparameters
 * (a lasso's λ) by implicit differentiation.
 *
 * @module
 */
import { abs, div, mul, relu, sign, sub, add } from '../ops/elementwise';
import { type Tensor, isTensor } from '../tensor/tensor';
import { map } from '../tree/tree';
import { describe } from '../errors';

/** A regularisation strength: a number or a tensor broadcastable to each leaf. */
export type Strength = number | Tensor;

function strength(fn: string, arg: string, v: unknown, dflt: number): Strength {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`mg.prox.${fn}: argument '${arg}' must be a non-negative number or a Tensor, got ${describe(v)}`);
    return v;
  }
  if (!isTensor(v)) throw new TypeError(`mg.prox.${fn}: argument '${arg}' must be a non-negative number or a Tensor, got ${describe(v)}`);
  return v;
}

function scale(s: Strength, scaling: number): Strength {
  return typeof s === 'number' ? s * scaling : mul(s, scaling);
}

/** Soft thresholding sign(x)·max(|x| − t, 0). */
function soft(x: Tensor, t: Strength): Tensor {
  return mul(sign(x), relu(sub(abs(x), t)));
}

/** The identity: prox of g = 0. */
export function none<T>(x: T, _hyperparams?: unknown, _scaling = 1): T {
  return x;
}

/** prox of l1reg·‖x‖₁ (soft thresholding; JAXopt's prox_lasso). */
export function l1<T>(x: T, l1reg: Strength = 1, scaling = 1): T {
  const t = scale(strength('l1', 'l1reg', l1reg, 1), scaling);
  return map<T>((v) => soft(v, t), x);
}

/** prox of (l2reg/2)·‖x‖² : x / (1 + scaling·l2reg) (JAXopt's prox_ridge). */
export function l2Squared<T>(x: T, l2reg: Strength = 1, scaling = 1): T {
  const t = scale(strength('l2Squared', 'l2reg', l2reg, 1), scaling);
  return map<T>((v) => div(v, add(t, 1)), x);
}

/**
 * prox of l1reg·‖x‖₁ + (l2reg/2)·‖x‖²: soft thresholding, then shrinking by 1/(1 + scaling·l2reg)
 * (JAXopt's prox_elastic_net). `hyperparams` is `[l1reg, l2reg]`.
 */
export function elasticNet<T>(x: T, hyperparams: readonly [Strength, Strength] = [1, 1], scaling = 1): T {
  if (!Array.isArray(hyperparams) || hyperparams.length !== 2) throw new TypeError(`mg.prox.elasticNet: argument 'hyperparams' must be [l1reg, l2reg], got ${describe(hyperparams)}`);
  const a = scale(strength('elasticNet', 'l1reg', hyperparams[0], 1), scaling);
  const b = scale(strength('elasticNet', 'l2reg', hyperparams[1], 1), scaling);
  return map<T>((v) => div(soft(v, a), add(b, 1)), x);
}

/** prox of the indicator of x ≥ 0: max(x, 0). */
export function nonNegative<T>(x: T, _hyperparams?: unknown, _scaling = 1): T {
  return map<T>((v) => relu(v), x);
}
