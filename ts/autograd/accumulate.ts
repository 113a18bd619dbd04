/**
 * What the backward engine itself computes on gradients: sums where paths meet, the cast of a
 * caller's gradient to its output's dtype, and the copy that becomes a leaf's `.grad`. They are
 * recorded (with backward rules of their own, so grad of grad works) without the ops layer,
 * which builds on this one.
 */
import { type DType, type FloatArray, allocate, requireFloating } from '../tensor/dtype';
import { BinaryOp, binaryInto } from '../tensor/kernels/elementwise';
import { copyInto } from '../tensor/kernels/layout';
import { stridesOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { record } from './node';

/** a + b for gradients of one shape and dtype; recorded when grad mode is on. */
export function addGrads(a: Tensor, b: Tensor): Tensor {
  const out = allocate(a.dtype, a.numel);
  const strides = stridesOf(a.shape);
  // Gradients are floating (only floating tensors require grad).
  binaryInto(BinaryOp.Add, a.data as FloatArray, strides, b.dtype === a.dtype ? (b.data as FloatArray) : castData(b, a.dtype), strides, out as FloatArray, a.shape);
  return record('AddBackward0', [a, b], new Tensor(out, a.shape), (g, needs) => [needs[0] ? g : null, needs[1] ? castGrad(g, b.dtype) : null]);
}

function castData(t: Tensor, dtype: DType): FloatArray {
  const out = allocate(requireFloating('backward', 'gradient', dtype), t.numel, 'backward');
  copyInto(t.data, out);
  return out;
}

/** A copy of `g`'s values in a fresh buffer (not recorded by autograd). */
export function copyValues(g: Tensor): Tensor {
  return new Tensor(castData(g, g.dtype), g.shape);
}

/** `g` in `dtype` (itself when it already is); recorded when grad mode is on. */
export function castGrad(g: Tensor, dtype: DType): Tensor {
  if (g.dtype === dtype) return g;
  const from = g.dtype;
  return record('ToCopyBackward0', [g], new Tensor(castData(g, dtype), g.shape), (gg) => [castGrad(gg, from)]);
}

/** A copy of `g` in a fresh buffer; recorded (as an identity) when grad mode is on. */
export function copyGrad(g: Tensor): Tensor {
  return record('CloneBackward0', [g], new Tensor(castData(g, g.dtype), g.shape), (gg) => [gg]);
}

/** `g` without its graph, sharing its storage (as `detach`). */
export function detachGrad(g: Tensor): Tensor {
  return new Tensor(g.data, g.shape, false, g._version);
}
