/**
 * Cumulative sum along a dim (PyTorch's `cumsum`). Its backward is the reversed cumulative sum,
 * written with cumsum itself (Σ_dim g − cumsum(g) + g), so derivatives of any order are exact.
 * The loop runs in JavaScript (no native form yet: under mg.jit it is refused).
 */
import { record } from '../autograd/node';
import { allocate, isFloating } from '../tensor/dtype';
import { castExact, to } from './cast';
import { batchedOf, isBatched } from '../tensor/batched';
import { normalizeDim, numelOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { add, sub } from './elementwise';
import { sum } from './reduce';
import { checkTensor, wrap } from './util';

/** Cumulative sum of `a` along `dim`. */
export function cumsum(a: Tensor, dim: number): Tensor {
  checkTensor('cumsum', 'input', a);
  const d = normalizeDim('cumsum', dim, a.ndim);
  if (isBatched(a)) return batchedOf(cumsum(a.value, d + a.levels.length), a.levels);
  // Integer and bool inputs sum to int64, as in PyTorch (exactly, through float64).
  if (!isFloating(a.dtype)) return castExact(cumsum(to(a, 'float64'), d), 'int64');
  if (a.ndim === 0) return record('CumsumBackward0', [a], wrap(a.data.slice(), []), (g) => [g]);
  const len = a.shape[d];
  const inner = numelOf(a.shape.slice(d + 1));
  const outer = numelOf(a.shape.slice(0, d));
  const x = hostRead('cumsum', a.data);
  const out = allocate(a.dtype, a.numel, 'cumsum');
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = 0;
      for (let k = 0, j = o * len * inner + i; k < len; k++, j += inner) {
        acc += x[j];
        out[j] = acc;
      }
    }
  }
  return record('CumsumBackward0', [a], wrap(out, a.shape), (g) => [add(sub(sum(g, d, true), cumsum(g, d)), g)]);
}
