/**
 * The differentiation rules at a root, F(x*, θ) = 0, by the implicit function theorem: reverse mode
 * solves (∂F/∂x)ᵀ u = −v matrix-free and returns uᵀ ∂F/∂θ; forward mode solves (∂F/∂x) dx =
 * −(∂F/∂θ) t. Written in differentiable operations, so higher orders come out of the same code.
 * Also the check that x* is a root at all. Used by the customRoot decorator (root.ts) and exported
 * as rootVjp / rootJvp.
 */
import { grad } from '../../autograd/engine';
import { enableGrad, isGradEnabled, withGradMode } from '../../autograd/grad-mode';
import { NumericalError, typeError } from '../../errors';
import { neg } from '../../ops/elementwise';
import { detach } from '../../ops/inplace';
import { reshapeRecorded } from '../../ops/shape';
import { zerosOf } from '../../ops/util';
import { fmtShape, sameShape } from '../../tensor/shape';
import type { Tensor } from '../../tensor/tensor';
import { type TreeSpec, flatten, unflatten } from '../../tree/tree';
import { type SolveInfo, reportSolve, warnOnce } from './diagnostics';
import { memberNorms, memberNormsRecorded } from '../../linalg/members';
import { batchOf } from '../../tensor/batched';
import { batchedOver } from '../../ops/broadcast';
import { solveLinear } from './linear-solve-op';
import type { VecOp } from '../../linalg/operator';
import { transposeOp } from '../../linalg/implicit-solve';
import type { LinearSolver } from './types';
import { type AnyFn, type OptimalityFn, type Resolved, resolveOptions } from './root-options';
import { isRecording, reportAtReplay } from '../../tensor/trace';

/** Tensors of the differentiated arguments that require grad, with where they sit. */
export interface Params {
  specs: TreeSpec[];
  /** All tensor leaves per argnum (in flatten order). */
  leaves: Tensor[][];
}

export function collectParams(args: unknown[], argnums: number[]): Params {
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
export interface RootEval {
  xIn: Tensor[];
  thetaIn: Tensor[][];
  fs: Tensor[];
}

/**
 * Evaluates F at (x, θ) with gradient recording on, on stand-ins for x and θ at which the partial
 * derivatives are taken. With `createGraph` a stand-in of a tensor that requires grad is an
 * identity view of it, so higher orders connect to the outer graph while nothing recorded before
 * (the solution's own implicit node, whose inputs are θ, not the views) leads to the stand-ins:
 * a backward pass to them never re-enters it. Otherwise fresh leaves keep F's graph small and
 * self-contained.
 */
export function evalAtRoot(site: string, F: OptimalityFn, x: Tensor[], solSpec: TreeSpec, args: unknown[], r: Resolved, p: Params, createGraph: boolean): RootEval {
  const stand = (t: Tensor): Tensor => (createGraph && t.requiresGrad ? reshapeRecorded(t, t.shape as number[]) : detach(t).requiresGrad_(true));
  const xIn = x.map(stand);
  // Inside vmap a θ shared by the members is repeated per member, so that the partials with
  // respect to it come out per member (the implicit node sums them for the shared input).
  const { levels, sizes } = batchOf(x);
  // Recorded even when the backward that asks runs with grad mode off (the stand-ins are its targets).
  const thetaIn = enableGrad(() => p.leaves.map((ls) => ls.map((t) => batchedOver(stand(t), levels, sizes))));
  const fs = enableGrad(() => evalOptimality(site, F, xIn, solSpec, substitute(args, r.argnums, p, thetaIn)));
  return { xIn, thetaIn, fs };
}

/**
 * Raises (or warns, per `checkRoot`) when x* is not a root of F: the implicit function theorem
 * gives the derivative of the root map only at a root, and anywhere else its answer is silently
 * wrong (a solver that returned its initial guess, diverged, or stopped early).
 */
export function checkIsRoot(site: string, r: Resolved, x: readonly Tensor[], fs: readonly Tensor[]): void {
  if (r.checkRoot === false) return;
  // Inside vmap each member's solution is checked (and named) on its own.
  const { levels, sizes } = batchOf([...x, ...fs]);
  const batched = levels.length > 0;
  if (isRecording()) {
    // Under a jit recording the norms exist only at replay: judged there, after every replay.
    reportAtReplay([memberNormsRecorded(x, levels, sizes), memberNormsRecorded(fs, levels, sizes)], ([xns, fns]) => judgeRoot(site, r, xns, fns, batched));
    return;
  }
  judgeRoot(site, r, memberNorms(x, levels, sizes), memberNorms(fs, levels, sizes), batched);
}

/** Raises (or warns, with checkRoot: 'warn') unless every member's solution is a root, from its norms. */
function judgeRoot(site: string, r: Resolved, xns: ArrayLike<number>, fns: ArrayLike<number>, batched: boolean): void {
  let problem: string | null = null;
  for (let m = 0; m < xns.length && problem === null; m++) {
    const [xn, fn] = [xns[m], fns[m]];
    const who = batched ? ` (member ${m} of the vmap batch)` : '';
    if (!Number.isFinite(xn)) problem = `the solver returned a solution with non-finite entries (NaN or ±Infinity)${who}`;
    else if (!Number.isFinite(fn)) problem = `the optimality function is not finite at the solution${who} (‖F(x*, θ)‖ = ${fn})`;
    else if (fn > r.rootTol * Math.max(1, xn)) {
      problem =
        `the solver's result is not a root of the optimality function${who}: ‖F(x*, θ)‖ = ${fn.toExponential(3)} for ‖x*‖ = ${xn.toExponential(3)} ` +
        `(${(fn / Math.max(1, xn)).toExponential(3)} relative to max(1, ‖x*‖), above rootTol = ${r.rootTol})`;
    }
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
export function rootVjpFlat(
  site: string,
  F: OptimalityFn,
  x: Tensor[],
  solSpec: TreeSpec,
  args: unknown[],
  r: Resolved,
  p: Params,
  v: Tensor[],
  atRoot?: RootEval,
): Tensor[][] {
  const createGraph = isGradEnabled();
  const { xIn, thetaIn, fs } = !createGraph && atRoot ? atRoot : evalAtRoot(site, F, x, solSpec, args, r, p, createGraph);
  const live = fs.map((f, i) => [f, i] as const).filter(([f]) => f.requiresGrad);
  const matvecT: VecOp = (w) => {
    if (live.length === 0) return x.map((t) => zerosOf(t.shape, t.dtype));
    return grad(live.map(([f]) => f), xIn, {
      gradOutputs: live.map(([, i]) => w[i]),
      createGraph: isGradEnabled(),
      retainGraph: true,
      allowUnused: true,
      materializeGrads: true,
    }) as Tensor[];
  };
  // Under a jit recording the residual exists only at replay: it is delivered there (before the
  // solve's own report, which carries it).
  let rootResidual = Number.NaN;
  if (isRecording()) reportAtReplay([memberNormsRecorded(fs)], ([v]) => (rootResidual = Math.max(...v)));
  else rootResidual = Math.max(...memberNorms(fs));
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
      }) as Tensor[]);
  let k = 0;
  return thetaIn.map((ls) => ls.map(() => gs[k++]));
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
  const per = rootVjpFlat('rootVjp', optimalityFn, x, solSpec, fullArgs, r, p, vs, atRoot);
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
    const { xIn, thetaIn, fs } = evalAtRoot('rootJvp', optimalityFn, xs, solSpec, fullArgs, r, p, createGraph);
    checkIsRoot('rootJvp', r, xIn, fs);
    const flatTheta = thetaIn.flat();
    if (ts.length !== flatTheta.length) throw new TypeError(`rootJvp: tangents have ${ts.length} tensor(s), the arguments ${flatTheta.length}`);
    // (∂F/∂θ)ᵀ w and (∂F/∂x)ᵀ w as linear maps; their transposes give the forward products.
    const vjpTheta: VecOp = (w) => grad(fs, flatTheta, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const vjpX: VecOp = (w) => grad(fs, xIn, { gradOutputs: w, createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true }) as Tensor[];
    const jvpTheta = transposeOp(vjpTheta, fs);
    const fThetaT = withGradMode(createGraph, () => jvpTheta(ts));
    const A = transposeOp(vjpX, xIn);
    // Under a jit recording the residual exists only at replay: it is delivered there (before the
  // solve's own report, which carries it).
  let rootResidual = Number.NaN;
  if (isRecording()) reportAtReplay([memberNormsRecorded(fs)], ([v]) => (rootResidual = Math.max(...v)));
  else rootResidual = Math.max(...memberNorms(fs));
    const ctx = { site: 'rootJvp', report: (info: SolveInfo) => reportSolve({ ...info, site: 'rootJvp', rootResidual }) };
    const dx = withGradMode(createGraph, () => solveLinear(A, fThetaT.map((t) => neg(t)), r.solve, ctx));
    const outer = xs.some((t) => t.requiresGrad) || p.leaves.flat().some((t) => t.requiresGrad) || ts.some((t) => t.requiresGrad);
    return unflatten(solSpec, createGraph && outer ? dx : dx.map((t) => detach(t)));
  });
}

