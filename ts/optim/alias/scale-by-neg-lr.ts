/** The last step of every alias: multiply by −lr, a fixed learning rate or a schedule's value. */
import * as el from '../../ops/elementwise';
import { isTensor } from '../../tensor/tensor';
import { fromFlat } from '../flat';
import { scaleFlat } from '../transform/scale';
import { scaleBySchedule } from '../transform/scale-by-schedule';
import type { GradientTransformation, Scalar, ScalarOrSchedule } from '../types';

function negate(v: Scalar): Scalar {
  return isTensor(v) ? el.neg(v) : -v;
}

/** Scales updates by −lr; with a schedule, by −lr(count) (the state then counts updates). */
export function scaleByNegLr(lr: ScalarOrSchedule): GradientTransformation {
  if (typeof lr === 'function') return scaleBySchedule((count) => negate(lr(count)));
  // A tensor lr is negated at each update so every step gets its own graph node.
  return fromFlat('scaleByNegLr', scaleFlat(() => negate(lr)));
}
