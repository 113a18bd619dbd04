/** `SGD`: PyTorch-style SGD over `.grad` (TorchOpt's `optim.SGD`). */
import { SGD_OPTIONS, type SGDOptions, buildSgd } from '../alias/sgd';
import { Optimizer, type OptimizerParams, optionDefaults } from './optimizer';

/** Options of {@link SGD} and of its parameter groups. */
export type SGDGroupOptions = Omit<SGDOptions, 'momentRequiresGrad'>;

/** PyTorch's defaults, listed in every parameter group. */
const DEFAULTS: Partial<SGDGroupOptions> = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

const ALLOWED: readonly string[] = SGD_OPTIONS.filter((k) => k !== 'momentRequiresGrad');

/** Stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize; the same update rule as {@link sgd}. */
export class SGD extends Optimizer<SGDGroupOptions> {
  /** `new SGD(model.parameters(), { lr })`, or parameter groups `[{ params, lr }, …]` with `opts` as their defaults. */
  constructor(params: OptimizerParams<SGDGroupOptions>, opts?: Partial<SGDGroupOptions>) {
    super(params, { name: 'SGD', defaults: optionDefaults('SGD', opts, ALLOWED, DEFAULTS), build: (o) => buildSgd('SGD', o, ALLOWED) });
  }
}
