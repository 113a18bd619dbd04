/**
 * customRoot: differentiate the solution of an inner problem F(x*, θ) = 0 by the implicit function
 * theorem instead of through the solver's iterations (TorchOpt's `custom_root`, JAXopt's
 * `custom_root`). Reverse mode: solve (∂F/∂x)ᵀ u = −v matrix-free, then return uᵀ ∂F/∂θ. The
 * backward is written in differentiable operations, so forward mode (func.jvp) and higher orders
 * (grad of grad) through the solution come out of the same code.
 */
import { grad } from '../../autograd/engine';
import { enableGrad, isGradEnabled, noGrad, withGradMode } from '../../autograd/grad-mode';
import { type Node, recordMulti } from '../../autograd/node';
import { NoGraphError, NumericalError, typeError } from '../../errors';
import { neg, sub } from '../../ops/elementwise';
import { detach } from '../../ops/inplace';
import { zerosOf, wrap } from '../../ops/util';
import { fmtShape, sameShape } from '../../tensor/shape';
import type { Tensor } from '../../tensor/tensor';
import { type TreeSpec, flatten, unflatten } from '../../tree/tree';
import { solveNormalCg } from '../../linear-solve/index';
import { type BackwardSolveInfo, type SolveInfo, norm, reportSolve, warnOnce } from './diagnostics';
import { type FlatMatVec, solveLinear, transposeOf } from './linear-solve-op';
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

/** An optimality function as called internally. */
type AnyFn = (...args: unknown[]) => unknown;

interface Resolved {
  argnums: number[];
  single: boolean;
  hasAux: boolean;
  solve: LinearSolver;
  onSolve?: (info: BackwardSolveInfo) => void;
  warn: boolean;
  checkRoot: 'raise' | 'warn' | false;
  rootTol: number;
}

function resolveOptions(fn: string, opts: CustomRootOptions | undefined): Resolved {
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

/** Tensors of the differentiated arguments that require grad, with where they sit. */
interface Params {
  specs: TreeSpec[];
  /** All tensor leaves per argnum (in flatten order). */
  leaves: Tensor[][];
}

function collectParams(args: unknown[], argnums: number[]): Params {
  const specs: TreeSpec[] = [];
  const leaves: Tensor[][] = [];
  for (const a of argnums) {
    const [ls, spec] = flatten(args[a]);
    specs.push(spec);
    leaves.push(ls);
  }
  return { specs, leaves };
}

/** Arguments with the differentiated trees' tensors replaced. */
function substitute(args: unknown[], argnums: number[], p: Params, replaced: Tensor[][]): unknown[] {
  const out = args.slice();
  argnums.forEach((a, i) => {
    out[a] = unflatten(p.specs[i], replaced[i]);
  });
  return out;
}

/** Evaluates F at (x, args) and checks it has the solution's structure and shapes. */
function evalOptimality(site: string, F: OptimalityFn, x: Tensor[], solSpec: TreeSpec, args: unknown[]): Tensor[] {
  const out = (F as unknown as AnyFn)(unflatten(solSpec, x), ...args.slice(1));
  const [fs] = flatten(out);
  if (fs.length !== x.length) {
    throw new TypeError(`${site}: the optimality function returned ${fs.length} tensor(s), but the solution has ${x.length}; it must return a tree with the solution's structure`);
  }
  fs.forEach((f, i) => {
    if (!sameShape(f.shape, x[i].shape)) {
      throw new RangeError(`${site}: optimality output ${i} has shape ${fmtShape(f.shape)} but solution leaf ${i} has shape ${fmtShape(x[i].shape)}`);
    }
  });
  return fs;
}

/** F evaluated at the solution on leaves of its own, ready to be differentiated. */
interface RootEval {
  xIn: Tensor[];
  thetaIn: Tensor[][];
  fs: Tensor[];
}

/**
 * Evaluates F at (x, θ) with gradient recording on. With `createGraph` the outer graph is kept
 * (x and θ themselves are the leaves where they require grad, so higher orders connect); without
 * it fresh leaves keep F's graph small and self-contained.
 */
function evalAtRoot(site: string, F: OptimalityFn, x: Tensor[], solSpec: TreeSpec, args: unknown[], r: Resolved, p: Params, createGraph: boolean): RootEval {
  const xIn = x.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true)));
  const thetaIn = p.leaves.map((ls) => ls.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true))));
  const fs = enableGrad(() => evalOptimality(site, F, xIn, solSpec, substitute(args, r.argnums, p, thetaIn)));
  return { xIn, thetaIn, fs };
}

/**
 * Raises (or warns, per `checkRoot`) when x* is not a root of F: the implicit function theorem
 * gives the derivative of the root map only at a root, and anywhere else its answer is silently
 * wrong (a solver that returned its initial guess, diverged, or stopped early).
 */
function checkIsRoot(site: string, r: Resolved, x: readonly Tensor[], fs: readonly Tensor[]): void {
  if (r.checkRoot === false) return;
  const xn = norm(x);
  const fn = norm(fs);
  let problem: string | null = null;
  if (!Number.isFinite(xn)) problem = 'the solver returned a solution with non-finite entries (NaN or ±Infinity)';
  else if (!Number.isFinite(fn)) problem = `the optimality function is not finite at the solution (‖F(x*, θ)‖ = ${fn})`;
  else if (fn > r.rootTol * Math.max(1, xn)) {
    problem =
      `the solver's result is not a root of the optimality function: ‖F(x*, θ)‖ = ${fn.toExponential(3)} for ‖x*‖ = ${xn.toExponential(3)} ` +
      `(${(fn / Math.max(1, xn)).toExponential(3)} relative to max(1, ‖x*‖), above rootTol = ${r.rootTol})`;
  }
  if (problem === null) return;
  const message =
    `${site}: ${problem}. The implicit function theorem holds only at a root, so the gradient would be wrong. ` +
    "Solve the inner problem more accurately (more iterations, a tighter tolerance), or accept the residual with rootTol, checkRoot: 'warn' or checkRoot: false";
  if (r.checkRoot === 'raise') throw new NumericalError(message);
  warnOnce(r, 'METAGRAD_NOT_A_ROOT', `${message} (shown once per wrapper).`);
}

/**
 * The VJP of the solution map at the root: returns, per differentiated argument leaf, uᵀ ∂F/∂θ with
 * (∂F/∂x)ᵀ u = −v. Differentiable when grad mode is on. `atRoot` is F already evaluated on fresh
 * leaves (by the forward's root check), used when no graph is to be built.
 */
function rootVjpFlat(
  site: string,
  F: OptimalityFn,
  x: Tensor[],
  solSpec: TreeSpec,
  args: unknown[],
  r: Resolved,
  p: Params,
  v: Tensor[],
  stopAt: Node[],
  atRoot?: RootEval,
): Tensor[][] {
  const createGraph = isGradEnabled();
  const { xIn, thetaIn, fs } = !createGraph && atRoot ? atRoot : evalAtRoot(site, F, x, solSpec, args, r, p, createGraph);
  const live = fs.map((f, i) => [f, i] as const).filter(([f]) => f.requiresGrad);
  const matvecT: FlatMatVec = (w) => {
    if (live.length === 0) return x.map((t) => zerosOf(t.shape, t.dtype));
    return grad(live.map(([f]) => f), xIn, {
      gradOutputs: live.map(([, i]) => w[i]),
      createGraph: isGradEnabled(),
      retainGraph: true,
      allowUnused: true,
      materializeGrads: true,
      stopAt,
    }) as Tensor[];
  };
  const rootResidual = norm(fs);
  const ctx = {
    site,
    report: (info: SolveInfo) =>
      reportSolve({ ...info, site, rootResidual }, r.onSolve, r.warn, r),
  };
  const u = solveLinear(matvecT, v.map((t) => neg(t)), r.solve, ctx);
  const targets = thetaIn.flat();
  const gs = live.length === 0
    ? targets.map((t) => zerosOf(t.shape, t.dtype))
    : (grad(live.map(([f]) => f), targets, {
        gradOutputs: live.map(([, i]) => u[i]),
        createGraph,
        retainGraph: createGraph || atRoot !== undefined,
        allowUnused: true,
        materializeGrads: true,
        stopAt,
      }) as Tensor[]);
  let k = 0;
  return thetaIn.map((ls) => ls.map(() => gs[k++]));
}

/** Runs the user's solver with recording off, explaining the failure of a solver that differentiates. */
function runSolver(site: string, solverFn: AnyFn, args: unknown[]): unknown {
  try {
    return noGrad(() => solverFn(...args));
  } catch (e) {
    if (e instanceof NoGraphError) {
      throw new NoGraphError(
        `${site}: the solver failed to differentiate: ${e.message}. customRoot runs the solver with gradient recording off ` +
          '(its iterations are not part of the implicit gradient); a solver that takes gradients itself must turn recording on ' +
          'around them, e.g. mg.enableGrad(() => mg.autograd.grad(loss(x), x)), or use mg.func.grad',
      );
    }
    throw e;
  }
}

/** The wrapper behind {@link customRoot} and {@link customFixedPoint}; `kind` names it in messages. */
function rootWrapper(kind: string, optimalityFn: OptimalityFn, opts: CustomRootOptions) {
  const r = resolveOptions(kind, opts);
  return <S extends (...args: never[]) => unknown>(solverFn: S): S => {
    if (typeof solverFn !== 'function') throw typeError(kind, 'solverFn', 'a function', solverFn);
    const site = `${kind}(${solverFn.name || 'solver'})`;
    const wrapped = (...args: unknown[]): unknown => {
      const maxArg = Math.max(...r.argnums);
      if (maxArg >= args.length) {
        throw new RangeError(`${site}: argnums refers to argument ${maxArg}, but the solver was called with ${args.length} argument(s)`);
      }
      const result = runSolver(site, solverFn as unknown as AnyFn, args);
      let solution: unknown = result;
      let aux: unknown;
      if (r.hasAux) {
        if (!Array.isArray(result) || result.length !== 2) throw new TypeError(`${site}: with hasAux the solver must return [solution, aux]`);
        [solution, aux] = result;
      }
      const [xs, solSpec] = flatten(solution);
      if (xs.length === 0) throw new TypeError(`${site}: the solver returned no tensors (got ${typeof solution})`);
      // Own copies: the solver may keep updating its tensors in place afterwards.
      const outs = xs.map((t) => wrap(t.data.slice(), t.shape));
      const p = collectParams(args, r.argnums);
      const flatTheta = p.leaves.flat();
      const differentiable = isGradEnabled() && flatTheta.some((t) => t.requiresGrad);
      if (differentiable) {
        // F at the solution: checked here, and reused by a first-order backward.
        let atRoot: RootEval | undefined;
        if (r.checkRoot !== false) {
          atRoot = evalAtRoot(site, optimalityFn, outs, solSpec, args, r, p, false);
          checkIsRoot(site, r, outs, atRoot.fs);
        }
        let self: Node | null = null;
        recordMulti('ImplicitRootBackward0', flatTheta, outs, (grads, needs) => {
          const v = grads.map((g, i) => g ?? zerosOf(outs[i].shape, outs[i].dtype));
          const per = rootVjpFlat(site, optimalityFn, outs, solSpec, args, r, p, v, self ? [self] : [], atRoot);
          const flat = per.flat();
          return flat.map((g, i) => (needs[i] ? g : null));
        });
        self = outs[0].gradFn as Node;
      }
      const sol = unflatten(solSpec, outs);
      return r.hasAux ? [sol, aux] : sol;
    };
    Object.defineProperty(wrapped, 'name', { value: solverFn.name || `${kind}Solver` });
    return wrapped as unknown as S;
  };
}

/**
 * `customRoot(optimalityFn, { argnums, hasAux, solve })(solverFn)`: wraps `solverFn` so its
 * solution is differentiable with respect to the `argnums` arguments by the implicit function
 * theorem. `optimalityFn` takes solverFn's arguments with the solution in place of the first and
 * returns a tree shaped like the solution, zero at the solution. The solution is checked to be a
 * root (see {@link CustomRootOptions.checkRoot}).
 */
export function customRoot(optimalityFn: OptimalityFn, opts: CustomRootOptions) {
  if (typeof optimalityFn !== 'function') throw typeError('customRoot', 'optimalityFn', 'a function', optimalityFn);
  return rootWrapper('customRoot', optimalityFn, opts);
}

/**
 * `customFixedPoint(fixedPointFn, opts)(solverFn)`: like {@link customRoot} for a solution of
 * x = T(x, ...args), i.e. the root of F(x, …) = T(x, …) − x.
 */
export function customFixedPoint(fixedPointFn: OptimalityFn, opts: CustomRootOptions) {
  if (typeof fixedPointFn !== 'function') throw typeError('customFixedPoint', 'fixedPointFn', 'a function', fixedPointFn);
  const F = (x: unknown, ...rest: unknown[]): unknown => {
    const tx = (fixedPointFn as unknown as AnyFn)(x, ...rest);
    const [txs, spec] = flatten(tx);
    const [xs] = flatten(x);
    if (txs.length !== xs.length) throw new TypeError(`customFixedPoint: the fixed-point function returned ${txs.length} tensor(s) for a solution of ${xs.length}`);
    return unflatten(spec, txs.map((t, i) => sub(t, xs[i])));
  };
  return rootWrapper('customFixedPoint', F as OptimalityFn, opts);
}

/** Options of {@link rootVjp} and {@link rootJvp}. */
export interface RootDiffOptions {
  /** Argument positions (in `args`, where args[0] is replaced by the solution) to differentiate. */
  argnums: number | number[];
  /** Linear solver (default `solveNormalCg()`). */
  solve?: LinearSolver;
  /** As {@link CustomRootOptions.checkRoot}: the given solution must be a root (default 'raise'). */
  checkRoot?: 'raise' | 'warn' | false;
  /** Relative tolerance of the root check (default 1e-3). */
  rootTol?: number;
}

/**
 * Functional reverse mode at a root: given the solution x* of F(x, ...args) = 0 and a cotangent v
 * shaped like x*, returns one VJP tree per entry of `argnums` (the cotangent times the Jacobian of the solution).
 */
export function rootVjp(optimalityFn: OptimalityFn, solution: unknown, args: unknown[], cotangent: unknown, opts: RootDiffOptions): unknown[] {
  const r = resolveOptions('rootVjp', { argnums: opts.argnums, solve: opts.solve, checkRoot: opts.checkRoot, rootTol: opts.rootTol });
  const [xs, solSpec] = flatten(solution);
  const [vs] = flatten(cotangent);
  if (vs.length !== xs.length) throw new TypeError(`rootVjp: the cotangent has ${vs.length} tensor(s) but the solution has ${xs.length}`);
  const fullArgs = [solution, ...args.slice(1)];
  const p = collectParams(fullArgs, r.argnums);
  const x = xs.map((t) => detach(t));
  const atRoot = evalAtRoot('rootVjp', optimalityFn, x, solSpec, fullArgs, r, p, false);
  checkIsRoot('rootVjp', r, x, atRoot.fs);
  const per = rootVjpFlat('rootVjp', optimalityFn, x, solSpec, fullArgs, r, p, vs, [], atRoot);
  return per.map((ls, i) => unflatten(p.specs[i], ls));
}

/**
 * Functional forward mode at a root: given tangents (one tree per entry of `argnums`), returns the
 * tangent of the solution, dx* = −(∂F/∂x)⁻¹ (∂F/∂θ)·t.
 */
export function rootJvp(optimalityFn: OptimalityFn, solution: unknown, args: unknown[], tangents: unknown[], opts: RootDiffOptions): unknown {
  const r = resolveOptions('rootJvp', { argnums: opts.argnums, solve: opts.solve, checkRoot: opts.checkRoot, rootTol: opts.rootTol });
  const [xs, solSpec] = flatten(solution);
  const fullArgs = [solution, ...args.slice(1)];
  const p = collectParams(fullArgs, r.argnums);
  if (!Array.isArray(tangents) || tangents.length !== r.argnums.length) {
    throw typeError('rootJvp', 'tangents', `an array with one tree per argnum (${r.argnums.length})`, tangents);
  }
  const ts = tangents.flatMap((t) => flatten(t)[0]);
  const createGraph = isGradEnabled();
  return enableGrad(() => {
    const xIn = xs.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true)));
    const thetaIn = p.leaves.map((ls) => ls.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true))));
    const fs = evalOptimality('rootJvp', optimalityFn, xIn, solSpec, substitute(fullArgs, r.argnums, p, thetaIn));
    checkIsRoot('rootJvp', r, xIn, fs);
    const flatTheta = thetaIn.flat();
    if (ts.length !== flatTheta.length) throw new TypeError(`rootJvp: tangents have ${ts.length} tensor(s), the arguments ${flatTheta.length}`);
    // (∂F/∂θ)ᵀ w and (∂F/∂x)ᵀ w as linear maps; their transposes give the forward products.
    const vjpTheta: FlatMatVec = (w) => grad(fs, flatTheta, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const vjpX: FlatMatVec = (w) => grad(fs, xIn, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const jvpTheta = transposeOf(vjpTheta, fs);
    const fThetaT = withGradMode(createGraph, () => jvpTheta(ts));
    const A = transposeOf(vjpX, xIn);
    const rootResidual = norm(fs);
    const ctx = { site: 'rootJvp', report: (info: SolveInfo) => reportSolve({ ...info, site: 'rootJvp', rootResidual }) };
    const dx = withGradMode(createGraph, () => solveLinear(A, fThetaT.map((t) => neg(t)), r.solve, ctx));
    const outer = xs.some((t) => t.requiresGrad) || p.leaves.flat().some((t) => t.requiresGrad) || ts.some((t) => t.requiresGrad);
    return unflatten(solSpec, createGraph && outer ? dx : dx.map((t) => detach(t)));
  });
}
