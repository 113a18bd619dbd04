/** `RMSProp`: PyTorch-style RMSProp over `.grad` (TorchOpt's `optim.RMSProp`). */
import { RMSPROP_OPTIONS, type RMSPropOptions, buildRmsprop } from '../alias/rmsprop';
import { Optimizer, type OptimizerParams, optionDefaults } from './optimizer';

/** Options of {@link RMSProp} and of its parameter groups. */
export type RMSPropGroupOptions = RMSPropOptions;

/** PyTorch's defaults, listed in every parameter group. */
const DEFAULTS: Partial<RMSPropGroupOptions> = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, initialScale: 0, nesterov: false, maximize: false };

const ALLOWED: readonly string[] = RMSPROP_OPTIONS;

/** RMSProp, plain or centered, with momentum; the same update rule as {@link rmsprop}. */
export class RMSProp extends Optimizer<RMSPropGroupOptions> {
  /** `new RMSProp(model.parameters(), { lr })`, or parameter groups `[{ params, lr }, …]` with `opts` as their defaults. */
  constructor(params: OptimizerParams<RMSPropGroupOptions>, opts?: Partial<RMSPropGroupOptions>) {
    super(params, { name: 'RMSProp', defaults: optionDefaults('RMSProp', opts, ALLOWED, DEFAULTS), build: (o) => buildRmsprop('RMSProp', o, ALLOWED) });
  }
}
