/** The options of customRoot and friends, checked once when a wrapper is made. */
import { typeError } from '../../errors';
import { solveNormalCg } from '../../linear-solve/index';
import type { BackwardSolveInfo } from './diagnostics';
import type { LinearSolver } from './types';

/** Options of {@link customRoot} and {@link customFixedPoint}. */
export interface CustomRootOptions {
  /** Positional argument(s) of the solver to differentiate with respect to (never 0, the initial guess). */
  argnums: number | number[];
  /** The solver returns `[solution, aux]`; aux passes through undifferentiated. */
  hasAux?: boolean;
  /** Linear solver for the backward system (default `solveNormalCg()`). */
  solve?: LinearSolver;
  /** Called with the info of every backward linear solve. */
  onSolve?: (info: BackwardSolveInfo) => void;
  /**
   * Warn (once per wrapper) when a backward solve stops before its tolerance (default true). Set
   * false for a deliberate fixed iteration budget; `lastSolveInfo()` still reports it.
   */
  warnNotConverged?: boolean;
  /**
   * What to do when the solver's result is not a root: ‖F(x*, θ)‖ > rootTol · max(1, ‖x*‖), or F or
   * x* is not finite. `'raise'` (default) throws a NumericalError, `'warn'` warns once per wrapper
   * and differentiates anyway, `false` skips the check. The implicit function theorem holds only at
   * a root: elsewhere the gradient it gives is silently wrong. Checked when the result is
   * differentiable (grad mode on and an `argnums` tensor requires grad).
   */
  checkRoot?: 'raise' | 'warn' | false;
  /** Relative tolerance of the root check (default 1e-3). */
  rootTol?: number;
}

const OPTION_KEYS = ['argnums', 'hasAux', 'solve', 'onSolve', 'warnNotConverged', 'checkRoot', 'rootTol'];

/** Default relative tolerance of the root check. */
const ROOT_TOL = 1e-3;

/** A function F(solution, ...args) whose root defines the solution. */
export type OptimalityFn = (...args: never[]) => unknown;

/** An optimality function as called internally. @internal */
export type AnyFn = (...args: unknown[]) => unknown;

/** Checked options. @internal */
export interface Resolved {
  argnums: number[];
  single: boolean;
  hasAux: boolean;
  solve: LinearSolver;
  onSolve?: (info: BackwardSolveInfo) => void;
  warn: boolean;
  checkRoot: 'raise' | 'warn' | false;
  rootTol: number;
}

export function resolveOptions(fn: string, opts: CustomRootOptions | undefined): Resolved {
  if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object { argnums, hasAux?, solve? }', opts);
  for (const k of Object.keys(opts)) {
    if (!OPTION_KEYS.includes(k)) throw new TypeError(`${fn}: unknown option '${k}' (valid options: ${OPTION_KEYS.join(', ')})`);
  }
  const raw = opts.argnums;
  const list = Array.isArray(raw) ? raw : [raw];
  if (raw === undefined || list.length === 0) throw typeError(fn, 'argnums', 'a positive integer or a non-empty array of them', raw);
  for (const a of list) {
    if (!Number.isInteger(a) || a < 1) {
      throw new RangeError(
        `${fn}: argument 'argnums' entries must be integers >= 1 (position 0 is the solver's initial guess, which the solution does not depend on), got ${String(a)}`,
      );
    }
  }
  if (new Set(list).size !== list.length) throw typeError(fn, 'argnums', 'distinct integers', raw);
  const solve = opts.solve ?? solveNormalCg();
  if (typeof solve !== 'function') throw typeError(fn, 'solve', 'a linear solver function (e.g. mg.linearSolve.solveCg())', solve);
  if (opts.onSolve !== undefined && typeof opts.onSolve !== 'function') throw typeError(fn, 'onSolve', 'a function', opts.onSolve);
  const warn = opts.warnNotConverged ?? true;
  if (typeof warn !== 'boolean') throw typeError(fn, 'warnNotConverged', 'a boolean', warn);
  const checkRoot = opts.checkRoot ?? 'raise';
  if (checkRoot !== 'raise' && checkRoot !== 'warn' && checkRoot !== false) throw typeError(fn, 'checkRoot', "'raise', 'warn' or false", checkRoot);
  const rootTol = opts.rootTol ?? ROOT_TOL;
  if (typeof rootTol !== 'number' || !(rootTol > 0)) throw typeError(fn, 'rootTol', 'a positive number', rootTol);
  return { argnums: list, single: !Array.isArray(raw), hasAux: opts.hasAux ?? false, solve, onSolve: opts.onSolve, warn, checkRoot, rootTol };
}

