/**
 * What every iterative solver shares (JAXopt's `IterativeSolver` shape): options, the run loop, how
 * a failure is reported (Optimistix's rule: a result code and a message; `throw` decides whether
 * it raises), and how `run` becomes differentiable by implicit differentiation of the solver's
 * optimality condition (customRoot over every argument after the initial guess).
 *
 * Inside vmap a solver runs all members at once. Its error is per member; a member whose error is
 * below tolerance stops changing (its parameters are frozen, as JAX's batched while-loop keeps a
 * finished member's carry) and the run stops when every member has converged or at maxiter.
 */
import { isGradEnabled, noGrad } from '../autograd/grad-mode';
import { NumericalError, describe, typeError } from '../errors';
import { customRoot } from '../diff/implicit/root';
import type { LinearSolver } from '../diff/implicit/types';
import { memberNorms, pickMembers } from '../linalg/members';
import { checkOptions } from '../linalg/options';
import { activeVmaps, batchOf } from '../tensor/batched';
import { type Tensor, isTensor } from '../tensor/tensor';
import { flatten, unflatten } from '../tree/tree';
import { treeSub } from '../tree/tree-math';
import { detach } from '../ops/inplace';
import { TraceError, isRecording } from '../tensor/trace';
import { grad } from '../func/transforms';

/** Why a run stopped. */
export type SolverResult =
  /** The error reached `tol`. */
  | 'successful'
  /** `maxiter` iterations ran and the error is still above `tol`. */
  | 'maxIterationsReached'
  /** An iterate, a function value or the error is NaN or infinite. */
  | 'nonFinite'
  /** The error grew beyond `divergenceFactor` times its first value. */
  | 'diverged'
  /** A linear system inside the solver is singular (Anderson's residual system, Newton's Jacobian). */
  | 'singular'
  /** The line search found no acceptable step. */
  | 'lineSearchFailed'
  /** Bisection: the function does not change sign over [lower, upper]. */
  | 'noBracket';

/** The state every solver keeps; each solver adds its own fields. */
export interface SolverState {
  /** Iterations performed (updates applied). */
  iterNum: number;
  /** The solver's error measure at the current iterate (the worst member inside vmap). */
  error: number;
  /** Each member's error inside vmap (one entry outside it). */
  memberErrors: Float64Array;
  /** Whether the error is at most `tol`. Set by `run` (an `update` loop decides for itself). */
  converged: boolean;
  /** Why the run stopped ('successful' while running). */
  result: SolverResult;
  /** A sentence saying why the run failed ('' when it did not). */
  message: string;
  /** Number of evaluations of the user's function. */
  numFunEval: number;
  /** The function's auxiliary output at the last evaluation (with `hasAux`). */
  aux?: unknown;
}

/** Options every solver accepts. */
export interface SolverOptions {
  /** Maximum number of iterations of `run`. */
  maxiter?: number;
  /** Tolerance on the solver's error measure (see each solver). */
  tol?: number;
  /**
   * Differentiate `run` by implicit differentiation of the optimality condition (default true);
   * false unrolls: derivatives go through every iteration.
   */
  implicitDiff?: boolean;
  /** Linear solver of the implicit backward (default `mg.linearSolve.solveNormalCg()`). */
  implicitDiffSolve?: LinearSolver;
  /**
   * Raise a NumericalError when a run fails (default true); with false `run` returns the last
   * iterate with `state.converged === false`, `state.result` and `state.message` saying why.
   */
  throw?: boolean;
  /** The function returns `[value, aux]`; aux is kept in `state.aux`. */
  hasAux?: boolean;
  /**
   * A run whose error exceeds this factor times max(1, its first finite error) has diverged
   * (default 1e8).
   */
  divergenceFactor?: number;
}

/** A solver's output: the solution and the final state. */
export interface SolverStep<P, S> {
  /** The iterate (the solution after `run`). */
  params: P;
  /** The solver's state. */
  state: S;
}

/** A user function of the solution (of type P) and the solver's extra arguments. */
export type SolverFn<P = never> = (x: P, ...args: never[]) => unknown;

/** A user function as a solver holds and calls it (its arguments are checked by the function itself). */
export type UserFunction = (...args: unknown[]) => unknown;

/** The common options after checking, with defaults filled in. */
export interface ResolvedSolverOptions {
  /** Maximum iterations. */
  maxiter: number;
  /** Tolerance on the error. */
  tol: number;
  /** Implicit (true) or unrolled differentiation. */
  implicitDiff: boolean;
  /** The implicit backward's linear solver. */
  implicitDiffSolve?: LinearSolver;
  /** Whether a failed run raises. */
  throw: boolean;
  /** Whether the function returns [value, aux]. */
  hasAux: boolean;
  /** Divergence threshold factor. */
  divergenceFactor: number;
}

const COMMON_KEYS = ['maxiter', 'tol', 'implicitDiff', 'implicitDiffSolve', 'throw', 'hasAux', 'divergenceFactor'];

/** Checks an options object against the common keys plus `own`; returns it typed. @internal */
export function checkSolverOptions<O extends object>(name: string, opts: O | undefined, own: readonly string[]): O {
  if (typeof opts !== 'object' || opts === null) throw typeError(`new ${name}`, 'options', 'an options object', opts);
  return checkOptions(`new ${name}`, opts, [...own, ...COMMON_KEYS]) as O;
}

/** A positive integer option, or its default. @internal */
export function positiveInt(name: string, arg: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw typeError(`new ${name}`, arg, `an integer >= ${min}`, v);
  return v;
}

/** A finite number option in (lo, ∞) (or [lo, ∞) with `closed`), or its default. @internal */
export function numberAbove(name: string, arg: string, v: unknown, dflt: number, lo: number, closed = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (closed ? v < lo : v <= lo)) {
    throw typeError(`new ${name}`, arg, `a finite number ${closed ? '>=' : '>'} ${lo}`, v);
  }
  return v;
}

/** A boolean option, or its default. @internal */
export function bool(name: string, arg: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw typeError(`new ${name}`, arg, 'a boolean', v);
  return v;
}

/** A function option (required unless `optional`). @internal */
export function fnOption(name: string, arg: string, v: unknown, optional = false): UserFunction | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'function') throw typeError(`new ${name}`, arg, 'a function', v);
  return v as UserFunction;
}

/** The common options with their defaults (each solver has its own maxiter and tol). @internal */
export function commonOptions(name: string, o: SolverOptions, defaults: { maxiter: number; tol: number }): ResolvedSolverOptions {
  if (o.implicitDiffSolve !== undefined && typeof o.implicitDiffSolve !== 'function') {
    throw typeError(`new ${name}`, 'implicitDiffSolve', 'a linear solver (e.g. mg.linearSolve.solveCg())', o.implicitDiffSolve);
  }
  return {
    maxiter: positiveInt(name, 'maxiter', o.maxiter, defaults.maxiter),
    tol: numberAbove(name, 'tol', o.tol, defaults.tol, 0, true),
    implicitDiff: bool(name, 'implicitDiff', o.implicitDiff, true),
    implicitDiffSolve: o.implicitDiffSolve,
    throw: bool(name, 'throw', o.throw, true),
    hasAux: bool(name, 'hasAux', o.hasAux, false),
    divergenceFactor: numberAbove(name, 'divergenceFactor', o.divergenceFactor, 1e8, 1),
  };
}

/** Each member's Euclidean norm of a tree (one entry outside vmap). @internal */
export function memberErrorsOf(tree: unknown): Float64Array {
  return memberNorms(flatten(tree)[0]);
}

/** The worst of the members' errors (NaN if any is NaN). @internal */
export function worst(errors: Float64Array): number {
  let w = 0;
  for (const e of errors) {
    if (Number.isNaN(e)) return Number.NaN;
    w = Math.max(w, e);
  }
  return w;
}

/** The state fields shared by every solver, at initialisation. @internal */
export function initialState(numFunEval: number, aux: unknown): SolverState {
  return {
    iterNum: 0,
    error: Number.POSITIVE_INFINITY,
    memberErrors: Float64Array.of(Number.POSITIVE_INFINITY),
    converged: false,
    result: 'successful',
    message: '',
    numFunEval,
    aux,
  };
}

/** The common fields of the state after one more iteration (errors per member, evaluations used, aux). @internal */
export function advanced(state: SolverState, errs: Float64Array, evals: number, aux: unknown): Pick<SolverState, 'iterNum' | 'memberErrors' | 'error' | 'numFunEval' | 'aux'> {
  return { iterNum: state.iterNum + 1, memberErrors: errs, error: worst(errs), numFunEval: state.numFunEval + evals, aux };
}

/** `history` with `item` appended, keeping the last `size` entries (none for size 0). @internal */
export function pushHistory<T>(history: readonly T[], item: T, size: number): T[] {
  return size === 0 ? [] : [...history, item].slice(-size);
}

/** T(x) − x for a fixed-point map T (its aux dropped), checked to keep x's shape: every fixed-point solver's residual. @internal */
export function fixedPointResidual(site: string, T: UserFunction, hasAux: boolean, x: unknown, args: unknown[]): unknown {
  const [tx] = callWithAux(site, T, hasAux, [x, ...args]);
  checkLike(site, 'fixedPointFun', tx, x);
  return treeSub(tx, x);
}

/** `[value, aux]` of a user function, whether or not it has aux. @internal */
export function callWithAux(site: string, fn: UserFunction, hasAux: boolean, args: unknown[]): [unknown, unknown] {
  const out = fn(...args);
  if (!hasAux) return [out, undefined];
  if (!Array.isArray(out) || out.length !== 2) throw new TypeError(`${site}: with hasAux the function must return [value, aux], got ${describe(out)}`);
  return [out[0], out[1]];
}

/** ∇f(x) of a scalar user function (its aux dropped), connected to anything f depends on. @internal */
export function gradientOf(fun: UserFunction, hasAux: boolean, x: unknown, args: unknown[]): unknown {
  if (hasAux) return grad(fun as (...a: unknown[]) => unknown, { hasAux: true })(x, ...args)[0];
  return grad(fun as (...a: unknown[]) => unknown)(x, ...args);
}

/**
 * Throws unless `value` (what `what` returned) has the structure and leaf shapes of `like` (the
 * iterate), naming the solver: a fixed-point map or root function must map x to x's shape. @internal
 */
export function checkLike(site: string, what: string, value: unknown, like: unknown): void {
  const [vs] = flatten(value);
  const [ls] = flatten(like);
  if (vs.length !== ls.length) {
    throw new TypeError(`${site}: ${what} returned ${vs.length} tensor(s) (${describe(value)}) for an iterate of ${ls.length}; it must return a tree shaped like its first argument`);
  }
  vs.forEach((v, i) => {
    if (v.shape.length !== ls[i].shape.length || v.shape.some((d, k) => d !== ls[i].shape[k])) {
      throw new RangeError(`${site}: ${what} returned shape [${v.shape.join(', ')}] for leaf ${i} of the iterate, which has shape [${ls[i].shape.join(', ')}]`);
    }
  });
}

/** `fun` checked to return a one-element tensor (with `hasAux`, as `[value, aux]`), its errors named by `site`. @internal */
export function scalarObjective(site: string, fun: UserFunction, hasAux: boolean): UserFunction {
  return (...args: unknown[]) => {
    const out = fun(...args);
    const value = hasAux && Array.isArray(out) ? out[0] : out;
    if (!isTensor(value) || value.numel !== 1) {
      throw new RangeError(`${site}: fun must return a one-element tensor, got ${isTensor(value) ? `shape [${value.shape.join(', ')}]` : describe(value)}`);
    }
    return out;
  };
}

/** A failure raised inside an update that the loop reports as a result (e.g. a singular system). @internal */
export class SolverFailure extends Error {
  constructor(readonly result: SolverResult, message: string) {
    super(message);
  }
}

/** Tensor leaves detached (the implicit forward runs on values); other leaves unchanged. */
function detachArgs(args: unknown[]): unknown[] {
  return args.map((a) => {
    const [ls, spec] = flatten(a);
    return ls.length === 0 ? a : unflatten(spec, ls.map((t) => detach(t)));
  });
}

/** Whether any tensor in `args` requires grad. */
function anyRequiresGrad(args: unknown[]): boolean {
  return args.some((a) => flatten(a)[0].some((t: Tensor) => t.requiresGrad));
}

/**
 * The base class of the solvers: `init(initParams, ...args)`, `update(params, state, ...args)`
 * and `run(initParams, ...args)`. Subclasses define the iteration and the optimality function.
 */
export abstract class IterativeSolver<P = unknown, S extends SolverState = SolverState> {
  /** The solver's name, in messages. */
  abstract readonly name: string;
  /** Maximum number of iterations of `run`. */
  readonly maxiter: number;
  /** Tolerance on the error measure. */
  readonly tol: number;
  /** Whether `run` is differentiated implicitly (true) or unrolled (false). */
  readonly implicitDiff: boolean;
  /** The implicit backward's linear solver (undefined: customRoot's default). */
  readonly implicitDiffSolve?: LinearSolver;
  /** Whether a failed run raises. */
  readonly throw: boolean;
  /** Whether the user function returns `[value, aux]`. */
  readonly hasAux: boolean;
  /** Divergence threshold factor. */
  readonly divergenceFactor: number;

  protected constructor(c: ResolvedSolverOptions) {
    this.maxiter = c.maxiter;
    this.tol = c.tol;
    this.implicitDiff = c.implicitDiff;
    this.implicitDiffSolve = c.implicitDiffSolve;
    this.throw = c.throw;
    this.hasAux = c.hasAux;
    this.divergenceFactor = c.divergenceFactor;
  }

  /** The solver's initial state at `initParams`. */
  abstract init(initParams: P, ...args: unknown[]): S;

  /** One iteration from `params`. */
  abstract update(params: P, state: S, ...args: unknown[]): SolverStep<P, S>;

  /**
   * The optimality condition whose root the solution is (same structure as the solution): what
   * implicit differentiation differentiates.
   */
  abstract optimality(params: P, ...args: unknown[]): unknown;

  /** The initial guess must hold tensors (Bisection, which ignores it, overrides this). @internal */
  protected checkInit(initParams: P): void {
    if (flatten(initParams)[0].length === 0) throw typeError(`${this.name}.run`, 'initParams', 'a Tensor or a tree of tensors', initParams);
  }

  /** The iterate `run` starts from (Bisection ignores the initial guess). @internal */
  protected start(initParams: P, _state: S): P {
    return initParams;
  }

  /**
   * Iterates from `initParams` until the error is at most `tol` or `maxiter` iterations ran. With
   * `implicitDiff` (default) the solution is differentiable in `args` through the optimality
   * condition (reverse mode, forward mode and higher orders, as customRoot); otherwise through the
   * iterations.
   *
   * @throws NumericalError if the run fails (unless `throw: false`).
   */
  run(initParams: P, ...args: unknown[]): SolverStep<P, S> {
    this.checkInit(initParams);
    if (!this.implicitDiff || args.length === 0) {
      // Unrolled: the loop itself is differentiated (nothing to differentiate without args).
      const go = () => this.loop(initParams, args);
      return this.implicitDiff ? noGrad(go) : go();
    }
    if (!(isGradEnabled() && anyRequiresGrad(args))) return noGrad(() => this.loop(initParams, detachArgs(args)));
    const wrapped = this.wrapperFor(args.length);
    const [params, state] = wrapped(initParams, ...args);
    return { params, state };
  }

  /** customRoot wrappers of `run`, one per argument count (kept so that its once-per-wrapper warnings stay once). */
  private readonly wrappers = new Map<number, (...a: unknown[]) => [P, S]>();

  private wrapperFor(nargs: number): (...a: unknown[]) => [P, S] {
    const known = this.wrappers.get(nargs);
    if (known) return known;
    const solver = (x0: P, ...a: unknown[]): [P, S] => {
      const r = this.loop(x0, detachArgs(a));
      return [r.params, r.state];
    };
    const optimality = (x: P, ...a: unknown[]) => this.optimality(x, ...a);
    Object.defineProperty(solver, 'name', { value: this.name });
    const wrapped = customRoot(optimality as never, {
      argnums: Array.from({ length: nargs }, (_, i) => i + 1),
      hasAux: true,
      solve: this.implicitDiffSolve,
      // The solution is a root to the solver's own tolerance; the check catches a failed run that
      // was returned (throw: false) and is then differentiated.
      rootTol: Math.max(1e-3, 10 * this.tol),
    })(solver as never) as unknown as (...a: unknown[]) => [P, S];
    this.wrappers.set(nargs, wrapped);
    return wrapped;
  }

  /** The run loop, with mg.jit's refusal explained in the solver's terms. */
  private loop(initParams: P, args: unknown[]): SolverStep<P, S> {
    try {
      return this.iterate(initParams, args);
    } catch (e) {
      if (e instanceof TraceError && isRecording()) {
        throw new TraceError(
          `${this.name}.run: the solver decides when to stop from its error on the host, which an mg.jit recording cannot replay; ` +
            `run the solver outside mg.jit (jit the function it iterates instead), or write a fixed number of steps. (${e.message})`,
        );
      }
      throw e;
    }
  }

  /** Per-member convergence, freezing, failure detection. */
  private iterate(initParams: P, args: unknown[]): SolverStep<P, S> {
    let state = this.init(initParams, ...args);
    let params = this.start(initParams, state);
    let firstError = Number.NaN;
    for (;;) {
      const errs = state.memberErrors;
      if (errs.every((e) => e <= this.tol)) return this.finish(params, state, 'successful', '');
      const bad = errs.findIndex((e) => Number.isNaN(e) || e === Number.POSITIVE_INFINITY);
      if (state.iterNum > 0 && bad >= 0) {
        return this.finish(params, state, 'nonFinite', `${this.member(bad, errs)}the error is ${errs[bad]} after ${state.iterNum} iteration(s) (a non-finite iterate or function value)`);
      }
      if (state.iterNum > 0) {
        if (Number.isNaN(firstError)) firstError = Math.max(1, worst(errs));
        const far = errs.findIndex((e) => e > this.divergenceFactor * firstError);
        if (far >= 0) {
          return this.finish(params, state, 'diverged', `${this.member(far, errs)}diverged: the error grew to ${errs[far].toExponential(3)} at iteration ${state.iterNum} (from ${firstError.toExponential(3)})`);
        }
      }
      if (state.iterNum >= this.maxiter) {
        const w = errs.findIndex((e) => e === state.error);
        return this.finish(params, state, 'maxIterationsReached', `${this.member(w, errs)}did not converge in ${this.maxiter} iterations (error ${state.error.toExponential(3)} > tol ${this.tol})`);
      }
      let next: SolverStep<P, S>;
      try {
        next = this.update(params, state, ...args);
      } catch (e) {
        if (e instanceof SolverFailure) return this.finish(params, state, e.result, `${e.message} at iteration ${state.iterNum + 1}`);
        throw e;
      }
      [params, state] = this.freeze(params, state, next, errs);
    }
  }

  /** Inside vmap: members that had converged keep their parameters and error. */
  private freeze(params: P, state: S, next: SolverStep<P, S>, errs: Float64Array): [P, S] {
    const nextErrs = next.state.memberErrors;
    if (errs.length <= 1 || nextErrs.length !== errs.length) return [next.params, next.state];
    const active = Array.from(errs, (e) => e > this.tol);
    if (active.every(Boolean)) return [next.params, next.state];
    const [nl, spec] = flatten(next.params);
    const [ol] = flatten(params);
    const { levels, sizes } = batchOf(nl);
    const kept = pickMembers(active, nl, ol, levels, sizes);
    const merged = Float64Array.from(nextErrs, (e, m) => (active[m] ? e : errs[m]));
    return [unflatten(spec, kept), { ...next.state, memberErrors: merged, error: worst(merged) }];
  }

  /** "member m of the vmap batch: " inside vmap. */
  private member(m: number, errs: Float64Array): string {
    return errs.length > 1 && activeVmaps().length > 0 ? `member ${m} of the vmap batch: ` : '';
  }

  /** Ends a run: success, or a failure that raises or is returned in the state. */
  private finish(params: P, state: S, result: SolverResult, message: string): SolverStep<P, S> {
    const converged = result === 'successful';
    const final = { ...state, converged, result, message };
    if (!converged && this.throw) {
      throw new NumericalError(`${this.name}.run: ${message}; pass { throw: false } to get the last iterate with state.converged === false`);
    }
    return { params, state: final };
  }
}
