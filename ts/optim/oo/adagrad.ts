/** `AdaGrad`: PyTorch-style AdaGrad over `.grad` (TorchOpt's `optim.AdaGrad`). */
import { ADAGRAD_OPTIONS, type AdaGradOptions, buildAdagrad } from '../alias/adagrad';
import { Optimizer, type OptimizerParams, optionDefaults } from './optimizer';

/** Options of {@link AdaGrad} and of its parameter groups. */
export type AdaGradGroupOptions = AdaGradOptions;

/** PyTorch's defaults, listed in every parameter group. */
const DEFAULTS: Partial<AdaGradGroupOptions> = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

const ALLOWED: readonly string[] = ADAGRAD_OPTIONS;

/** AdaGrad with learning-rate decay; the same update rule as {@link adagrad}. */
export class AdaGrad extends Optimizer<AdaGradGroupOptions> {
  /** `new AdaGrad(model.parameters(), { lr })`, or parameter groups `[{ params, lr }, …]` with `opts` as their defaults. */
  constructor(params: OptimizerParams<AdaGradGroupOptions>, opts?: Partial<AdaGradGroupOptions>) {
    super(params, { name: 'AdaGrad', defaults: optionDefaults('AdaGrad', opts, ALLOWED, DEFAULTS), build: (o) => buildAdagrad('AdaGrad', o, ALLOWED) });
  }
}
