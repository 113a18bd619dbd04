/**
 * Newton's method for roots of F(x, ...args) = 0: solve J(x) Δ = −F(x) with a matrix-free linear
 * solver from `mg.linearSolve` (J·v by forward mode), then x ← x + t·Δ with t = 1 or a backtracking
 * search on ‖F‖².
 */
import { jvp } from '../func/transforms';
import { solveGmres } from '../linear-solve/gmres';
import type { LinearSolver } from '../diff/implicit/types';
import { NumericalError, typeError } from '../errors';
import { treeAdd, treeNeg, treeNorm } from '../tree/tree-math';
import {
  type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced, bool,
  callWithAux, checkLike, checkSolverOptions, commonOptions, fnOption, initialState, IterativeSolver, memberErrorsOf,
  SolverFailure, worst,
} from './base';
import { backtrack, lineSearchOptions, refuseInVmap } from './line-search';

/** Options of {@link Newton}. */
export interface NewtonOptions<P = unknown> extends SolverOptions {
  /** F(x, ...args), a tree shaped like x (or `[value, aux]` with `hasAux`). */
  fun: SolverFn<P>;
  /** Solver of the Newton system J Δ = −F (default `mg.linearSolve.solveGmres()`). */
  linearSolver?: LinearSolver;
  /** Backtrack the step on ‖F‖² (default false: full steps; not under vmap). */
  linesearch?: boolean;
  /** Attempts of the line search (default 20). */
  maxls?: number;
  /** Backtracking factor (default 0.5). */
  decreaseFactor?: number;
}

/** Newton's state. */
export interface NewtonState extends SolverState {
  /** F at the current iterate. */
  value: unknown;
  /** The last step length. */
  stepsize: number;
}

/**
 * Newton's method for F(x) = 0. The error is ‖F(x)‖; the optimality condition differentiated by
 * `run` is F(x) = 0. Defaults: maxiter 50, tol 1e-6.
 */
export class Newton<P = unknown> extends IterativeSolver<P, NewtonState> {
  /** @inheritDoc */
  readonly name = 'Newton';
  /** F. */
  readonly fun: UserFunction;
  /** The Newton system's solver. */
  readonly linearSolver: LinearSolver;
  /** Whether steps are backtracked. */
  readonly linesearch: boolean;
  /** Line-search attempts. */
  readonly maxls: number;
  /** Line-search factor. */
  readonly decreaseFactor: number;

  /** Checks the options. */
  constructor(opts: NewtonOptions<P>) {
    const name = 'Newton';
    const o = checkSolverOptions(name, opts, ['fun', 'linearSolver', 'linesearch', 'maxls', 'decreaseFactor']);
    super(commonOptions(name, o, { maxiter: 50, tol: 1e-6 }));
    this.fun = fnOption(name, 'fun', o.fun) as UserFunction;
    if (o.linearSolver !== undefined && typeof o.linearSolver !== 'function') throw typeError(`new ${name}`, 'linearSolver', 'a linear solver (e.g. mg.linearSolve.solveGmres())', o.linearSolver);
    this.linearSolver = o.linearSolver ?? solveGmres();
    this.linesearch = bool(name, 'linesearch', o.linesearch, false);
    ({ maxls: this.maxls, decreaseFactor: this.decreaseFactor } = lineSearchOptions(name, o, 20));
  }

  /** F at the initial point (a root stops at once). */
  init(initParams: P, ...args: unknown[]): NewtonState {
    const [value, aux] = callWithAux(`${this.name}.init`, this.fun, this.hasAux, [initParams, ...args]);
    checkLike(`${this.name}.run`, 'fun', value, initParams);
    const errs = memberErrorsOf(value);
    return { ...initialState(1, aux), memberErrors: errs, error: worst(errs), value, stepsize: 1 };
  }

  /** One Newton step. */
  update(params: P, state: NewtonState, ...args: unknown[]): SolverStep<P, NewtonState> {
    const F = (z: unknown): unknown => callWithAux(`${this.name}.update`, this.fun, this.hasAux, [z, ...args])[0];
    const matvec = (v: unknown): unknown => jvp(F, [params], [v])[1];
    let delta: unknown;
    try {
      delta = this.linearSolver(matvec, treeNeg(state.value));
    } catch (e) {
      if (e instanceof NumericalError) throw new SolverFailure('singular', `the Newton system J Δ = −F could not be solved (${e.message})`);
      throw e;
    }
    const evalAt = (t: number): [P, unknown, unknown] => {
      const xn = treeAdd(params, delta, t) as P;
      const [v, aux] = callWithAux(`${this.name}.update`, this.fun, this.hasAux, [xn, ...args]);
      return [xn, v, aux];
    };
    let t = 1;
    let evals = 1;
    let r: [P, unknown, unknown];
    if (this.linesearch) {
      refuseInVmap(`${this.name}.update`);
      const f0 = treeNorm(state.value) ** 2;
      const ls = backtrack(`${this.name}.update`, 1, this.decreaseFactor, this.maxls, (s) => {
        const a = evalAt(s);
        return [treeNorm(a[1]) ** 2 <= (1 - 2e-4 * s) * f0, a];
      });
      if (!ls.ok) throw new SolverFailure('lineSearchFailed', `no step along the Newton direction decreased ‖F‖ (${this.maxls} attempts, last step ${ls.stepsize.toExponential(2)})`);
      r = ls.result;
      t = ls.stepsize;
      evals = ls.evals;
    } else {
      r = evalAt(1);
    }
    const errs = memberErrorsOf(r[1]);
    return {
      params: r[0],
      state: { ...state, ...advanced(state, errs, evals, r[2]), value: r[1], stepsize: t },
    };
  }

  /** F(x). */
  optimality(params: P, ...args: unknown[]): unknown {
    return callWithAux(`${this.name}.optimality`, this.fun, this.hasAux, [params, ...args])[0];
  }
}
