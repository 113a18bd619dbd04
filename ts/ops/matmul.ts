/** Matrix products (batched, broadcasting like torch.matmul) and (log-)softmax. */
import { record } from '../autograd/node';
import { type FloatArray, type FloatDType, allocate, allocateUninitialized, requireFloating } from '../tensor/dtype';
import { matmulInto, softmaxInto } from '../tensor/kernels/matmul';
import { broadcastShapes, fmtShape, normalizeDim, numelOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { to } from './cast';
import { exp, mul, sub } from './elementwise';
import { sumTo } from './broadcast';
import { sum } from './reduce';
import { broadcastTo } from './broadcast';
import { detach } from './inplace';
import { binaryOperands, checkTensor, wrap } from './util';
import { batchedOf, isBatched, unionLevels } from '../tensor/batched';
import { alignBatched, reshape, reshapeRecorded, squeeze, transpose, unsqueeze } from './shape';

/**
 * op(a) · op(b) on the last two dims with broadcast batch dims; op transposes when the flag is set.
 * The primitive behind `matmul`; its backward is two more `mmT` calls.
 */
export function mmT(a: Tensor, b: Tensor, transA: boolean, transB: boolean, name = 'MmBackward0'): Tensor {
  requireFloating('matmul', 'input', a.dtype);
  requireFloating('matmul', 'other', b.dtype);
  if (isBatched(a) || isBatched(b)) {
    // Members become batch dimensions of one broadcasting product (a batched native GEMM).
    const levels = unionLevels([a, b]);
    const rank = Math.max(a.ndim, b.ndim);
    return batchedOf(mmT(alignBatched(a, levels, rank), alignBatched(b, levels, rank), transA, transB, name), levels);
  }
  const [m, ka] = transA ? [a.shape[a.ndim - 1], a.shape[a.ndim - 2]] : [a.shape[a.ndim - 2], a.shape[a.ndim - 1]];
  const [kb, n] = transB ? [b.shape[b.ndim - 1], b.shape[b.ndim - 2]] : [b.shape[b.ndim - 2], b.shape[b.ndim - 1]];
  if (ka !== kb) {
    const sa = transA ? [...a.shape.slice(0, -2), ka, m] : a.shape;
    const sb = transB ? [...b.shape.slice(0, -2), n, kb] : b.shape;
    throw new RangeError(`matmul: shapes ${fmtShape(sa)} and ${fmtShape(sb)} are not compatible (${ka} != ${kb})`);
  }
  let batchShape: number[];
  try {
    batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    // Name the operands' full shapes, not just their batch parts.
    throw new RangeError(
      `matmul: the batch dimensions of shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be broadcast together ` +
        `(${fmtShape(a.shape.slice(0, -2))} vs ${fmtShape(b.shape.slice(0, -2))})`,
    );
  }
  const batch = numelOf(batchShape);
  const aBatch = numelOf(a.shape.slice(0, -2));
  const bBatch = numelOf(b.shape.slice(0, -2));
  // Every element is written by the product unless the inner dimension is empty (zeros then).
  const dtype = a.dtype as FloatDType; // checked above
  const out = ka > 0 ? allocateUninitialized(dtype, batch * m * n, 'matmul') : allocate(dtype, batch * m * n, 'matmul');
  const outShape = [...batchShape, m, n];
  if (batch === aBatch && batch === bBatch) {
    matmulInto(a.data as FloatArray, b.data as FloatArray, out, batch, m, ka, n, transA, transB, m * ka, ka * n);
  } else if (aBatch === 1 || bBatch === 1) {
    matmulInto(a.data as FloatArray, b.data as FloatArray, out, batch, m, ka, n, transA, transB, aBatch === 1 ? 0 : m * ka, bBatch === 1 ? 0 : ka * n);
  } else {
    // General batch broadcasting: materialise both operands to the full batch shape.
    const ae = a.shape.slice(-2);
    const be = b.shape.slice(-2);
    const af = expandData(a, [...batchShape, ...ae]);
    const bf = expandData(b, [...batchShape, ...be]);
    matmulInto(af, bf, out, batch, m, ka, n, transA, transB, m * ka, ka * n);
  }
  const c = wrap(out, outShape);
  return record(
    name,
    [a, b],
    c,
    (g, needs) => [
      needs[0] ? sumTo(transA ? mmT(b, g, transB, true) : mmT(g, b, false, !transB), a.shape) : null,
      needs[1] ? sumTo(transB ? mmT(g, a, true, transA) : mmT(a, g, !transA, false), b.shape) : null,
    ],
    [a, b],
  );
}

function expandData(t: Tensor, shape: number[]): FloatArray {
  return broadcastTo(detach(t), shape).data as FloatArray;
}

/** Matrix product with torch.matmul's rules for 1-d operands and batch broadcasting. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [x, y] = binaryOperands('matmul', a, b, to);
  requireFloating('matmul', 'input', x.dtype);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new RangeError(`matmul: both arguments need at least 1 dimension, got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  }
  if (x.ndim === 1 && y.ndim === 1) {
    if (x.shape[0] !== y.shape[0]) {
      throw new RangeError(`matmul: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} are not compatible (${x.shape[0]} != ${y.shape[0]})`);
    }
    return reshapeRecorded(mmT(unsqueeze(x, 0), unsqueeze(y, 1), false, false), [], 'DotBackward0');
  }
  if (x.ndim === 1) return squeeze(mmT(unsqueeze(x, 0), y, false, false), -2);
  if (y.ndim === 1) {
    const r = mmT(x, unsqueeze(y, 1), false, false);
    return x.ndim === 2 ? reshapeRecorded(r, [x.shape[0]], 'MvBackward0') : squeeze(r, -1);
  }
  // gradFn names as PyTorch shows them: bmm for equal 3-d batches, mm otherwise.
  const bmm = x.ndim === 3 && y.ndim === 3 && x.shape[0] === y.shape[0];
  return mmT(x, y, false, false, bmm ? 'BmmBackward0' : 'MmBackward0');
}

/** Batched matrix product of two 3-d tensors [b, n, m] · [b, m, p] (PyTorch's `bmm`; no broadcasting). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  const [x, y] = binaryOperands('bmm', a, b, to);
  requireFloating('bmm', 'input', x.dtype);
  if (x.ndim !== 3 || y.ndim !== 3 || x.shape[0] !== y.shape[0] || x.shape[2] !== y.shape[1]) {
    throw new RangeError(`bmm: expected [b, n, m] and [b, m, p], got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  }
  return mmT(x, y, false, false, 'BmmBackward0');
}

/** Softmax along `dim`. */
export function softmax(a: Tensor, dim = -1): Tensor {
  return softmaxAlong('softmax', a, dim, false);
}

/** Log-softmax along `dim`. */
export function logSoftmax(a: Tensor, dim = -1): Tensor {
  return softmaxAlong('logSoftmax', a, dim, true);
}

function softmaxAlong(fn: string, a: Tensor, dim: number, log: boolean): Tensor {
  checkTensor(fn, 'input', a);
  requireFloating(fn, 'input', a.dtype);
  const d = normalizeDim(fn, dim, a.ndim);
  if (isBatched(a)) {
    if (a.ndim === 0) return reshape(softmaxAlong(fn, reshape(a, [1]), 0, log), []);
    return batchedOf(softmaxAlong(fn, a.value, d + a.levels.length, log), a.levels);
  }
  let y: Tensor;
  if (a.ndim > 0 && d !== a.ndim - 1) {
    // The kernel works on the last dim: compute on a transposed constant copy; the rule below
    // is written for any dim, so one node is recorded (PyTorch's name, no transpose nodes).
    y = transpose(softmaxAlong(fn, transpose(detach(a), d, a.ndim - 1), -1, log), d, a.ndim - 1);
  } else {
    const cols = a.ndim === 0 ? 1 : a.shape[a.ndim - 1];
    const rows = cols === 0 ? 0 : a.numel / cols;
    const out = allocate(a.dtype as FloatDType, a.numel);
    softmaxInto(a.data as FloatArray, out, rows, cols, log);
    y = wrap(out, a.shape);
  }
  const sd = a.ndim === 0 ? [] : d;
  if (log) {
    return record('LogSoftmaxBackward0', [a], y, (g) => [sub(g, mul(exp(y), sum(g, sd, true)))], [y]);
  }
  return record('SoftmaxBackward0', [a], y, (g) => [mul(y, sub(g, sum(mul(g, y), sd, true)))], [y]);
}
