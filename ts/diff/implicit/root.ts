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
import { typeError } from '../../errors';
import { neg } from '../../ops/elementwise';
import { detach } from '../../ops/inplace';
import { zerosOf, wrap } from '../../ops/util';
import { fmtShape, sameShape } from '../../tensor/shape';
import type { Tensor } from '../../tensor/tensor';
import { type TreeSpec, flatten, unflatten } from '../../tree/tree';
import { solveNormalCg } from '../../linear-solve/index';
import { type BackwardSolveInfo, reportSolve } from './diagnostics';
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
}

const OPTION_KEYS = ['argnums', 'hasAux', 'solve', 'onSolve', 'warnNotConverged'];

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
  return { argnums: list, single: !Array.isArray(raw), hasAux: opts.hasAux ?? false, solve, onSolve: opts.onSolve, warn };
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

/**
 * The VJP of the solution map at the root: returns, per differentiated argument leaf, uᵀ ∂F/∂θ with
 * (∂F/∂x)ᵀ u = −v. Differentiable when grad mode is on.
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
): Tensor[][] {
  const createGraph = isGradEnabled();
  // Without a graph to build, fresh leaves keep F's graph small and self-contained.
  const xIn = x.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true)));
  const thetaIn = p.leaves.map((ls) => ls.map((t) => (createGraph && t.requiresGrad ? t : detach(t).requiresGrad_(true))));
  const fs = enableGrad(() => evalOptimality(site, F, xIn, solSpec, substitute(args, r.argnums, p, thetaIn)));
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
  const ctx = { site, report: (info: { iterations: number; residualNorm: number; converged: boolean }) => reportSolve({ ...info, site }, r.onSolve, r.warn, r) };
  const u = solveLinear(matvecT, v.map((t) => neg(t)), r.solve, ctx);
  const targets = thetaIn.flat();
  const gs = live.length === 0
    ? targets.map((t) => zerosOf(t.shape, t.dtype))
    : (grad(live.map(([f]) => f), targets, {
        gradOutputs: live.map(([, i]) => u[i]),
        createGraph,
        retainGraph: createGraph,
        allowUnused: true,
        materializeGrads: true,
        stopAt,
      }) as Tensor[]);
  let k = 0;
  return thetaIn.map((ls) => ls.map(() => gs[k++]));
}

/**
 * `customRoot(optimalityFn, { argnums, hasAux, solve })(solverFn)`: wraps `solverFn` so its
 * solution is differentiable with respect to the `argnums` arguments by the implicit function
 * theorem. `optimalityFn` takes solverFn's arguments with the solution in place of the first and
 * returns a tree shaped like the solution, zero at the solution.
 */
export function customRoot(optimalityFn: OptimalityFn, opts: CustomRootOptions) {
  const fn = 'customRoot';
  if (typeof optimalityFn !== 'function') throw typeError(fn, 'optimalityFn', 'a function', optimalityFn);
  const r = resolveOptions(fn, opts);
  return <S extends (...args: never[]) => unknown>(solverFn: S): S => {
    if (typeof solverFn !== 'function') throw typeError(fn, 'solverFn', 'a function', solverFn);
    const site = `customRoot(${solverFn.name || 'solver'})`;
    const wrapped = (...args: unknown[]): unknown => {
      const maxArg = Math.max(...r.argnums);
      if (maxArg >= args.length) {
        throw new RangeError(`${site}: argnums refers to argument ${maxArg}, but the solver was called with ${args.length} argument(s)`);
      }
      const result = noGrad(() => (solverFn as unknown as AnyFn)(...args));
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
        let self: Node | null = null;
        recordMulti('ImplicitRootBackward0', flatTheta, outs, (grads, needs) => {
          const v = grads.map((g, i) => g ?? zerosOf(outs[i].shape, outs[i].dtype));
          const per = rootVjpFlat(site, optimalityFn, outs, solSpec, args, r, p, v, self ? [self] : []);
          const flat = per.flat();
          return flat.map((g, i) => (needs[i] ? g : null));
        });
        self = outs[0].gradFn as Node;
      }
      const sol = unflatten(solSpec, outs);
      return r.hasAux ? [sol, aux] : sol;
    };
    Object.defineProperty(wrapped, 'name', { value: solverFn.name || 'customRootSolver' });
    return wrapped as unknown as S;
  };
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
    return unflatten(spec, txs.map((t, i) => t.sub(xs[i])));
  };
  return customRoot(F as OptimalityFn, opts);
}

/** Options of {@link rootVjp} and {@link rootJvp}. */
export interface RootDiffOptions {
  /** Argument positions (in `args`, where args[0] is replaced by the solution) to differentiate. */
  argnums: number | number[];
  /** Linear solver (default `solveNormalCg()`). */
  solve?: LinearSolver;
}

/**
 * Functional reverse mode at a root: given the solution x* of F(x, ...args) = 0 and a cotangent v
 * shaped like x*, returns one VJP tree per entry of `argnums` (the cotangent times the Jacobian of the solution).
 */
export function rootVjp(optimalityFn: OptimalityFn, solution: unknown, args: unknown[], cotangent: unknown, opts: RootDiffOptions): unknown[] {
  const r = resolveOptions('rootVjp', { argnums: opts.argnums, solve: opts.solve });
  const [xs, solSpec] = flatten(solution);
  const [vs] = flatten(cotangent);
  if (vs.length !== xs.length) throw new TypeError(`rootVjp: the cotangent has ${vs.length} tensor(s) but the solution has ${xs.length}`);
  const fullArgs = [solution, ...args.slice(1)];
  const p = collectParams(fullArgs, r.argnums);
  const per = rootVjpFlat('rootVjp', optimalityFn, xs.map((t) => detach(t)), solSpec, fullArgs, r, p, vs, []);
  return per.map((ls, i) => unflatten(p.specs[i], ls));
}

/**
 * Functional forward mode at a root: given tangents (one tree per entry of `argnums`), returns the
 * tangent of the solution, dx* = −(∂F/∂x)⁻¹ (∂F/∂θ)·t.
 */
export function rootJvp(optimalityFn: OptimalityFn, solution: unknown, args: unknown[], tangents: unknown[], opts: RootDiffOptions): unknown {
  const r = resolveOptions('rootJvp', { argnums: opts.argnums, solve: opts.solve });
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
    const flatTheta = thetaIn.flat();
    if (ts.length !== flatTheta.length) throw new TypeError(`rootJvp: tangents have ${ts.length} tensor(s), the arguments ${flatTheta.length}`);
    // (∂F/∂θ)ᵀ w and (∂F/∂x)ᵀ w as linear maps; their transposes give the forward products.
    const vjpTheta: FlatMatVec = (w) => grad(fs, flatTheta, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const vjpX: FlatMatVec = (w) => grad(fs, xIn, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const jvpTheta = transposeOf(vjpTheta, fs);
    const fThetaT = withGradMode(createGraph, () => jvpTheta(ts));
    const A = transposeOf(vjpX, xIn);
    const ctx = { site: 'rootJvp', report: (info: { iterations: number; residualNorm: number; converged: boolean }) => reportSolve({ ...info, site: 'rootJvp' }) };
    const dx = withGradMode(createGraph, () => solveLinear(A, fThetaT.map((t) => neg(t)), r.solve, ctx));
    const outer = xs.some((t) => t.requiresGrad) || p.leaves.flat().some((t) => t.requiresGrad) || ts.some((t) => t.requiresGrad);
    return unflatten(solSpec, createGraph && outer ? dx : dx.map((t) => detach(t)));
  });
}
