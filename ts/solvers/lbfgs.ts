/**
 * LBFGS for min_x f(x, ...args) (Nocedal & Wright, Algorithm 7.4: the two-loop recursion over the
 * last m curvature pairs, initial scaling γ = sᵀy / yᵀy), with an Armijo backtracking line search
 * or a fixed step. Pairs without positive curvature (sᵀy ≤ 0) are neutralised (weight 0) rather
 * than corrupting the estimate. The scalars are tensors, so a fixed-step LBFGS runs under vmap.
 */
import { valueAndGrad } from '../func/transforms';
import { add, div, gtMask, mul, reciprocal, sub, where } from '../ops/elementwise';
import type { Tensor } from '../tensor/tensor';
import { treeVdot, treeVdotT } from '../tree/tree-math';
import {
  type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced, bool,
  checkSolverOptions, commonOptions, fnOption, gradientOf, initialState, IterativeSolver, memberErrorsOf,
  numberAbove, positiveInt, pushHistory, scalarObjective, SolverFailure, worst,
} from './base';
import { backtrack, lineSearchOptions, refuseInVmap } from './line-search';
import { type Layout, layoutOf, ravel, unravel } from '../tree/tree-vector';

/** Options of {@link LBFGS}. */
export interface LBFGSOptions<P = unknown> extends SolverOptions {
  /** f(x, ...args), a one-element tensor (or `[value, aux]` with `hasAux`). */
  fun: SolverFn<P>;
  /** Curvature pairs kept (default 10; 0 is gradient descent with the line search). */
  historySize?: number;
  /** Fixed step (> 0), or 0 (default) for an Armijo backtracking search from 1 (not under vmap). */
  stepsize?: number;
  /** Scale the initial inverse Hessian by sᵀy / yᵀy (default true). */
  useGamma?: boolean;
  /** Attempts of the line search (default 30). */
  maxls?: number;
  /** Backtracking factor (default 0.5). */
  decreaseFactor?: number;
}

/** LBFGS's state. */
export interface LBFGSState extends SolverState {
  /** f at the iterate. */
  value: Tensor;
  /** ∇f at the iterate (flat). */
  grad: Tensor;
  /** Steps s = Δx of the curvature pairs (flat), oldest first. */
  sHistory: Tensor[];
  /** Gradient changes y = Δ∇f of the pairs (flat). */
  yHistory: Tensor[];
  /** Weights 1/sᵀy of the pairs (0 for a neutralised pair). */
  rhoHistory: Tensor[];
  /** The last step length. */
  stepsize: number;
}

/**
 * Limited-memory BFGS. The error is ‖∇f(x)‖; the optimality condition differentiated by `run` is
 * ∇f(x) = 0. Defaults: maxiter 500, tol 1e-3, historySize 10 (JAXopt's).
 */
export class LBFGS<P = unknown> extends IterativeSolver<P, LBFGSState> {
  /** @inheritDoc */
  readonly name = 'LBFGS';
  /** f. */
  readonly fun: UserFunction;
  /** Pairs kept. */
  readonly historySize: number;
  /** Fixed step (0: line search). */
  readonly stepsize: number;
  /** Whether γ scaling is used. */
  readonly useGamma: boolean;
  /** Line-search attempts. */
  readonly maxls: number;
  /** Line-search factor. */
  readonly decreaseFactor: number;

  /** Checks the options. */
  constructor(opts: LBFGSOptions<P>) {
    const name = 'LBFGS';
    const o = checkSolverOptions(name, opts, ['fun', 'historySize', 'stepsize', 'useGamma', 'maxls', 'decreaseFactor']);
    super(commonOptions(name, o, { maxiter: 500, tol: 1e-3 }));
    this.fun = fnOption(name, 'fun', o.fun) as UserFunction;
    this.historySize = positiveInt(name, 'historySize', o.historySize, 10, 0);
    this.stepsize = numberAbove(name, 'stepsize', o.stepsize, 0, 0, true);
    this.useGamma = bool(name, 'useGamma', o.useGamma, true);
    ({ maxls: this.maxls, decreaseFactor: this.decreaseFactor } = lineSearchOptions(name, o, 30));
  }

  /** [f, ∇f (flat), aux] at x. */
  private valueGrad(site: string, x: unknown, args: unknown[]): [Tensor, Tensor, unknown] {
    const out = valueAndGrad(scalarObjective(site, this.fun, this.hasAux), { hasAux: this.hasAux })(x, ...args) as [unknown, unknown];
    const [value, aux] = this.hasAux ? (out[0] as [unknown, unknown]) : [out[0], undefined];
    return [value as Tensor, ravel(out[1]), aux];
  }

  /** f and ∇f at the initial point (a stationary point stops at once). */
  init(initParams: P, ...args: unknown[]): LBFGSState {
    const [value, g, aux] = this.valueGrad(`${this.name}.init`, initParams, args);
    const errs = memberErrorsOf(g);
    return { ...initialState(1, aux), memberErrors: errs, error: worst(errs), value, grad: g, sHistory: [], yHistory: [], rhoHistory: [], stepsize: 1 };
  }

  /** −H∇f by the two-loop recursion. */
  private direction(state: LBFGSState): Tensor {
    const { sHistory: S, yHistory: Y, rhoHistory: R } = state;
    let q: Tensor = state.grad;
    const alphas: Tensor[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      const a = mul(R[i], treeVdotT(S[i], q));
      alphas[i] = a;
      q = sub(q, mul(Y[i], a));
    }
    if (this.useGamma && S.length > 0) {
      const k = S.length - 1;
      const sy = treeVdotT(S[k], Y[k]);
      const yy = treeVdotT(Y[k], Y[k]);
      q = mul(q, where(gtMask(sy, 0), div(sy, where(gtMask(yy, 0), yy, 1)), 1));
    }
    for (let i = 0; i < S.length; i++) {
      const b = mul(R[i], treeVdotT(Y[i], q));
      q = add(q, mul(S[i], sub(alphas[i], b)));
    }
    return mul(q, -1);
  }

  /** One LBFGS step. */
  update(params: P, state: LBFGSState, ...args: unknown[]): SolverStep<P, LBFGSState> {
    const site = `${this.name}.update`;
    const layout: Layout = layoutOf(params);
    const x = ravel(params);
    let d = this.direction(state);
    const at = (t: number): [Tensor, Tensor, Tensor, unknown] => {
      const xn = add(x, mul(d, t));
      const [v, g, aux] = this.valueGrad(site, unravel(xn, layout), args);
      return [xn, v, g, aux];
    };
    let r: [Tensor, Tensor, Tensor, unknown];
    let t = this.stepsize;
    let evals = 1;
    if (t > 0) {
      r = at(t);
    } else {
      refuseInVmap(site);
      let slope = treeVdot(state.grad, d);
      if (!(slope < 0)) {
        // Not a descent direction (a poor curvature estimate): restart from steepest descent.
        d = mul(state.grad, -1);
        slope = treeVdot(state.grad, d);
      }
      const f0 = state.value.item();
      const ls = backtrack(site, 1, this.decreaseFactor, this.maxls, (s) => {
        const a = at(s);
        return [a[1].item() <= f0 + 1e-4 * s * slope, a];
      });
      if (!ls.ok) throw new SolverFailure('lineSearchFailed', `the line search found no step with sufficient decrease (${this.maxls} attempts, down to ${ls.stepsize.toExponential(2)})`);
      r = ls.result;
      t = ls.stepsize;
      evals = ls.evals;
    }
    const [xn, v, g, aux] = r;
    const s = sub(xn, x);
    const y = sub(g, state.grad);
    const sy = treeVdotT(s, y);
    const ok = gtMask(sy, 0);
    const rho = where(ok, reciprocal(where(ok, sy, 1)), 0);
    const errs = memberErrorsOf(g);
    return {
      params: unravel<P>(xn, layout),
      state: {
        ...state,
        ...advanced(state, errs, evals, aux),
        value: v,
        grad: g,
        sHistory: pushHistory(state.sHistory, s, this.historySize),
        yHistory: pushHistory(state.yHistory, y, this.historySize),
        rhoHistory: pushHistory(state.rhoHistory, rho, this.historySize),
        stepsize: t,
      },
    };
  }

  /** ∇f(x). */
  optimality(params: P, ...args: unknown[]): unknown {
    return gradientOf(this.fun, this.hasAux, params, args);
  }
}
