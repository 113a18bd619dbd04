/** Scaling updates by a scheduled factor (TorchOpt's `transform.scale_by_schedule`). */
import { typeError } from '../../errors';
import { arith } from '../arith';
import { checkAligned, checkState, fromFlat } from '../flat';
import type { FlatTransformation, GradientTransformation, Schedule } from '../types';

/** State of {@link scaleBySchedule}: per leaf, how many updates it has had. */
export interface ScaleByScheduleState {
  /** Update count of each leaf (leaves with a null update are not counted). */
  count: number[];
}

/** Flat form. @internal */
export function scaleByScheduleFlat(stepSizeFn: Schedule): FlatTransformation<ScaleByScheduleState> {
  return {
    init: (params) => ({ count: params.map(() => 0) }),
    update: (updates, state, ctx) => {
      const { count } = checkState<ScaleByScheduleState>(ctx, state, ['count']);
      checkAligned(ctx, 'count', count, updates.length);
      const A = arith(ctx.inplace);
      const out = updates.map((g, i) => (g === null ? null : A.mul(g, stepSizeFn(count[i]))));
      return [out, { count: count.map((c, i) => (updates[i] === null ? c : c + 1)) }];
    },
  };
}

/** Multiplies each update by `stepSizeFn(count)`, count being the number of earlier updates (0 first). */
export function scaleBySchedule(stepSizeFn: Schedule): GradientTransformation<ScaleByScheduleState> {
  if (typeof stepSizeFn !== 'function') throw typeError('scaleBySchedule', 'stepSizeFn', 'a function count -> step size', stepSizeFn);
  return fromFlat('scaleBySchedule', scaleByScheduleFlat(stepSizeFn));
}
