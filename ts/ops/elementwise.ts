/**
 * Elementwise ops with broadcasting. Each op's forward and backward sit together; backward rules
 * use only differentiable ops, so derivatives of any order are exact.
 */
import { record } from '../autograd/node';
import { typeError } from '../errors';
import { type FloatArray, allocate, allocateUninitialized, getDefaultDtype, isFloating } from '../tensor/dtype';
import { BinaryOp, UnaryOp, binaryInto, binaryScalarInto, binarySameInto, unaryInto, whereInto } from '../tensor/kernels/elementwise';
import { broadcastShapes, broadcastStrides, numelOf, sameShape } from '../tensor/shape';
import type { Tensor, TensorLike } from '../tensor/tensor';
import { castExact, to } from './cast';
import { sumTo } from './broadcast';
import { binaryOperands, checkTensor, scalarOf, wrap } from './util';
import { copyInto } from '../tensor/kernels/layout';
import { type BatchedTensor, batchedOf, isBatched, unionLevels } from '../tensor/batched';
import { alignBatched } from './shape';
import { isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';

// ---- vmap rules ------------------------------------------------------------------------------

/** vmap's rule for a member-by-member op of one tensor: the op once on the physical tensor. */
function perMember(f: (t: Tensor) => Tensor, a: BatchedTensor): Tensor {
  return batchedOf(f(a.value), a.levels);
}

/**
 * vmap's rule for a member-by-member op of several operands: the op once on their physical
 * tensors, laid out so that broadcasting pairs member with member (numbers pass through).
 */
function zipBatched(f: (...xs: TensorLike[]) => Tensor, ...xs: TensorLike[]): Tensor {
  const levels = unionLevels(xs);
  const rank = Math.max(0, ...xs.map((x) => (isTensor(x) ? x.ndim : 0)));
  return batchedOf(f(...xs.map((x) => (isTensor(x) ? alignBatched(x, levels, rank) : x))), levels);
}

// ---- unary ---------------------------------------------------------------------------------

/** Unary ops whose result keeps an integer input's dtype (PyTorch's); the rest compute in floats. */
const INTEGER_UNARY: ReadonlySet<UnaryOp> = new Set([UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Sign, UnaryOp.Square, UnaryOp.Relu, UnaryOp.Step]);

function unaryRaw(op: UnaryOp, a: Tensor): Tensor {
  if (!isFloating(a.dtype)) {
    // An integer or bool input: integer-valued ops stay in its dtype (computed exactly in
    // float64), the others take the default float dtype, as PyTorch promotes them.
    if (!INTEGER_UNARY.has(op)) return unaryRaw(op, to(a, getDefaultDtype()));
    return castExact(unaryRaw(op, to(a, 'float64')), a.dtype === 'bool' && op !== UnaryOp.Step && op !== UnaryOp.Relu ? 'int64' : a.dtype);
  }
  const out = allocateUninitialized(a.dtype, a.numel);
  unaryInto(op, a.data as FloatArray, out);
  return wrap(out, a.shape);
}

/** −a. */
export function neg(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(neg, a);
  checkTensor('neg', 'input', a);
  return record('NegBackward0', [a], unaryRaw(UnaryOp.Neg, a), (g) => [neg(g)]);
}

/** eᵃ. */
export function exp(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(exp, a);
  checkTensor('exp', 'input', a);
  const out = unaryRaw(UnaryOp.Exp, a);
  return record('ExpBackward0', [a], out, (g) => [mul(g, out)], [out]);
}

/** Natural logarithm. */
export function log(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(log, a);
  checkTensor('log', 'input', a);
  return record('LogBackward0', [a], unaryRaw(UnaryOp.Log, a), (g) => [div(g, a)], [a]);
}

/** log(1 + a), accurate near 0. */
export function log1p(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(log1p, a);
  checkTensor('log1p', 'input', a);
  return record('Log1PBackward0', [a], unaryRaw(UnaryOp.Log1p, a), (g) => [div(g, add(a, 1))], [a]);
}

/** eᵃ − 1, accurate near 0. */
export function expm1(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(expm1, a);
  checkTensor('expm1', 'input', a);
  const out = unaryRaw(UnaryOp.Expm1, a);
  return record('Expm1Backward0', [a], out, (g) => [mul(g, add(out, 1))], [out]);
}

/** √a. */
export function sqrt(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(sqrt, a);
  checkTensor('sqrt', 'input', a);
  const out = unaryRaw(UnaryOp.Sqrt, a);
  return record('SqrtBackward0', [a], out, (g) => [div(g, mul(out, 2))], [out]);
}

/** |a| (gradient sign(a), 0 at 0). */
export function abs(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(abs, a);
  checkTensor('abs', 'input', a);
  return record('AbsBackward0', [a], unaryRaw(UnaryOp.Abs, a), (g) => [mul(g, sign(a))], [a]);
}

/** Sign (−1, 0, 1); its gradient is zero, so it is recorded as a constant. */
export function sign(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(sign, a);
  checkTensor('sign', 'input', a);
  return unaryRaw(UnaryOp.Sign, a);
}

/** a², */
export function square(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(square, a);
  checkTensor('square', 'input', a);
  return record('PowBackward0', [a], unaryRaw(UnaryOp.Square, a), (g) => [mul(g, mul(a, 2))], [a]);
}

/** 1 / a. */
export function reciprocal(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(reciprocal, a);
  checkTensor('reciprocal', 'input', a);
  const out = unaryRaw(UnaryOp.Reciprocal, a);
  return record('ReciprocalBackward0', [a], out, (g) => [neg(mul(g, square(out)))], [out]);
}

/** sin a. */
export function sin(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(sin, a);
  checkTensor('sin', 'input', a);
  return record('SinBackward0', [a], unaryRaw(UnaryOp.Sin, a), (g) => [mul(g, cos(a))], [a]);
}

/** cos a. */
export function cos(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(cos, a);
  checkTensor('cos', 'input', a);
  return record('CosBackward0', [a], unaryRaw(UnaryOp.Cos, a), (g) => [neg(mul(g, sin(a)))], [a]);
}

/** tanh a; the backward uses the saved output, which stays connected to the graph. */
export function tanh(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(tanh, a);
  checkTensor('tanh', 'input', a);
  const out = unaryRaw(UnaryOp.Tanh, a);
  return record('TanhBackward0', [a], out, (g) => [tanhBackward(g, out)], [out]);
}

/** Logistic sigmoid 1 / (1 + e⁻ᵃ). */
export function sigmoid(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(sigmoid, a);
  checkTensor('sigmoid', 'input', a);
  const out = unaryRaw(UnaryOp.Sigmoid, a);
  return record('SigmoidBackward0', [a], out, (g) => [sigmoidBackward(g, out)], [out]);
}

/**
 * An activation's backward g·f'(x) from its output y in one kernel (PyTorch's tanh_backward,
 * sigmoid_backward), differentiable again: linear in g, and d/dy is g·(d f'/dy)(y).
 */
function fusedBackward(name: string, op: BinaryOp, dSlope: (y: Tensor) => Tensor): (g: Tensor, y: Tensor) => Tensor {
  const backward = (g: Tensor, y: Tensor): Tensor =>
    record(name, [g, y], binaryRaw(name, op, g, y), (gg, needs) => [needs[0] ? backward(gg, y) : null, needs[1] ? mul(mul(gg, g), dSlope(y)) : null], [g, y]);
  return backward;
}

/** g·(1 − y²) for tanh's output y. */
const tanhBackward = fusedBackward('TanhBackwardBackward0', BinaryOp.TanhGrad, (y) => mul(y, -2));
/** g·y·(1 − y) for the sigmoid's output y. */
const sigmoidBackward = fusedBackward('SigmoidBackwardBackward0', BinaryOp.SigmoidGrad, (y) => sub(1, mul(y, 2)));

/** max(a, 0). */
export function relu(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(relu, a);
  checkTensor('relu', 'input', a);
  return record('ReluBackward0', [a], unaryRaw(UnaryOp.Relu, a), (g) => [reluBackward(g, a)], [a]);
}

/**
 * a > 0 ? g : 0 in one kernel (PyTorch's threshold_backward): linear in g; its derivative in a is
 * zero wherever it exists, so a gets no gradient (but, as in PyTorch, keeps the result attached).
 */
function reluBackward(g: Tensor, a: Tensor): Tensor {
  return record('ThresholdBackwardBackward0', [g, a], binaryRaw('relu', BinaryOp.ReluGrad, g, a), (gg, needs) => [needs[0] ? reluBackward(gg, a) : null, null], [a]);
}

/** log(1 + eᵃ), computed stably. */
export function softplus(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(softplus, a);
  checkTensor('softplus', 'input', a);
  return record('SoftplusBackward0', [a], unaryRaw(UnaryOp.Softplus, a), (g) => [mul(g, sigmoid(a))], [a]);
}

/** Heaviside step (a > 0 ? 1 : 0), a constant for autograd. */
export function step(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(step, a);
  return unaryRaw(UnaryOp.Step, a);
}

// ---- binary --------------------------------------------------------------------------------

/**
 * The kernel on two operands of one dtype. Integer and bool operands compute exactly in float64
 * (their values are integers within ±2⁵³) and the result is stored back in their dtype (an int32
 * result outside int32's range is refused rather than wrapped around as in PyTorch).
 */
function binaryRaw(fn: string, op: BinaryOp, x: Tensor, y: Tensor): Tensor {
  if (!isFloating(x.dtype)) {
    const r = binaryRaw(fn, op, to(x, 'float64'), to(y, 'float64'));
    // Bool results (of add, mul, maximum, …: values 0 to 2) are "nonzero", as a mask.
    return x.dtype === 'bool' ? castExact(binaryRaw(fn, BinaryOp.Gt, r, scalarOf(0, 'float64')), 'bool') : castExact(r, x.dtype);
  }
  const xd = x.data as FloatArray;
  const yd = y.data as FloatArray;
  if (x.shape === y.shape || sameShape(x.shape, y.shape)) {
    const same = allocateUninitialized(x.dtype, x.numel, fn);
    binarySameInto(op, xd, yd, same);
    return wrap(same, x.shape);
  }
  // One element against a tensor of at least its rank: the result has the tensor's shape.
  if (y.numel === 1 && y.shape.length <= x.shape.length) {
    const out = allocateUninitialized(x.dtype, x.numel, fn);
    binaryScalarInto(op, xd, yd, out, false);
    return wrap(out, x.shape);
  }
  if (x.numel === 1 && x.shape.length <= y.shape.length) {
    const out = allocateUninitialized(x.dtype, y.numel, fn);
    binaryScalarInto(op, yd, xd, out, true);
    return wrap(out, y.shape);
  }
  const shape = broadcastShapes(fn, x.shape, y.shape);
  const out = allocateUninitialized(x.dtype, numelOf(shape), fn);
  binaryInto(op, xd, broadcastStrides(x.shape, shape), yd, broadcastStrides(y.shape, shape), out, shape);
  return wrap(out, shape);
}

/** a + alpha·b with broadcasting. */
export function add(a: TensorLike, b: TensorLike, alpha = 1): Tensor {
  if (alpha !== 1) return add(a, mul(b, alpha));
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => add(p, q), a, b);
  const [x, y] = binaryOperands('add', a, b, to);
  return record('AddBackward0', [x, y], binaryRaw('add', BinaryOp.Add, x, y), (g, needs) => [
    needs[0] ? sumTo(g, x.shape) : null,
    needs[1] ? sumTo(g, y.shape) : null,
  ]);
}

/** a − alpha·b with broadcasting. */
export function sub(a: TensorLike, b: TensorLike, alpha = 1): Tensor {
  if (alpha !== 1) return sub(a, mul(b, alpha));
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => sub(p, q), a, b);
  const [x, y] = binaryOperands('sub', a, b, to);
  if (x.dtype === 'bool') throw new TypeError("sub: subtracting bool tensors is not supported (as in PyTorch); use logicalXor, or cast them with .to('int64')");
  return record('SubBackward0', [x, y], binaryRaw('sub', BinaryOp.Sub, x, y), (g, needs) => [
    needs[0] ? sumTo(g, x.shape) : null,
    needs[1] ? sumTo(neg(g), y.shape) : null,
  ]);
}

/** a · b with broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => mul(p, q), a, b);
  const [x, y] = binaryOperands('mul', a, b, to);
  return record(
    'MulBackward0',
    [x, y],
    binaryRaw('mul', BinaryOp.Mul, x, y),
    (g, needs) => [needs[0] ? sumTo(mul(g, y), x.shape) : null, needs[1] ? sumTo(mul(g, x), y.shape) : null],
    [x, y],
  );
}

/** a / b with broadcasting (true division: integer operands give the default float dtype, as in PyTorch). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => div(p, q), a, b);
  let [x, y] = binaryOperands('div', a, b, to);
  if (!isFloating(x.dtype)) [x, y] = [to(x, getDefaultDtype()), to(y, getDefaultDtype())];
  return record(
    'DivBackward0',
    [x, y],
    binaryRaw('div', BinaryOp.Div, x, y),
    (g, needs) => [
      needs[0] ? sumTo(div(g, y), x.shape) : null,
      needs[1] ? sumTo(neg(div(mul(g, x), square(y))), y.shape) : null,
    ],
    [x, y],
  );
}

/** aᵇ with broadcasting. The exponent's gradient is aᵇ·log a, taken as 0 where a = 0 and b ≥ 0 (PyTorch's convention). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => pow(p, q), a, b);
  const [x, y] = binaryOperands('pow', a, b, to);
  if (!isFloating(x.dtype) && hostRead('pow', y.data).some((v) => v < 0)) {
    throw new RangeError("pow: integers to negative integer powers are not allowed (as in PyTorch); cast the base with .to('float32')");
  }
  const out = binaryRaw('pow', BinaryOp.Pow, x, y);
  // PyTorch's names: PowBackward0 for a number exponent, 2 for a number base, 1 for two tensors.
  return record(
    typeof b === 'number' ? 'PowBackward0' : typeof a === 'number' ? 'PowBackward2' : 'PowBackward1',
    [x, y],
    out,
    (g, needs) => [
      needs[0] ? sumTo(mul(g, mul(y, pow(x, sub(y, 1)))), x.shape) : null,
      needs[1] ? sumTo(mul(g, where(logSafeMask(x, y), mul(out, log(x)), 0)), y.shape) : null,
    ],
    [x, y, out],
  );
}

function logSafeMask(x: Tensor, y: Tensor): Tensor {
  // 1 where the exponent gradient is defined by the formula, 0 where PyTorch masks it (x == 0, y >= 0).
  const zero = binaryRaw('pow', BinaryOp.Eq, x, wrap(allocate(x.dtype, 1), []));
  const nonneg = binaryRaw('pow', BinaryOp.Ge, y, wrap(allocate(y.dtype, 1), []));
  const masked = binaryRaw('pow', BinaryOp.Mul, zero, nonneg);
  return binaryRaw('pow', BinaryOp.Eq, masked, wrap(allocate(x.dtype, 1), []));
}

/** Elementwise maximum; at ties each side gets half the gradient (as PyTorch). */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('maximum', BinaryOp.Maximum, BinaryOp.Gt, a, b);
}

/** Elementwise minimum; at ties each side gets half the gradient (as PyTorch). */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('minimum', BinaryOp.Minimum, BinaryOp.Lt, a, b);
}

function extremum(fn: string, op: BinaryOp, wins: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => extremum(fn, op, wins, p, q), a, b);
  const [x, y] = binaryOperands(fn, a, b, to);
  const out = binaryRaw(fn, op, x, y);
  return record(
    fn === 'maximum' ? 'MaximumBackward0' : 'MinimumBackward0',
    [x, y],
    out,
    (g, needs) => {
      const tie = mul(binaryRaw(fn, BinaryOp.Eq, x, y), 0.5);
      const wx = add(binaryRaw(fn, wins, x, y), tie);
      const wy = add(binaryRaw(fn, wins, y, x), tie);
      return [needs[0] ? sumTo(mul(g, wx), x.shape) : null, needs[1] ? sumTo(mul(g, wy), y.shape) : null];
    },
    [x, y],
  );
}

/**
 * Clamps into [lo, hi] (either bound may be omitted). As in PyTorch the gradient passes where
 * lo <= a <= hi (bounds included) and is zero outside.
 */
export function clamp(a: Tensor, lo?: number, hi?: number): Tensor {
  if (isBatched(a)) return perMember((t) => clamp(t, lo, hi), a);
  checkTensor('clamp', 'input', a);
  if (lo !== undefined && typeof lo !== 'number') throw typeError('clamp', 'min', 'a number or undefined', lo);
  if (hi !== undefined && typeof hi !== 'number') throw typeError('clamp', 'max', 'a number or undefined', hi);
  if (lo === undefined && hi === undefined) throw new TypeError("clamp: at least one of 'min' and 'max' must be given");
  const bound = (v: number): Tensor => scalarOf(v, a.dtype);
  let out = a;
  let pass: Tensor | null = null;
  if (lo !== undefined) {
    out = binaryRaw('clamp', BinaryOp.Maximum, out, bound(lo));
    pass = binaryRaw('clamp', BinaryOp.Ge, a, bound(lo));
  }
  if (hi !== undefined) {
    out = binaryRaw('clamp', BinaryOp.Minimum, out, bound(hi));
    const below = binaryRaw('clamp', BinaryOp.Le, a, bound(hi));
    pass = pass ? binaryRaw('clamp', BinaryOp.Mul, pass, below) : below;
  }
  const mask = pass as Tensor;
  const name = lo === undefined ? 'ClampMaxBackward0' : hi === undefined ? 'ClampMinBackward0' : 'ClampBackward1';
  return record(name, [a], out, (g) => [mul(g, mask)], [a]);
}

// ---- comparisons (constants for autograd) ----------------------------------------------------

/** The operands of a comparison, promoted as for arithmetic, in a float dtype the kernels take. */
function compared(fn: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const [x, y] = binaryOperands(fn, a, b, to);
  // Integer and bool values are exact in float64.
  return isFloating(x.dtype) ? [x, y] : [to(x, 'float64'), to(y, 'float64')];
}

/** 1 where the comparison holds, else 0, in the (float) dtype of the compared operands. */
function maskOf(fn: string, op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => maskOf(fn, op, p, q), a, b);
  const [x, y] = compared(fn, a, b);
  return binaryRaw(fn, op, x, y);
}

function compare(fn: string, op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => compare(fn, op, p, q), a, b);
  return castExact(maskOf(fn, op, a, b), 'bool');
}

/** True where a > b (a bool tensor; not differentiable). */
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', BinaryOp.Gt, a, b);
/** True where a < b. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', BinaryOp.Lt, a, b);
/** True where a >= b. */
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', BinaryOp.Ge, a, b);
/** True where a <= b. */
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', BinaryOp.Le, a, b);
/** True where a == b. */
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', BinaryOp.Eq, a, b);
/** True where a != b (NaN != NaN, as in PyTorch). */
export const ne = (a: TensorLike, b: TensorLike): Tensor => logicalNot(eq(a, b));

/**
 * The comparisons as float masks: 1 where it holds, else 0, in the operands' float dtype. For
 * arithmetic with masks (the solvers' bookkeeping, backward rules), and recordable by `mg.jit`,
 * which holds float buffers only.
 */
export const gtMask = (a: TensorLike, b: TensorLike): Tensor => maskOf('gt', BinaryOp.Gt, a, b);
/** 1 where a < b, else 0 (see {@link gtMask}). */
export const ltMask = (a: TensorLike, b: TensorLike): Tensor => maskOf('lt', BinaryOp.Lt, a, b);
/** 1 where a >= b, else 0 (see {@link gtMask}). */
export const geMask = (a: TensorLike, b: TensorLike): Tensor => maskOf('ge', BinaryOp.Ge, a, b);
/** 1 where a <= b, else 0 (see {@link gtMask}). */
export const leMask = (a: TensorLike, b: TensorLike): Tensor => maskOf('le', BinaryOp.Le, a, b);
/** 1 where a == b, else 0 (see {@link gtMask}). */
export const eqMask = (a: TensorLike, b: TensorLike): Tensor => maskOf('eq', BinaryOp.Eq, a, b);

/** Logical operands: any dtype, read as "nonzero". */
function logical(fn: string, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (isBatched(a) || isBatched(b)) return zipBatched((p, q) => logical(fn, op, p as Tensor, q as Tensor), a, b);
  checkTensor(fn, 'input', a);
  checkTensor(fn, 'other', b);
  const x = a.dtype === 'bool' ? a : logicalNot(logicalNot(a));
  const y = b.dtype === 'bool' ? b : logicalNot(logicalNot(b));
  // On 0/1 values: and = min, or = max, xor = a ≠ b.
  return compare(fn, op, to(x, 'float64'), to(y, 'float64'));
}

/** Elementwise logical and (a bool tensor); nonzero counts as true. */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return logical('logicalAnd', BinaryOp.Minimum, a, b);
}

/** Elementwise logical or (a bool tensor); nonzero counts as true. */
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  return logical('logicalOr', BinaryOp.Maximum, a, b);
}

/** Elementwise logical exclusive or (a bool tensor); nonzero counts as true. */
export function logicalXor(a: Tensor, b: Tensor): Tensor {
  return logical('logicalXor', BinaryOp.Gt, logicalOr(a, b), logicalAnd(a, b));
}

/** Elementwise logical not (a bool tensor): true where `a` is zero. */
export function logicalNot(a: Tensor): Tensor {
  if (isBatched(a)) return perMember(logicalNot, a);
  checkTensor('logicalNot', 'input', a);
  return compare('logicalNot', BinaryOp.Eq, a, 0);
}

/**
 * `cond ? a : b` elementwise with broadcasting; `cond` is a tensor (bool, or any dtype: nonzero
 * selects `a`). Written as a·c + b·(1 − c) with a constant mask c, so it is differentiable in a
 * and b to any order.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (isBatched(cond) || isBatched(a) || isBatched(b)) return zipBatched((c, p, q) => where(c as Tensor, p, q), cond, a, b);
  checkTensor('where', 'condition', cond);
  const [x, y] = binaryOperands('where', a, b, to);
  if (!isFloating(x.dtype)) return castExact(where(cond, to(x, 'float64'), to(y, 'float64')), x.dtype);
  // The masks c = (cond ≠ 0) and 1 − c, as kernels (a NaN condition selects a, as cond ≠ 0 does).
  const one = scalarOf(1, x.dtype).data as FloatArray;
  const zero = scalarOf(0, x.dtype).data as FloatArray;
  const unit = broadcastStrides(cond.shape, cond.shape);
  const none = cond.shape.map(() => 0);
  let cd = cond.data as FloatArray;
  if (cond.dtype !== x.dtype) copyInto(cond.data, (cd = allocate(x.dtype, cond.numel, 'where')));
  const cData = allocate(x.dtype, cond.numel, 'where');
  whereInto(cd, unit, one, none, zero, none, cData, cond.shape);
  const c = wrap(cData, cond.shape);
  const notCData = allocate(x.dtype, cond.numel, 'where');
  whereInto(cd, unit, zero, none, one, none, notCData, cond.shape);
  const notC = wrap(notCData, cond.shape);
  const shape = broadcastShapes('where', broadcastShapes('where', c.shape, x.shape), y.shape);
  const out = allocate(x.dtype, numelOf(shape), 'where');
  whereInto(cData, broadcastStrides(c.shape, shape), x.data as FloatArray, broadcastStrides(x.shape, shape), y.data as FloatArray, broadcastStrides(y.shape, shape), out, shape);
  return record('WhereBackward0', [x, y], wrap(out, shape), (g, needs) => [
    needs[0] ? sumTo(mul(g, c), x.shape) : null,
    needs[1] ? sumTo(mul(g, notC), y.shape) : null,
  ]);
}
