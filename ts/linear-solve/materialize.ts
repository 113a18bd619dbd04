/**
 * Direct solves of a matvec: the FULL matrix over all of b's elements is built by applying the
 * matvec to unit vectors (TorchOpt keeps only the diagonal blocks, one per leaf, which is wrong
 * when leaves are coupled), then solved densely.
 */
import { noGrad } from '../autograd/grad-mode';
import { NumericalError } from '../errors';
import { reportInfo, type OnInfo } from '../linalg/info';
import { type Problem, type Vec, type VecOp } from '../linalg/operator';
import { type DenseMethod, denseSolve } from '../linalg/solve';
import { to } from '../ops/cast';
import { cat, narrow, stack } from '../ops/indexing';
import { sub } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import { reshape } from '../ops/shape';
import { zerosOf } from '../ops/util';
import { type DType, promoteTypes } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { memberNorms } from '../linalg/members';
import { markConstant } from '../tensor/trace';

function flatOf(v: Tensor[], dtype: DType): Tensor {
  return to(cat(v.map((t) => reshape(t, [t.numel]))), dtype);
}

/**
 * The n×n matrix of the operator over b's elements in flatten order (column j = A e_j), in the
 * promoted dtype of b's leaves.
 */
export function materialize(p: Problem, A: VecOp, dtype: DType): Tensor {
  const cols: Tensor[] = [];
  let leaf = 0;
  let offset = 0;
  for (let j = 0; j < p.n; j++) {
    while (j - offset >= p.b[leaf].numel) offset += p.b[leaf++].numel;
    const unit = p.b.map((t) => zerosOf(t.shape, t.dtype));
    unit[leaf].data[j - offset] = 1;
    markConstant(unit[leaf].data);
    cols.push(flatOf(A(unit), dtype));
  }
  return stack(cols, 1);
}

/**
 * Solves A x = p.b on values by materialising the full matrix and factorising it with `method`
 * (differentiated by the caller's implicit rule). Reports iterations 0 and the residual of the
 * dense system. @internal
 */
export function runDenseVec(kind: string, p: Problem, op: VecOp, method: DenseMethod, onInfo: OnInfo | undefined): Vec {
  if (p.n === 0) {
    reportInfo({ solver: kind, iterations: 0, residualNorm: 0, tolerance: Number.POSITIVE_INFINITY, converged: true }, onInfo);
    return p.b.map((t) => zerosOf(t.shape, t.dtype));
  }
  const dtype = p.b.map((t) => t.dtype).reduce(promoteTypes);
  const A = materialize(p, op, dtype);
  const bf = flatOf(p.b, dtype);
  let x: Tensor;
  try {
    x = denseSolve(kind, A, bf, method);
  } catch (e) {
    if (e instanceof NumericalError) {
      reportInfo({ solver: kind, iterations: 0, residualNorm: Number.NaN, tolerance: Number.POSITIVE_INFINITY, converged: false, error: e.message }, onInfo);
    }
    throw e;
  }
  // The worst member's, inside vmap.
  const residualNorm = noGrad(() => Math.max(...memberNorms([sub(matmul(A, x), bf)])));
  reportInfo({ solver: kind, iterations: 0, residualNorm, tolerance: Number.POSITIVE_INFINITY, converged: Number.isFinite(residualNorm) }, onInfo);
  let off = 0;
  return p.b.map((t) => {
    const part = to(reshape(narrow(x, 0, off, t.numel), t.shape), t.dtype);
    off += t.numel;
    return part;
  });
}
