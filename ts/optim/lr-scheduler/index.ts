/**
 * `mg.lrScheduler`: learning-rate schedulers for the object-oriented optimizers (PyTorch's
 * `torch.optim.lr_scheduler`): each sets `optimizer.paramGroups[i].lr` from the group's initial
 * learning rate and the epoch count, by the closed form of PyTorch's scheduler. `step()` after
 * each `optimizer.step()` (once per epoch), `getLastLr()` for the current values.
 *
 * @module
 */
import { typeError } from '../../errors';
import type { Optimizer } from '../oo/optimizer';

/** The base class: keeps the initial learning rates and the epoch count. */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this sets. */
  readonly optimizer: Optimizer<object>;
  /** Each group's learning rate when the scheduler was made. */
  readonly baseLrs: number[];
  /** Epochs stepped (0 after construction, as PyTorch's `last_epoch`). */
  lastEpoch = -1;
  private last: number[] = [];

  protected constructor(name: string, optimizer: Optimizer<object>) {
    if (typeof optimizer !== 'object' || optimizer === null || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw typeError(`new ${name}`, 'optimizer', 'an optimizer (mg.SGD, mg.Adam, …)', optimizer);
    }
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g, i) => {
      const lr = (g as { lr?: unknown }).lr;
      if (typeof lr !== 'number' || !Number.isFinite(lr)) throw typeError(`new ${name}`, `optimizer.paramGroups[${i}].lr`, 'a number (a scheduler sets it; schedules as lr are for the functional optimizers)', lr);
      return lr;
    });
  }

  /** The learning rate of group `i` at `epoch`. */
  protected abstract lrAt(epoch: number, base: number, group: number): number;

  /** Advances one epoch and sets every group's `lr`. */
  step(): void {
    this.lastEpoch++;
    this.last = this.baseLrs.map((b, i) => this.lrAt(this.lastEpoch, b, i));
    this.optimizer.paramGroups.forEach((g, i) => {
      (g as unknown as { lr: number }).lr = this.last[i];
    });
  }

  /** The learning rates set by the last `step()` (one per group). */
  getLastLr(): number[] {
    return this.last.slice();
  }
}

function positive(name: string, arg: string, v: unknown, int = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (int && !Number.isInteger(v))) throw typeError(`new ${name}`, arg, int ? 'a positive integer' : 'a positive number', v);
  return v;
}

/** lr = base · γ^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Decay factor (default 0.1). */
  readonly gamma: number;
  /** `new StepLR(optimizer, { stepSize, gamma = 0.1 })`. */
  constructor(optimizer: Optimizer<object>, opts: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer);
    this.stepSize = positive('StepLR', 'stepSize', opts?.stepSize, true);
    this.gamma = positive('StepLR', 'gamma', opts.gamma ?? 0.1);
    this.step();
  }
  /** @internal */
  protected lrAt(epoch: number, base: number): number {
    return base * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** lr = base · γ^epoch. */
export class ExponentialLR extends LRScheduler {
  /** Decay factor per epoch. */
  readonly gamma: number;
  /** `new ExponentialLR(optimizer, { gamma })`. */
  constructor(optimizer: Optimizer<object>, opts: { gamma: number }) {
    super('ExponentialLR', optimizer);
    this.gamma = positive('ExponentialLR', 'gamma', opts?.gamma);
    this.step();
  }
  /** @internal */
  protected lrAt(epoch: number, base: number): number {
    return base * this.gamma ** epoch;
  }
}

/** lr = ηmin + (base − ηmin)(1 + cos(π·epoch/T_max))/2 (SGDR without restarts; periodic past T_max). */
export class CosineAnnealingLR extends LRScheduler {
  /** Half period in epochs. */
  readonly tMax: number;
  /** Minimum learning rate (default 0). */
  readonly etaMin: number;
  /** `new CosineAnnealingLR(optimizer, { tMax, etaMin = 0 })`. */
  constructor(optimizer: Optimizer<object>, opts: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    this.tMax = positive('CosineAnnealingLR', 'tMax', opts?.tMax, true);
    const etaMin = opts.etaMin ?? 0;
    if (typeof etaMin !== 'number' || !Number.isFinite(etaMin) || etaMin < 0) throw typeError('new CosineAnnealingLR', 'etaMin', 'a non-negative number', etaMin);
    this.etaMin = etaMin;
    this.step();
  }
  /** @internal */
  protected lrAt(epoch: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/** lr = base · λ(epoch), with one λ for every group or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];
  /** `new LambdaLR(optimizer, { lrLambda })`. */
  constructor(optimizer: Optimizer<object>, opts: { lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[] }) {
    super('LambdaLR', optimizer);
    const l = opts?.lrLambda;
    const list = Array.isArray(l) ? l : this.baseLrs.map(() => l);
    if (list.length !== this.baseLrs.length || !list.every((f) => typeof f === 'function')) {
      throw typeError('new LambdaLR', 'lrLambda', `a function of the epoch, or an array of ${this.baseLrs.length} (one per parameter group)`, l);
    }
    this.lambdas = list as ((epoch: number) => number)[];
    this.step();
  }
  /** @internal */
  protected lrAt(epoch: number, base: number, group: number): number {
    const f = this.lambdas[group](epoch);
    if (typeof f !== 'number' || !Number.isFinite(f)) throw new TypeError(`LambdaLR.step: lrLambda returned ${String(f)} at epoch ${epoch}; expected a finite number`);
    return base * f;
  }
}
