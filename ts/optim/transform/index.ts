/** `mg.transform`: the gradient transformations the optimizers are chained from (TorchOpt's `torchopt.transform`).
 *
 * @module
 */
export { addDecayedWeights } from './add-decayed-weights';
export { masked, type Mask, type MaskedState } from './masked';
export { scale } from './scale';
export { scaleByAdam, type ScaleByAdamOptions, type ScaleByAdamState } from './scale-by-adam';
export { scaleByRms, type ScaleByRmsOptions, type ScaleByRmsState } from './scale-by-rms';
export { scaleByRss, type ScaleByRssOptions, type ScaleByRssState } from './scale-by-rss';
export { scaleBySchedule, type ScaleByScheduleState } from './scale-by-schedule';
export { scaleByStddev, type ScaleByStddevOptions, type ScaleByStddevState } from './scale-by-stddev';
export { trace, type TraceOptions, type TraceState } from './trace';
