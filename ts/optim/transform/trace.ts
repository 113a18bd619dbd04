/** Momentum: a trace of past updates (TorchOpt's `transform.trace`, PyTorch SGD's momentum buffer). */
import { zerosLike } from '../../ops/creation';
import { arith } from '../arith';
import { type EmptyState, identity } from '../combine';
import { checkAligned, checkState, fromFlat } from '../flat';
import { bool, nonNegative, readOptions } from '../options';
import type { GradientTransformation, Leaf } from '../types';

/** Options of {@link trace}. */
export interface TraceOptions {
  /** Decay of the trace (default 0.9); 0 makes `trace` the identity. */
  momentum?: number;
  /** Dampening of the incoming update (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Create the trace as tensors that require grad, for differentiating through the optimizer. */
  momentRequiresGrad?: boolean;
}

/** State of {@link trace}. */
export interface TraceState {
  /** The momentum buffer of each leaf. */
  trace: Leaf[];
  /** Updates seen by each leaf: the first one starts the buffer, as PyTorch's `clone(grad)`. */
  count: number[];
}

/** The error for Nesterov momentum without momentum or with dampening (PyTorch's rule). @internal */
export function nesterovError(fn: string, momentum: number, dampening: number): RangeError {
  return new RangeError(`${fn}: argument 'nesterov' needs momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`);
}

const OPTIONS = ['momentum', 'dampening', 'nesterov', 'momentRequiresGrad'] as const;

/**
 * Keeps trace ← momentum·trace + (1 − dampening)·g (trace ← g on a leaf's first update, as
 * PyTorch) and returns the trace, or g + momentum·trace with Nesterov.
 */
export function trace(opts?: TraceOptions): GradientTransformation<TraceState | EmptyState> {
  const fn = 'trace';
  const o = readOptions(fn, opts, OPTIONS);
  const momentum = nonNegative(fn, 'momentum', o.momentum, 0.9);
  const dampening = nonNegative(fn, 'dampening', o.dampening, 0);
  const nesterov = bool(fn, 'nesterov', o.nesterov, false);
  const momentRequiresGrad = bool(fn, 'momentRequiresGrad', o.momentRequiresGrad, false);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw nesterovError(fn, momentum, dampening);
  }
  if (momentum === 0) return identity();
  return fromFlat<TraceState>(fn, {
    init: (params) => ({
      trace: params.map((p) => (p === null ? null : zerosLike(p, { requiresGrad: momentRequiresGrad }))),
      count: params.map(() => 0),
    }),
    update: (updates, state, ctx) => {
      const s = checkState<TraceState>(ctx, state, ['trace', 'count']);
      checkAligned(ctx, 'trace', s.trace, updates.length);
      const A = arith(ctx.inplace);
      const newTrace = s.trace.slice();
      const out = updates.map((g, i) => {
        const t = s.trace[i];
        if (g === null || t === null) return g;
        const first = s.count[i] === 0;
        const nt = first ? A.add(t, g) : A.add(A.mul(t, momentum), g, nesterov ? 1 : 1 - dampening);
        newTrace[i] = nt;
        return nesterov ? A.add(g, nt, momentum) : A.copy(g, nt);
      });
      return [out, { trace: newTrace, count: s.count.map((c, i) => (updates[i] === null ? c : c + 1)) }];
    },
  });
}
