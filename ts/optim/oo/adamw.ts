/** `AdamW`: PyTorch-style AdamW over `.grad` (TorchOpt's `optim.AdamW`). */
import { ADAMW_OPTIONS, type AdamWOptions, buildAdamw } from '../alias/adamw';
import { Optimizer, type OptimizerParams, optionDefaults } from './optimizer';

/** Options of {@link AdamW} and of its parameter groups. */
export type AdamWGroupOptions = Omit<AdamWOptions, 'momentRequiresGrad'>;

/** PyTorch's defaults, listed in every parameter group. */
const DEFAULTS: Partial<AdamWGroupOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, epsRoot: 0, maximize: false };

const ALLOWED: readonly string[] = ADAMW_OPTIONS.filter((k) => k !== 'momentRequiresGrad');

/** AdamW: Adam with decoupled weight decay (default 1e-2) and an optional mask; the same update rule as {@link adamw}. */
export class AdamW extends Optimizer<AdamWGroupOptions> {
  /** `new AdamW(model.parameters(), { lr })`, or parameter groups `[{ params, lr }, …]` with `opts` as their defaults. */
  constructor(params: OptimizerParams<AdamWGroupOptions>, opts?: Partial<AdamWGroupOptions>) {
    super(params, { name: 'AdamW', defaults: optionDefaults('AdamW', opts, ALLOWED, DEFAULTS), build: (o) => buildAdamw('AdamW', o, ALLOWED) });
  }
}
