/**
 * Proximal gradient (ISTA, FISTA with `acceleration`) for min_x f(x, ...args) + g(x, hyperparams),
 * with g given by its proximal operator (JAXopt's ProximalGradient); ProjectedGradient (g the
 * indicator of a set, prox its projection) and GradientDescent (g = 0) are the same iteration.
 * The step is fixed or found by backtracking on the quadratic upper bound of f.
 */
import { valueAndGrad } from '../func/transforms';
import type { Tensor } from '../tensor/tensor';
import { treeAdd, treeNorm, treeSub, treeVdot } from '../tree/tree-math';
import {
  type ResolvedSolverOptions, type UserFunction, type SolverFn, type SolverOptions, type SolverState, type SolverStep, advanced, bool,
  callWithAux, checkSolverOptions, scalarObjective, commonOptions, fnOption, gradientOf, initialState, IterativeSolver,
  memberErrorsOf, numberAbove,
} from './base';
import { backtrack, lineSearchOptions, refuseInVmap } from './line-search';

/** A proximal operator prox(x, hyperparams, scaling) = argmin_z ½‖z − x‖² + scaling·g(z, hyperparams). */
export type ProxOperator = (x: never, hyperparams: never, scaling: number) => unknown;

/** A projection onto a set, projection(x, hyperparams). */
export type Projection = (x: never, hyperparams: never) => unknown;

/** Options shared by the gradient solvers. */
export interface GradientSolverOptions<P = unknown> extends SolverOptions {
  /** The smooth objective f(x, ...args), returning a one-element tensor (or `[value, aux]`). */
  fun: SolverFn<P>;
  /** Fixed step (> 0), or 0 (default) for backtracking line search (not under vmap). */
  stepsize?: number;
  /** FISTA's momentum (default true, as JAXopt). */
  acceleration?: boolean;
  /** Attempts of the line search (default 15). */
  maxls?: number;
  /** Backtracking factor (default 0.5). */
  decreaseFactor?: number;
}

/** Options of {@link ProximalGradient}. */
export interface ProximalGradientOptions<P = unknown> extends GradientSolverOptions<P> {
  /** prox(x, hyperparams, scaling), e.g. `mg.prox.l1` (default: the identity, g = 0). */
  prox?: ProxOperator;
}

/** Options of {@link ProjectedGradient}. */
export interface ProjectedGradientOptions<P = unknown> extends GradientSolverOptions<P> {
  /** projection(x, hyperparams), e.g. `mg.projection.simplex`. */
  projection: Projection;
}

/** The state of the gradient solvers. */
export interface ProximalGradientState extends SolverState {
  /** FISTA's extrapolated point (the iterate without acceleration). */
  y: unknown;
  /** FISTA's momentum scalar. */
  t: number;
  /** The step used last. */
  stepsize: number;
}

const GRADIENT_KEYS = ['fun', 'stepsize', 'acceleration', 'maxls', 'decreaseFactor'];

/** The iteration shared by the three gradient solvers. */
abstract class GradientIteration<P> extends IterativeSolver<P, ProximalGradientState> {
  /** The smooth objective. */
  readonly fun: UserFunction;
  /** Fixed step, or 0 for line search. */
  readonly stepsize: number;
  /** FISTA momentum on/off. */
  readonly acceleration: boolean;
  /** Line-search attempts. */
  readonly maxls: number;
  /** Line-search factor. */
  readonly decreaseFactor: number;

  protected constructor(name: string, o: GradientSolverOptions<P>, c: ResolvedSolverOptions) {
    super(c);
    this.fun = fnOption(name, 'fun', o.fun) as UserFunction;
    this.stepsize = numberAbove(name, 'stepsize', o.stepsize, 0, 0, true);
    this.acceleration = bool(name, 'acceleration', o.acceleration, true);
    ({ maxls: this.maxls, decreaseFactor: this.decreaseFactor } = lineSearchOptions(name, o, 15));
  }

  /** Splits `run`'s arguments into the prox hyperparameters and f's arguments. @internal */
  protected abstract split(args: unknown[]): [unknown, unknown[]];
  /** The prox step. @internal */
  protected abstract proxStep(x: unknown, hyperparams: unknown, scaling: number): unknown;

  /** [f(x), ∇f(x), aux]. */
  protected valueGrad(site: string, x: unknown, funArgs: unknown[]): [Tensor, unknown, unknown] {
    const vg = valueAndGrad(scalarObjective(site, this.fun, this.hasAux), { hasAux: this.hasAux });
    const out = vg(x, ...funArgs) as [unknown, unknown];
    const [value, aux] = this.hasAux ? (out[0] as [unknown, unknown]) : [out[0], undefined];
    return [value as Tensor, out[1], aux];
  }

  /** The starting point is also FISTA's first extrapolated point. */
  init(initParams: P): ProximalGradientState {
    return { ...initialState(0, undefined), y: initParams, t: 1, stepsize: this.stepsize > 0 ? this.stepsize : 1 };
  }

  /** One (accelerated) proximal gradient step. */
  update(params: P, state: ProximalGradientState, ...args: unknown[]): SolverStep<P, ProximalGradientState> {
    const site = `${this.name}.update`;
    const [hp, funArgs] = this.split(args);
    const y = this.acceleration ? state.y : params;
    const [fy, gy, aux] = this.valueGrad(site, y, funArgs);
    const stepFrom = (eta: number): unknown => this.proxStep(treeSub(y, gy, eta), hp, eta);
    let eta = state.stepsize;
    let next: unknown;
    let evals = 1;
    if (this.stepsize > 0) {
      next = stepFrom(eta);
    } else {
      // Sufficient decrease: f(x⁺) ≤ f(y) + ⟨∇f(y), x⁺ − y⟩ + ‖x⁺ − y‖² / (2η).
      refuseInVmap(site);
      const f0 = fy.item();
      const ls = backtrack(site, eta, this.decreaseFactor, this.maxls, (s) => {
        const xn = stepFrom(s);
        const d = treeSub(xn, y);
        const [fx] = callWithAux(site, this.fun, this.hasAux, [xn, ...funArgs]);
        const bound = f0 + treeVdot(gy, d) + treeNorm(d) ** 2 / (2 * s);
        return [(fx as Tensor).item() <= bound + 1e-12 * Math.abs(f0), xn];
      });
      next = ls.result;
      eta = ls.stepsize;
      evals += ls.evals;
    }
    const errs = memberErrorsOf(treeSub(next, y)).map((e) => e / eta);
    let nextY = next;
    let t = state.t;
    if (this.acceleration) {
      t = (1 + Math.sqrt(1 + 4 * state.t * state.t)) / 2;
      nextY = treeAdd(next, treeSub(next, params), (state.t - 1) / t);
    }
    return {
      params: next as P,
      state: { ...state, ...advanced(state, errs, evals, aux), y: nextY, t, stepsize: eta },
    };
  }
}

/**
 * Proximal gradient for min f(x, ...args) + g(x, hyperparamsProx). `run(initParams,
 * hyperparamsProx, ...args)`; the error is ‖x⁺ − y‖/η (the gradient mapping); the optimality
 * condition differentiated by `run` is prox(x − ∇f(x), hyperparamsProx, 1) − x = 0, so the solution
 * is differentiable in the hyperparameters too (e.g. the lasso's λ). Defaults: maxiter 500, tol
 * 1e-3, line search, acceleration (JAXopt's).
 */
export class ProximalGradient<P = unknown> extends GradientIteration<P> {
  /** @inheritDoc */
  readonly name: string = 'ProximalGradient';
  /** The proximal operator. */
  readonly prox: UserFunction;

  /** Checks the options. */
  constructor(opts: ProximalGradientOptions<P>) {
    const o = checkSolverOptions('ProximalGradient', opts, [...GRADIENT_KEYS, 'prox']);
    super('ProximalGradient', o, commonOptions('ProximalGradient', o, { maxiter: 500, tol: 1e-3 }));
    this.prox = (fnOption('ProximalGradient', 'prox', o.prox, true) as UserFunction | undefined) ?? ((x: unknown) => x);
  }

  /** @internal */
  protected split(args: unknown[]): [unknown, unknown[]] {
    return [args[0], args.slice(1)];
  }

  /** @internal */
  protected proxStep(x: unknown, hyperparams: unknown, scaling: number): unknown {
    return this.prox(x, hyperparams, scaling);
  }

  /** prox(x − ∇f(x), hyperparamsProx, 1) − x. */
  optimality(params: P, ...args: unknown[]): unknown {
    const [hp, funArgs] = this.split(args);
    const gx = gradientOf(this.fun, this.hasAux, params, funArgs);
    return treeSub(this.proxStep(treeSub(params, gx), hp, 1), params);
  }
}

/**
 * Projected gradient for min f(x, ...args) over a set C: `run(initParams, hyperparamsProj,
 * ...args)` with `projection(x, hyperparamsProj)` onto C (e.g. the simplex, a box, an l2 ball
 * whose radius is the hyperparameter). Same iteration and defaults as {@link ProximalGradient}.
 */
export class ProjectedGradient<P = unknown> extends ProximalGradient<P> {
  /** @inheritDoc */
  override readonly name: string = 'ProjectedGradient';
  /** The projection. */
  readonly projection: UserFunction;

  /** Checks the options. */
  constructor(opts: ProjectedGradientOptions<P>) {
    const o = checkSolverOptions('ProjectedGradient', opts, [...GRADIENT_KEYS, 'projection']);
    const projection = fnOption('ProjectedGradient', 'projection', o.projection) as UserFunction;
    const { projection: _p, ...rest } = o;
    super({ ...rest, prox: ((x: unknown, hp: unknown) => projection(x, hp)) as ProxOperator });
    this.projection = projection;
  }
}

/**
 * Gradient descent (with FISTA's acceleration by default, as JAXopt's GradientDescent) for
 * min f(x, ...args): `run(initParams, ...args)`. The error is ‖∇f‖ at the extrapolated point
 * (the gradient mapping); the optimality condition differentiated by `run` is ∇f(x) = 0.
 * Defaults: maxiter 500, tol 1e-3, line search.
 */
export class GradientDescent<P = unknown> extends GradientIteration<P> {
  /** @inheritDoc */
  readonly name = 'GradientDescent';

  /** Checks the options. */
  constructor(opts: GradientSolverOptions<P>) {
    const o = checkSolverOptions('GradientDescent', opts, GRADIENT_KEYS);
    super('GradientDescent', o, commonOptions('GradientDescent', o, { maxiter: 500, tol: 1e-3 }));
  }

  /** @internal */
  protected split(args: unknown[]): [unknown, unknown[]] {
    return [undefined, args];
  }

  /** @internal */
  protected proxStep(x: unknown): unknown {
    return x;
  }

  /** ∇f(x). */
  optimality(params: P, ...args: unknown[]): unknown {
    return gradientOf(this.fun, this.hasAux, params, args);
  }
}
