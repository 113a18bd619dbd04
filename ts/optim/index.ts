/**
 * Optimizers: functional gradient transformations (TorchOpt/Optax style), their composition and
 * schedules, PyTorch-style optimizer classes sharing the same update rules, and `metaStep` for
 * differentiable (unrolled) steps.
 */
export type { GradientTransformation, OptState, Scalar, Schedule, ScalarOrSchedule, UpdateOptions } from './types';
export { chain, identity, type EmptyState } from './combine';
export { applyUpdates, type ApplyUpdatesOptions } from './update';
export { metaStep } from './meta-step';
export { FuncOptimizer, type FuncOptimizerOptions } from './func-optimizer';
export { sgd, type SGDOptions } from './alias/sgd';
export { adam, type AdamOptions } from './alias/adam';
export { adamw, type AdamWOptions } from './alias/adamw';
export { rmsprop, type RMSPropOptions } from './alias/rmsprop';
export { adagrad, type AdaGradOptions } from './alias/adagrad';
export {
  Optimizer, type OptimizerParams, type OptimizerSpec, type OptimizerStateDict, type ParamGroup, type ParamGroupInput,
  type ParamTree, type ZeroGradOptions,
} from './oo/optimizer';
export { SGD, type SGDGroupOptions } from './oo/sgd';
export { Adam, type AdamGroupOptions } from './oo/adam';
export { AdamW, type AdamWGroupOptions } from './oo/adamw';
export { RMSProp, RMSProp as RMSprop, type RMSPropGroupOptions } from './oo/rmsprop';
export { AdaGrad, AdaGrad as Adagrad, type AdaGradGroupOptions } from './oo/adagrad';
export * as schedule from './schedule/index';
export * as lrScheduler from './lr-scheduler/index';
export * as transform from './transform/index';
export { MetaOptimizer, MetaSGD, MetaAdam } from './meta/meta-optimizer';
