/**
 * Bisection for a scalar root of F(x, ...args) = 0 on a bracket [lower, upper] (JAXopt's): halves
 * the bracket, keeping the half where F changes sign. Works on 0-d tensors, so the bracket and the
 * root can differ per vmap member.
 */
import { detach } from '../ops/inplace';
import { abs, add, eqMask, gtMask, mul, where } from '../ops/elementwise';
import { to } from '../ops/cast';
import { reshape } from '../ops/shape';
import { scalarOf } from '../ops/util';
import { physicalOf } from '../tensor/batched';
import { type Tensor, isTensor } from '../tensor/tensor';
import { hostRead } from '../tensor/trace';
import { describe, typeError } from '../errors';
import {
  type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced, bool,
  callWithAux, checkSolverOptions, commonOptions, fnOption, initialState, IterativeSolver, memberErrorsOf,
} from './base';

/** Options of {@link Bisection}. */
export interface BisectionOptions extends SolverOptions {
  /** F(x, ...args) for a scalar x, returning a one-element tensor (or `[value, aux]` with `hasAux`). */
  optimalityFun: SolverFn<Tensor>;
  /** Lower end of the bracket (a number or a one-element tensor). */
  lower: number | Tensor;
  /** Upper end of the bracket. */
  upper: number | Tensor;
  /** Check that F changes sign over the bracket (default true). */
  checkBracket?: boolean;
}

/** Bisection's state: the current bracket and F's direction of increase. */
export interface BisectionState extends SolverState {
  /** Lower end of the current bracket. */
  lower: Tensor;
  /** Upper end of the current bracket. */
  upper: Tensor;
  /** 1 where F(upper) > F(lower), else 0. */
  increasing: Tensor;
}

/** A bracket end as a 0-d tensor of `dtype`. */
function endOf(name: string, arg: string, v: unknown): Tensor {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw typeError(`new ${name}`, arg, 'a finite number or a one-element Tensor', v);
    // float64 until F says which dtype the problem has (the bracket then takes F's dtype).
    return scalarOf(v, 'float64');
  }
  if (!isTensor(v) || v.numel !== 1) throw typeError(`new ${name}`, arg, 'a finite number or a one-element Tensor', v);
  return detach(reshape(v, []));
}

/**
 * Bisection on [lower, upper]. `run(initParams, ...args)` ignores `initParams` (pass null). The
 * error is |F(midpoint)|; the optimality condition differentiated by `run` is F(x) = 0.
 * Defaults: maxiter 30, tol 1e-5 (JAXopt's).
 */
export class Bisection extends IterativeSolver<Tensor | null, BisectionState> {
  /** @inheritDoc */
  readonly name = 'Bisection';
  /** F. */
  readonly optimalityFun: UserFunction;
  /** Lower end of the initial bracket. */
  readonly lower: Tensor;
  /** Upper end of the initial bracket. */
  readonly upper: Tensor;
  /** Whether the bracket is checked. */
  readonly checkBracket: boolean;

  /** Checks the options. */
  constructor(opts: BisectionOptions) {
    const name = 'Bisection';
    const o = checkSolverOptions(name, opts, ['optimalityFun', 'lower', 'upper', 'checkBracket']);
    super(commonOptions(name, o, { maxiter: 30, tol: 1e-5 }));
    this.optimalityFun = fnOption(name, 'optimalityFun', o.optimalityFun) as UserFunction;
    this.lower = endOf(name, 'lower', o.lower);
    this.upper = endOf(name, 'upper', o.upper);
    this.checkBracket = bool(name, 'checkBracket', o.checkBracket, true);
  }

  /** F as a 0-d tensor. */
  private f(site: string, x: Tensor, args: unknown[]): [Tensor, unknown] {
    const [v, aux] = callWithAux(site, this.optimalityFun, this.hasAux, [x, ...args]);
    if (!isTensor(v) || v.numel !== 1) throw new TypeError(`${site}: optimalityFun must return a one-element Tensor, got ${describe(v)}`);
    return [reshape(v, []), aux];
  }

  /** Evaluates F at both ends; checks that they bracket a root. */
  init(_initParams: Tensor | null, ...args: unknown[]): BisectionState {
    const site = `${this.name}.run`;
    const [flo] = this.f(site, this.lower, args);
    const [fhi, aux] = this.f(site, this.upper, args);
    if (this.checkBracket) {
      const lo = hostRead(site, physicalOf(flo)[0].data);
      const hi = hostRead(site, physicalOf(fhi)[0].data);
      for (let m = 0; m < Math.max(lo.length, hi.length); m++) {
        const [a, b] = [lo[Math.min(m, lo.length - 1)], hi[Math.min(m, hi.length - 1)]];
        if (!(a * b <= 0)) {
          throw new RangeError(
            `${site}: F(lower) = ${a} and F(upper) = ${b} have the same sign (or are not finite), so [lower, upper] does not bracket a root; widen the bracket`,
          );
        }
      }
    }
    const dtype = flo.dtype;
    return {
      ...initialState(2, aux),
      lower: to(this.lower, dtype),
      upper: to(this.upper, dtype),
      increasing: gtMask(fhi, flo),
    };
  }

  /** The initial guess is ignored (pass null). @internal */
  protected override checkInit(): void {}

  /** The midpoint of the initial bracket. */
  protected override start(_initParams: Tensor | null, state: BisectionState): Tensor {
    return mul(add(state.lower, state.upper), 0.5);
  }

  /** Halves the bracket. */
  update(_params: Tensor | null, state: BisectionState, ...args: unknown[]): SolverStep<Tensor | null, BisectionState> {
    const mid = mul(add(state.lower, state.upper), 0.5);
    const [v, aux] = this.f(`${this.name}.update`, mid, args);
    // The root is below mid where F(mid) has F(upper)'s sign.
    const below = eqMask(gtMask(v, 0), state.increasing);
    const errs = memberErrorsOf(abs(v));
    return {
      params: mid,
      state: {
        ...state,
        ...advanced(state, errs, 1, aux),
        lower: where(below, state.lower, mid),
        upper: where(below, mid, state.upper),
      },
    };
  }

  /** F(x). */
  optimality(params: Tensor | null, ...args: unknown[]): unknown {
    if (params === null) throw new TypeError(`${this.name}.optimality: params must be a Tensor, got null`);
    return this.f(`${this.name}.optimality`, params, args)[0];
  }
}
