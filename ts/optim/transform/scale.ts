/** Scaling updates by a fixed factor (TorchOpt's `transform.scale`). */
import { isTensor } from '../../tensor/tensor';
import { arith } from '../arith';
import type { EmptyState } from '../combine';
import { fromFlat } from '../flat';
import { finite } from '../options';
import type { FlatTransformation, GradientTransformation, Scalar } from '../types';

/** Flat form; `factor` is read at each update (so a tensor factor is re-read, never cached as a graph node). @internal */
export function scaleFlat(factor: () => Scalar): FlatTransformation<EmptyState> {
  return {
    init: () => ({}),
    update: (updates, state, ctx) => {
      const A = arith(ctx.inplace);
      const s = factor();
      return [updates.map((g) => (g === null ? null : A.mul(g, s))), state];
    },
  };
}

/** Multiplies every update by `stepSize` (a number or a one-element tensor). */
export function scale(stepSize: Scalar): GradientTransformation<EmptyState> {
  if (!isTensor(stepSize)) finite('scale', 'stepSize', stepSize, 0);
  return fromFlat('scale', scaleFlat(() => stepSize));
}
