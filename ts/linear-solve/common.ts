/**
 * What the linear-solve factories share: the solver function type, call-time option checking,
 * and ridge regularisation of a matvec.
 */
import { describe } from '../errors';
import { type OnInfo } from '../linalg/info';
import { callback, checkOptions, finiteNumber, treeOption } from '../linalg/options';
import { treeAdd } from '../tree/tree-math';

/** Options accepted when a solver runs: `solve(matvec, b, { onInfo })`. */
export interface SolveCallOptions {
  /** Receives the {@link linalg.SolveInfo} of this solve. */
  onInfo?: OnInfo;
}

/** Options every factory accepts. */
export interface CommonSolveOptions<T = unknown> {
  /** Solve (A + ridge·I) x = b instead (default 0). */
  ridge?: number;
  /** Initial guess for x (b's structure for square A); ignored by direct solves. */
  init?: T;
}

/** A linear operator on trees: v ↦ A v. */
export type MatVec = (v: unknown) => unknown;

/**
 * Any function solving matvec(x) = b for x: what implicit differentiation accepts as `solve`. The
 * factories' {@link LinearSolver}s are such functions; a hand-written one may report its outcome
 * through `options.onInfo`.
 */
export type SolveFunction = (matvec: MatVec, b: unknown, options?: SolveCallOptions) => unknown;

/**
 * A linear solver `solve(matvec, b, opts?) -> x` with x such that matvec(x) ≈ b, as TorchOpt's
 * `torchopt.linear_solve` returns. Its iterations run on values; with grad mode on x is
 * differentiable in what matvec and b depend on by the implicit function theorem on A x = b (one
 * rule for every solver, ts/linalg/implicit-solve.ts: exact whatever the iteration budget, and to
 * any order), not by differentiating the iterations.
 */
export interface LinearSolver<O> {
  <T>(matvec: (x: T) => T, b: T, options?: SolveCallOptions): T;
  /** The factory's options with defaults filled in (`maxiter: undefined` means the solver's default for b). */
  readonly options: Readonly<O>;
  /** The factory's name, e.g. `solveNormalCg`. */
  readonly kind: string;
}

/** A matvec on trees, untyped inside the factories. @internal */
export type AnyMatvec = (x: unknown) => unknown;

/** Reads `ridge` and `init`. @internal */
export function commonOptions(fn: string, o: Record<string, unknown>): { ridge: number; init: unknown } {
  return { ridge: finiteNumber(fn, 'ridge', o.ridge, 0), init: treeOption(fn, 'init', o.init) };
}

/** x ↦ A x + ridge·x (the matvec itself when ridge is 0). @internal */
export function withRidge(matvec: AnyMatvec, ridge: number): AnyMatvec {
  if (ridge === 0) return matvec;
  return (x) => treeAdd(matvec(x), x, ridge);
}

/** Wraps `run` as a {@link LinearSolver} that checks its call arguments. @internal */
export function makeSolver<O>(kind: string, options: O, run: (matvec: AnyMatvec, b: unknown, onInfo: OnInfo | undefined) => unknown): LinearSolver<O> {
  const solve = <T>(matvec: (x: T) => T, b: T, callOptions?: SolveCallOptions): T => {
    if (typeof matvec !== 'function') throw new TypeError(`${kind}: argument 'matvec' must be a function x -> A x, got ${describe(matvec)}`);
    const o = checkOptions(kind, callOptions, ['onInfo']);
    return run(matvec as AnyMatvec, b, callback<OnInfo>(kind, 'onInfo', o.onInfo)) as T;
  };
  Object.defineProperty(solve, 'options', { value: Object.freeze({ ...options }), enumerable: true });
  Object.defineProperty(solve, 'kind', { value: kind, enumerable: true });
  return solve as LinearSolver<O>;
}
