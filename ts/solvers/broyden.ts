/**
 * Broyden: limited-memory "good" Broyden (Broyden 1965, eq. 4.5; JAXopt's and TorchDEQ's
 * `broyden`) for roots of F(x) = 0, or for fixed points x = T(x) through F(x) = T(x) − x. The
 * inverse Jacobian estimate is H = γI + Σ_j c_j d_jᵀ, updated by a rank-one secant correction
 * each step (c = Δx − HΔg, d = HᵀΔx / ⟨HᵀΔx, Δg⟩); the step is x ← x − t·H F(x).
 */
import { add, eqMask, mul, reciprocal, sub, where } from '../ops/elementwise';
import { stack } from '../ops/indexing';
import { matmul } from '../ops/matmul';
import { t as transpose } from '../ops/shape';
import type { Tensor } from '../tensor/tensor';
import { treeNorm, treeSub, treeVdotT } from '../tree/tree-math';
import { typeError } from '../errors';
import {
  type UserFunction, IterativeSolver, type SolverFn, type SolverOptions, type SolverState, type SolverStep,
  advanced, callWithAux, checkLike, fixedPointResidual, pushHistory, checkSolverOptions, commonOptions, fnOption, initialState, memberErrorsOf, numberAbove, positiveInt, worst,
} from './base';
import { backtrack, lineSearchOptions, refuseInVmap } from './line-search';
import { layoutOf, ravel, unravel } from '../tree/tree-vector';

/** Options of {@link Broyden}: exactly one of `fun` (roots) and `fixedPointFun` (fixed points). */
export interface BroydenOptions<P = unknown> extends SolverOptions {
  /** F(x, ...args) whose root is sought, a tree shaped like x. */
  fun?: SolverFn<P>;
  /** T(x, ...args) whose fixed point is sought (F = T(x) − x). */
  fixedPointFun?: SolverFn<P>;
  /** Number of secant pairs kept (default: maxiter, i.e. full memory). */
  historySize?: number;
  /** Initial inverse Jacobian γI (default 1 for `fun`, −1 for `fixedPointFun`, where J_F ≈ −I). */
  gamma?: number;
  /** Fixed step t (default 1); 0 searches it by backtracking on ‖F‖² (not under vmap). */
  stepsize?: number;
  /** Attempts of the line search (default 15). */
  maxls?: number;
  /** Backtracking factor (default 0.5). */
  decreaseFactor?: number;
}

/** Broyden's state. */
export interface BroydenState extends SolverState {
  /** F at the current iterate (flat). */
  value: Tensor;
  /** Secant vectors c_j = Δx − HΔg (flat), oldest first. */
  cHistory: Tensor[];
  /** Secant vectors d_j = HᵀΔx / ⟨HᵀΔx, Δg⟩ (flat), oldest first. */
  dHistory: Tensor[];
  /** The last step t. */
  stepsize: number;
}

/**
 * Limited-memory Broyden for roots (`fun`) or fixed points (`fixedPointFun`). The error is ‖F(x)‖;
 * the optimality condition differentiated by `run` is F(x) = 0. Defaults: maxiter 500, tol 1e-3
 * (JAXopt's).
 */
export class Broyden<P = unknown> extends IterativeSolver<P, BroydenState> {
  /** @inheritDoc */
  readonly name = 'Broyden';
  /** The residual F (T(x) − x for a fixed point). */
  readonly fun: UserFunction;
  /** Whether the user gave a fixed-point map. */
  readonly fixedPoint: boolean;
  /** Secant pairs kept. */
  readonly historySize: number;
  /** γ of the initial inverse Jacobian. */
  readonly gamma: number;
  /** Step (0: line search). */
  readonly stepsize: number;
  /** Line-search attempts. */
  readonly maxls: number;
  /** Line-search factor. */
  readonly decreaseFactor: number;
  private readonly user: UserFunction;

  /** Checks the options. */
  constructor(opts: BroydenOptions<P>) {
    const name = 'Broyden';
    const o = checkSolverOptions(name, opts, ['fun', 'fixedPointFun', 'historySize', 'gamma', 'stepsize', 'maxls', 'decreaseFactor']);
    const c = commonOptions(name, o, { maxiter: 500, tol: 1e-3 });
    super(c);
    if ((o.fun === undefined) === (o.fixedPointFun === undefined)) {
      throw typeError(`new ${name}`, 'fun', "exactly one of 'fun' (a root) and 'fixedPointFun' (a fixed point)", o.fun ?? o.fixedPointFun);
    }
    this.fixedPoint = o.fixedPointFun !== undefined;
    this.user = fnOption(name, this.fixedPoint ? 'fixedPointFun' : 'fun', o.fixedPointFun ?? o.fun) as UserFunction;
    this.fun = this.fixedPoint
      ? (x: unknown, ...a: unknown[]) => {
          if (!this.hasAux) return fixedPointResidual(name, this.user, false, x, a);
          // With aux the map is evaluated once for both.
          const [tx, aux] = callWithAux(name, this.user, true, [x, ...a]);
          checkLike(name, 'fixedPointFun', tx, x);
          return [treeSub(tx, x), aux];
        }
      : this.user;
    this.historySize = positiveInt(name, 'historySize', o.historySize, c.maxiter);
    if (o.gamma !== undefined && (typeof o.gamma !== 'number' || !Number.isFinite(o.gamma) || o.gamma === 0)) throw typeError(`new ${name}`, 'gamma', 'a finite non-zero number', o.gamma);
    this.gamma = o.gamma ?? (this.fixedPoint ? -1 : 1);
    this.stepsize = numberAbove(name, 'stepsize', o.stepsize, 1, 0, true);
    ({ maxls: this.maxls, decreaseFactor: this.decreaseFactor } = lineSearchOptions(name, o, 15));
  }

  /** F at the initial point; its norm is the initial error (a root stops at once). */
  init(initParams: P, ...args: unknown[]): BroydenState {
    const [value, aux] = callWithAux(`${this.name}.init`, this.fun, this.hasAux, [initParams, ...args]);
    checkLike(`${this.name}.run`, this.fixedPoint ? 'fixedPointFun' : 'fun', value, initParams);
    const errs = memberErrorsOf(value);
    return { ...initialState(1, aux), memberErrors: errs, error: worst(errs), value: ravel(value), cHistory: [], dHistory: [], stepsize: this.stepsize || 1 };
  }

  /** H v = γv + Σ c_j ⟨d_j, v⟩ (Hᵀ with the roles of c and d swapped). */
  private apply(c: Tensor[], d: Tensor[], v: Tensor): Tensor {
    const gv = mul(v, this.gamma);
    if (c.length === 0) return gv;
    return add(gv, matmul(transpose(stack(c, 0)), matmul(stack(d, 0), v)));
  }

  /** One Broyden step and secant update. */
  update(params: P, state: BroydenState, ...args: unknown[]): SolverStep<P, BroydenState> {
    const layout = layoutOf(params);
    const x = ravel(params);
    const dir = mul(this.apply(state.cHistory, state.dHistory, state.value), -1);
    const evalAt = (t: number): [Tensor, unknown, unknown] => {
      const xn = add(x, mul(dir, t));
      const [v, aux] = callWithAux(`${this.name}.update`, this.fun, this.hasAux, [unravel(xn, layout), ...args]);
      return [xn, ravel(v), aux];
    };
    let t = this.stepsize;
    let evals = 1;
    let xn: Tensor;
    let fn: Tensor;
    let aux: unknown;
    if (t > 0) {
      [xn, fn, aux] = evalAt(t) as [Tensor, Tensor, unknown];
    } else {
      // Sufficient decrease of ‖F‖² along the (approximate) Newton direction.
      refuseInVmap(`${this.name}.update`);
      const f0 = treeNorm(state.value) ** 2;
      const ls = backtrack(`${this.name}.update`, Math.min(1, state.stepsize / this.decreaseFactor), this.decreaseFactor, this.maxls, (s) => {
        const r = evalAt(s);
        return [treeNorm(r[1]) ** 2 <= (1 - 1e-4 * s) * f0, r];
      });
      [xn, fn, aux] = ls.result as [Tensor, Tensor, unknown];
      t = ls.stepsize;
      evals = ls.evals;
    }
    const dx = sub(xn, x);
    const dg = sub(fn, state.value);
    const v = this.apply(state.dHistory, state.cHistory, dx);
    const denom = treeVdotT(v, dg);
    // A zero denominator (no progress, or a frozen vmap member) leaves H unchanged.
    const inv = where(eqMask(denom, 0), 0, reciprocal(where(eqMask(denom, 0), 1, denom)));
    const d = mul(v, inv);
    const c = mul(sub(dx, this.apply(state.cHistory, state.dHistory, dg)), where(eqMask(denom, 0), 0, 1));
    const errs = memberErrorsOf(fn);
    return {
      params: unravel<P>(xn, layout),
      state: {
        ...state,
        ...advanced(state, errs, evals, aux),
        value: fn,
        cHistory: pushHistory(state.cHistory, c, this.historySize),
        dHistory: pushHistory(state.dHistory, d, this.historySize),
        stepsize: t,
      },
    };
  }

  /** F(x) (T(x) − x for a fixed point). */
  optimality(params: P, ...args: unknown[]): unknown {
    return callWithAux(`${this.name}.optimality`, this.fun, this.hasAux, [params, ...args])[0];
  }
}
