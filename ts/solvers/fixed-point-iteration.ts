/** FixedPointIteration: x ← T(x, ...args) until ‖T(x) − x‖ ≤ tol (JAXopt's). */
import { treeSub } from '../tree/tree-math';
import {
  type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced,
  callWithAux, checkLike, checkSolverOptions, fixedPointResidual, commonOptions, fnOption, initialState, IterativeSolver, memberErrorsOf,
} from './base';

/** Options of {@link FixedPointIteration}. */
export interface FixedPointIterationOptions<P = unknown> extends SolverOptions {
  /** T(x, ...args), returning a tree shaped like x (or `[value, aux]` with `hasAux`). */
  fixedPointFun: SolverFn<P>;
}

/**
 * Plain fixed-point iteration x_{k+1} = T(x_k). Converges when T is a contraction. The error is
 * ‖T(x_k) − x_k‖; the optimality condition differentiated by `run` is T(x) − x = 0. Defaults:
 * maxiter 100, tol 1e-5.
 */
export class FixedPointIteration<P = unknown> extends IterativeSolver<P, SolverState> {
  /** @inheritDoc */
  readonly name = 'FixedPointIteration';
  /** The map T. */
  readonly fixedPointFun: UserFunction;

  /** Checks the options. */
  constructor(opts: FixedPointIterationOptions<P>) {
    const o = checkSolverOptions('FixedPointIteration', opts, ['fixedPointFun']);
    super(commonOptions('FixedPointIteration', o, { maxiter: 100, tol: 1e-5 }));
    this.fixedPointFun = fnOption('FixedPointIteration', 'fixedPointFun', o.fixedPointFun) as UserFunction;
  }

  /** The state before the first iteration (T is evaluated once for the aux). */
  init(initParams: P, ...args: unknown[]): SolverState {
    const aux = this.hasAux ? callWithAux(`${this.name}.init`, this.fixedPointFun, true, [initParams, ...args])[1] : undefined;
    return initialState(this.hasAux ? 1 : 0, aux);
  }

  /** x ← T(x). */
  update(params: P, state: SolverState, ...args: unknown[]): SolverStep<P, SolverState> {
    const [next, aux] = callWithAux(`${this.name}.update`, this.fixedPointFun, this.hasAux, [params, ...args]);
    checkLike(`${this.name}.update`, 'fixedPointFun', next, params);
    const errs = memberErrorsOf(treeSub(next, params));
    return {
      params: next as P,
      state: { ...state, ...advanced(state, errs, 1, aux) },
    };
  }

  /** T(x) − x. */
  optimality(params: P, ...args: unknown[]): unknown {
    return fixedPointResidual(`${this.name}.optimality`, this.fixedPointFun, this.hasAux, params, args);
  }
}
