/** Elementwise kernels over typed arrays: unary maps and broadcasting binary ops. */
import { type FloatArray, BinaryOp, UnaryOp, native } from '../native';
import { useNative } from './dispatch';
import { Instr, TraceError, recorder } from '../trace';

export { BinaryOp, UnaryOp };

const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/**
 * C's pow (which the native kernel and PyTorch use), not Math.pow: 1 to any power, even NaN or
 * ±∞, is 1, and so is −1 to ±∞ (Math.pow gives NaN for these).
 */
function pow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Number.POSITIVE_INFINITY || y === Number.NEGATIVE_INFINITY)) return 1;
  return Math.pow(x, y);
}

const UNARY_JS: Record<UnaryOp, (x: number) => number> = {
  [UnaryOp.Neg]: (x) => -x,
  [UnaryOp.Exp]: Math.exp,
  [UnaryOp.Log]: Math.log,
  [UnaryOp.Sqrt]: Math.sqrt,
  [UnaryOp.Abs]: Math.abs,
  [UnaryOp.Tanh]: Math.tanh,
  [UnaryOp.Sigmoid]: sigmoid,
  [UnaryOp.Relu]: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  [UnaryOp.Softplus]: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  [UnaryOp.Square]: (x) => x * x,
  [UnaryOp.Sign]: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  [UnaryOp.Sin]: Math.sin,
  [UnaryOp.Cos]: Math.cos,
  [UnaryOp.Reciprocal]: (x) => 1 / x,
  [UnaryOp.Step]: (x) => (x > 0 ? 1 : 0),
  [UnaryOp.Log1p]: Math.log1p,
  [UnaryOp.Expm1]: Math.expm1,
};

/** out[i] = op(a[i]); out may be a itself. */
export function unaryInto(op: UnaryOp, a: FloatArray, out: FloatArray): void {
  if (useNative('unary', a.length)) {
    native.unary(op, a, out);
    return;
  }
  const n = a.length;
  // As for the binary ops (see sameJs): the cheap maps get loops of their own.
  switch (op) {
    case UnaryOp.Neg:
      for (let i = 0; i < n; i++) out[i] = -a[i];
      return;
    case UnaryOp.Square:
      for (let i = 0; i < n; i++) out[i] = a[i] * a[i];
      return;
    default: {
      const f = UNARY_JS[op];
      for (let i = 0; i < n; i++) out[i] = f(a[i]);
    }
  }
}

const BINARY_JS: Record<BinaryOp, (x: number, y: number) => number> = {
  [BinaryOp.Add]: (x, y) => x + y,
  [BinaryOp.Sub]: (x, y) => x - y,
  [BinaryOp.Mul]: (x, y) => x * y,
  [BinaryOp.Div]: (x, y) => x / y,
  [BinaryOp.Pow]: pow,
  [BinaryOp.Maximum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  [BinaryOp.Minimum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  [BinaryOp.Gt]: (x, y) => (x > y ? 1 : 0),
  [BinaryOp.Lt]: (x, y) => (x < y ? 1 : 0),
  [BinaryOp.Ge]: (x, y) => (x >= y ? 1 : 0),
  [BinaryOp.Le]: (x, y) => (x <= y ? 1 : 0),
  [BinaryOp.Eq]: (x, y) => (x === y ? 1 : 0),
  [BinaryOp.TanhGrad]: (g, y) => g * (1 - y * y),
  [BinaryOp.SigmoidGrad]: (g, y) => g * (y * (1 - y)),
  [BinaryOp.ReluGrad]: (g, x) => (x > 0 ? g : 0),
};

const UNIT_STRIDE = Int32Array.of(1);

/** out[i] = op(a[i], b[i]) for operands of one shape (the common case, without stride bookkeeping). */
export function binarySameInto(op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray): void {
  const n = out.length;
  if (useNative('binary', n)) {
    native.binary(op, a, UNIT_STRIDE, b, UNIT_STRIDE, out, Int32Array.of(n));
    return;
  }
  if (sameJs(op, a, b, out, n)) return;
  const f = BINARY_JS[op];
  for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
}

/**
 * The arithmetic ops as loops of their own: one loop shared by every op calls its op through a
 * function table, an indirect call per element that V8 cannot inline (about 5 ns: 80 % of a
 * 20×4 multiply). False for the ops left to the table.
 */
function sameJs(op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray, n: number): boolean {
  switch (op) {
    case BinaryOp.Add:
      for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
      return true;
    case BinaryOp.Sub:
      for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
      return true;
    case BinaryOp.Mul:
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
      return true;
    case BinaryOp.Div:
      for (let i = 0; i < n; i++) out[i] = a[i] / b[i];
      return true;
    default:
      return false;
  }
}

/** {@link sameJs} with b a single value: out[i] = op(a[i], v), or op(v, a[i]) with `scalarFirst`. */
function scalarJs(op: BinaryOp, a: FloatArray, v: number, out: FloatArray, n: number, scalarFirst: boolean): boolean {
  switch (op) {
    case BinaryOp.Add:
      for (let i = 0; i < n; i++) out[i] = a[i] + v;
      return true;
    case BinaryOp.Mul:
      for (let i = 0; i < n; i++) out[i] = a[i] * v;
      return true;
    case BinaryOp.Sub:
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = v - a[i];
      else for (let i = 0; i < n; i++) out[i] = a[i] - v;
      return true;
    case BinaryOp.Div:
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = v / a[i];
      else for (let i = 0; i < n; i++) out[i] = a[i] / v;
      return true;
    default:
      return false;
  }
}

const ZERO_STRIDE = Int32Array.of(0);

/**
 * out[i] = op(a[i], s[0]) (or op(s[0], a[i]) with `scalarFirst`): one operand broadcast from a
 * single element, as every tensor-times-number op is.
 */
export function binaryScalarInto(op: BinaryOp, a: FloatArray, s: FloatArray, out: FloatArray, scalarFirst: boolean): void {
  const n = out.length;
  if (useNative('binary', n)) {
    const shape = Int32Array.of(n);
    if (scalarFirst) native.binary(op, s, ZERO_STRIDE, a, UNIT_STRIDE, out, shape);
    else native.binary(op, a, UNIT_STRIDE, s, ZERO_STRIDE, out, shape);
    return;
  }
  const v = s[0];
  if (scalarJs(op, a, v, out, n, scalarFirst)) return;
  const f = BINARY_JS[op];
  if (scalarFirst) for (let i = 0; i < n; i++) out[i] = f(v, a[i]);
  else for (let i = 0; i < n; i++) out[i] = f(a[i], v);
}

/**
 * Broadcasting binary op: out has `outShape`; a and b are read with element strides
 * (0 on broadcast dimensions). All three share a dtype.
 */
export function binaryInto(
  op: BinaryOp,
  a: FloatArray,
  aStrides: readonly number[],
  b: FloatArray,
  bStrides: readonly number[],
  out: FloatArray,
  outShape: readonly number[],
): void {
  const n = out.length;
  // The native kernel takes up to 8 dimensions (its fixed-size index arrays); more run here.
  if (outShape.length <= 8 && useNative('binary', n)) {
    native.binary(op, a, Int32Array.from(aStrides), b, Int32Array.from(bStrides), out, Int32Array.from(outShape));
    return;
  }
  if (a.length === n && b.length === n) {
    binarySameInto(op, a, b, out);
    return;
  }
  if (b.length === 1 && a.length === n) {
    binaryScalarInto(op, a, b, out, false);
    return;
  }
  if (a.length === 1 && b.length === n) {
    binaryScalarInto(op, b, a, out, true);
    return;
  }
  const f = BINARY_JS[op];
  const nd = outShape.length;
  const idx = new Array<number>(nd).fill(0);
  let ia = 0;
  let ib = 0;
  for (let i = 0; i < n; i++) {
    out[i] = f(a[ia], b[ib]);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      ia += aStrides[d];
      ib += bStrides[d];
      if (idx[d] < outShape[d]) break;
      ia -= aStrides[d] * outShape[d];
      ib -= bStrides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/**
 * out[i] = cond[i] != 0 ? x[i] : y[i] over `shape`, each operand read with its element strides
 * (0 on broadcast dimensions).
 */
export function whereInto(
  cond: FloatArray, cs: readonly number[], x: FloatArray, xs: readonly number[], y: FloatArray, ys: readonly number[], out: FloatArray, shape: readonly number[],
): void {
  const n = out.length;
  if (n === 0) return;
  const run = (): void => {
    const nd = shape.length;
    const idx = new Array<number>(nd).fill(0);
    let ic = 0;
    let ix = 0;
    let iy = 0;
    for (let i = 0; i < n; i++) {
      out[i] = cond[ic] !== 0 ? x[ix] : y[iy];
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]++;
        ic += cs[d];
        ix += xs[d];
        iy += ys[d];
        if (idx[d] < shape[d]) break;
        ic -= cs[d] * shape[d];
        ix -= xs[d] * shape[d];
        iy -= ys[d] * shape[d];
        idx[d] = 0;
      }
    }
  };
  if (recorder === null) {
    run();
    return;
  }
  if (shape.length > 8) throw new TraceError(`jit: where over a ${shape.length}-dimensional shape cannot be replayed (at most 8 dimensions)`);
  recorder.record(Instr.Where, 'where', [cond, x, y, out, shape.length, ...shape, ...cs, ...xs, ...ys], [out], true, run);
}

/** a[i] = 0 where a[i] is not finite, in place. */
export function zeroNonFiniteInto(a: FloatArray): void {
  const run = (): void => {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) a[i] = 0;
  };
  if (recorder === null) run();
  else recorder.record(Instr.ZeroNonFinite, 'zeroNonFinite', [a, a.length], [a], false, run);
}
