/** `Adam`: PyTorch-style Adam over `.grad` (TorchOpt's `optim.Adam`). */
import { ADAM_OPTIONS, type AdamOptions, buildAdam } from '../alias/adam';
import { Optimizer, type OptimizerParams, optionDefaults } from './optimizer';

/** Options of {@link Adam} and of its parameter groups. */
export type AdamGroupOptions = Omit<AdamOptions, 'momentRequiresGrad'>;

/** PyTorch's defaults, listed in every parameter group. */
const DEFAULTS: Partial<AdamGroupOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, epsRoot: 0, maximize: false };

const ALLOWED: readonly string[] = ADAM_OPTIONS.filter((k) => k !== 'momentRequiresGrad');

/** Adam with L2 weight decay, epsRoot and maximize; the same update rule as {@link adam}. */
export class Adam extends Optimizer<AdamGroupOptions> {
  /** `new Adam(model.parameters(), { lr })`, or parameter groups `[{ params, lr }, …]` with `opts` as their defaults. */
  constructor(params: OptimizerParams<AdamGroupOptions>, opts?: Partial<AdamGroupOptions>) {
    super(params, { name: 'Adam', defaults: optionDefaults('Adam', opts, ALLOWED, DEFAULTS), build: (o) => buildAdam('Adam', o, ALLOWED) });
  }
}
