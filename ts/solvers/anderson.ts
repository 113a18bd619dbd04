/**
 * AndersonAcceleration (Anderson 1965; JAXopt's, TorchDEQ's `anderson`): the next point
 * extrapolates the last m iterates x_i and their residuals r_i = T(x_i) − x_i with weights α that
 * minimise ‖Σ α_i r_i‖² subject to Σ α_i = 1, regularised by a ridge on the residual Gram matrix:
 * α ∝ (G/g + ridge·I)⁻¹ 1 with G_ij = ⟨r_i, r_j⟩ and g its largest diagonal entry (the bordered
 * system's solution; JAXopt's ridge is absolute, this one is relative to the residuals' scale). A singular
 * system (ridge 0 and repeated residuals) is reported, never solved into NaN.
 */
import { NumericalError } from '../errors';
import { eye, ones } from '../ops/creation';
import { add, div, gtMask, mul, where } from '../ops/elementwise';
import { to } from '../ops/cast';
import { stack } from '../ops/indexing';
import { mmT } from '../ops/matmul';
import { max, sum } from '../ops/reduce';
import { reshape } from '../ops/shape';
import { denseSolve } from '../linalg/solve';
import type { Tensor } from '../tensor/tensor';
import { treeSub } from '../tree/tree-math';
import {
  type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced,
  callWithAux, checkLike, checkSolverOptions, fixedPointResidual, commonOptions, fnOption, initialState, IterativeSolver, memberErrorsOf,
  numberAbove, positiveInt, pushHistory, SolverFailure,
} from './base';
import { type Layout, layoutOf, ravel, unravel } from '../tree/tree-vector';

/** Options of {@link AndersonAcceleration}. */
export interface AndersonAccelerationOptions<P = unknown> extends SolverOptions {
  /** T(x, ...args), returning a tree shaped like x (or `[value, aux]` with `hasAux`). */
  fixedPointFun: SolverFn<P>;
  /** Number of past iterates combined, m >= 2 (default 5). */
  historySize?: number;
  /** Extrapolate every this many iterations; the others are plain T steps (default 1). */
  mixingFrequency?: number;
  /** Mixing β: x = Σα_i x_i + β Σα_i r_i (default 1). */
  beta?: number;
  /** Ridge added to the residual Gram matrix scaled to unit largest diagonal (default 1e-5; 0 solves it unregularised). */
  ridge?: number;
}

/** Anderson's state: the common fields and the histories (flat vectors, oldest first). */
export interface AndersonState extends SolverState {
  /** The last points T was applied to. */
  paramsHistory: Tensor[];
  /** Their residuals T(x_i) − x_i. */
  residualsHistory: Tensor[];
}

/**
 * Anderson acceleration of the fixed-point iteration x = T(x). The error is ‖T(x) − x‖ at the
 * extrapolated point; the optimality condition differentiated by `run` is T(x) − x = 0. Defaults:
 * historySize 5, mixingFrequency 1, beta 1, ridge 1e-5, maxiter 100, tol 1e-5.
 */
export class AndersonAcceleration<P = unknown> extends IterativeSolver<P, AndersonState> {
  /** @inheritDoc */
  readonly name = 'AndersonAcceleration';
  /** The map T. */
  readonly fixedPointFun: UserFunction;
  /** History size m. */
  readonly historySize: number;
  /** Extrapolation frequency. */
  readonly mixingFrequency: number;
  /** Mixing β. */
  readonly beta: number;
  /** Ridge on the Gram system. */
  readonly ridge: number;

  /** Checks the options. */
  constructor(opts: AndersonAccelerationOptions<P>) {
    const name = 'AndersonAcceleration';
    const o = checkSolverOptions(name, opts, ['fixedPointFun', 'historySize', 'mixingFrequency', 'beta', 'ridge']);
    super(commonOptions(name, o, { maxiter: 100, tol: 1e-5 }));
    this.fixedPointFun = fnOption(name, 'fixedPointFun', o.fixedPointFun) as UserFunction;
    this.historySize = positiveInt(name, 'historySize', o.historySize, 5, 2);
    this.mixingFrequency = positiveInt(name, 'mixingFrequency', o.mixingFrequency, 1);
    this.beta = numberAbove(name, 'beta', o.beta, 1, 0);
    this.ridge = numberAbove(name, 'ridge', o.ridge, 1e-5, 0, true);
  }

  /** Empty histories. */
  init(initParams: P, ...args: unknown[]): AndersonState {
    const aux = this.hasAux ? callWithAux(`${this.name}.init`, this.fixedPointFun, true, [initParams, ...args])[1] : undefined;
    return { ...initialState(this.hasAux ? 1 : 0, aux), paramsHistory: [], residualsHistory: [] };
  }

  /** One step: extrapolate (when due and at least two iterates are known), then apply T. */
  update(params: P, state: AndersonState, ...args: unknown[]): SolverStep<P, AndersonState> {
    const layout = layoutOf(params);
    const due = state.residualsHistory.length >= 2 && state.iterNum % this.mixingFrequency === 0;
    const point = due ? this.extrapolate(state, layout) : params;
    const [next, aux] = callWithAux(`${this.name}.update`, this.fixedPointFun, this.hasAux, [point, ...args]);
    checkLike(`${this.name}.update`, 'fixedPointFun', next, point);
    const residual = treeSub(next, point);
    const errs = memberErrorsOf(residual);
    return {
      params: next as P,
      state: {
        ...state,
        ...advanced(state, errs, 1, aux),
        paramsHistory: pushHistory(state.paramsHistory, ravel(point), this.historySize),
        residualsHistory: pushHistory(state.residualsHistory, ravel(residual), this.historySize),
      },
    };
  }

  /**
   * Σα_i x_i + β Σα_i r_i with α from the regularised Gram system, solved in float64 with G scaled
   * by its largest diagonal entry: the ridge is relative (α does not depend on the residuals' scale,
   * so it keeps working as they shrink near convergence, where an absolute ridge would dominate G
   * and turn the extrapolation into an average of the history).
   */
  private extrapolate(state: AndersonState, layout: Layout): P {
    const R = stack(state.residualsHistory, 0);
    const X = stack(state.paramsHistory, 0);
    const h = state.residualsHistory.length;
    const R64 = to(R, 'float64');
    const I = eye(h, { dtype: 'float64' });
    let G = mmT(R64, R64, false, true);
    const scale = max(sum(mul(G, I), 1));
    G = div(G, where(gtMask(scale, 0), scale, 1));
    if (this.ridge > 0) G = add(G, mul(I, this.ridge));
    let w: Tensor;
    try {
      w = denseSolve(`${this.name}`, G, ones([h, 1], { dtype: 'float64' }), 'lu');
    } catch (e) {
      if (e instanceof NumericalError) {
        throw new SolverFailure('singular', `the ${h}×${h} residual Gram system is singular or not finite (${e.message}); use a ridge > 0 (ridge is ${this.ridge})`);
      }
      throw e;
    }
    // α as a row [1, h]: the combinations are two small GEMMs.
    const alpha = to(reshape(div(w, sum(w)), [1, h]), R.dtype);
    const xa = reshape(mmT(alpha, X, false, false), [X.shape[1]]);
    const ra = reshape(mmT(alpha, R, false, false), [R.shape[1]]);
    return unravel<P>(this.beta === 1 ? add(xa, ra) : add(xa, mul(ra, this.beta)), layout);
  }

  /** T(x) − x. */
  optimality(params: P, ...args: unknown[]): unknown {
    return fixedPointResidual(`${this.name}.optimality`, this.fixedPointFun, this.hasAux, params, args);
  }
}
