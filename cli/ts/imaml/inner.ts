/**
 * iMAML's inner problem and per-task meta-gradient (Rajeswaran et al. 2019). For meta-parameters
 * θ and a task's support set, the adapted parameters are
 *   φ*(θ) = argmin_φ  L_support(φ) + (λ/2)‖φ − θ‖²,
 * found with a few gradient steps; the meta-gradient of the query loss L_query(φ*(θ)) comes from
 * the implicit function theorem on the optimality condition ∇_φ L_support(φ) + λ(φ − θ) = 0
 * (customRoot), never from backpropagating through the steps. This module is shared by the main
 * thread and the worker threads, so both produce identical numbers.
 */
import { type Tensor, autograd, diff, enableGrad, expand, func, jit, linearSolve, nn, noGrad, stack, tensor, unsqueeze } from 'metagrad';
import type { SinusoidTask } from '../tasks';
import { thetaLeaves } from '../params';
import { type ImplicitProximal, MAX_HALVINGS, type SupportLoss, adaptProximal, implicitProximal, proximalGradient } from '../proximal';
import { mlpForward } from './model';

/** How a task is adapted and how its meta-gradient is formed. */
export interface InnerConfig {
  /** Gradient steps on the inner objective. */
  steps: number;
  /** Step size of those steps. */
  lr: number;
  /** Strength λ of the proximal term (λ/2)‖φ − θ‖². */
  lambda: number;
  /** Iterations of normal-equation CG in the implicit backward. */
  cgIterations: number;
}

/** What one task contributes to a meta-batch. */
export interface TaskResult {
  /** Query MSE after adaptation. */
  queryLoss: number;
  /** d L_query / d θ, one array per parameter. */
  grads: Float32Array[];
  /** Residual norm of the backward linear solve. */
  residual: number;
  /** ‖F(φ, θ)‖ of the adapted parameters: how far the inner solve stopped from the root. */
  rootResidual: number;
}

/** A column tensor [N, 1] from values. */
export function column(values: Float32Array): Tensor {
  return tensor(values, { shape: [values.length, 1] });
}

/** L_support(φ) + (λ/2)‖φ − θ‖². */
export function innerObjective(phi: readonly Tensor[], theta: readonly Tensor[], x: Tensor, y: Tensor, lambda: number): Tensor {
  let prox = phi[0].sub(theta[0]).square().sum();
  for (let i = 1; i < phi.length; i++) prox = prox.add(phi[i].sub(theta[i]).square().sum());
  return nn.functional.mseLoss(mlpForward(phi, x), y).add(prox.mul(lambda / 2));
}

/** The support MSE of the network as a function of its parameters. */
function supportMse(x: Tensor, y: Tensor): SupportLoss {
  return (p) => nn.functional.mseLoss(mlpForward(p, x), y);
}

/** ∇_φ of the inner objective, ∇L_support(φ) + λ(φ − θ) (see ../proximal.ts). */
export function innerGradient(phi: readonly Tensor[], theta: readonly Tensor[], x: Tensor, y: Tensor, lambda: number, createGraph: boolean): Tensor[] {
  return proximalGradient(phi, theta, supportMse(x, y), lambda, createGraph);
}

/** `cfg.steps` backtracking gradient steps on the inner objective from φ = θ (see ../proximal.ts). Returns detached tensors. */
export function adapt(theta: readonly Tensor[], x: Tensor, y: Tensor, cfg: InnerConfig): Tensor[] {
  return adaptProximal(theta, supportMse(x, y), cfg);
}

/** The optimality function of customRoot (the batched job's wrapper below). */
function optimality(phi: Tensor[], theta: Tensor[], x: Tensor, y: Tensor, lambda: number): Tensor[] {
  return innerGradient(phi, theta, x, y, lambda, true);
}

type Solver = ImplicitProximal['solver'];

// One wrapper per configuration: customRoot's diagnostics are per wrapper.
const solvers = new Map<string, ImplicitProximal>();

function implicitSolver(cfg: InnerConfig): ImplicitProximal {
  const key = `${cfg.steps}/${cfg.lr}/${cfg.cgIterations}`;
  let entry = solvers.get(key);
  if (entry === undefined) {
    // atol 0 with a fixed iteration budget, as TorchOpt's iMAML example (solve_normal_cg(maxiter=5, atol=0)).
    entry = implicitProximal(supportMse, linearSolve.solveNormalCg({ maxiter: cfg.cgIterations, atol: 0 }), (theta, x, y) => adapt(theta, x, y, cfg));
    solvers.set(key, entry);
  }
  return entry;
}

/** Adapts θ to the task's support set and returns the query loss and its implicit meta-gradient. */
export function taskMetaGradient(theta: readonly Float32Array[], shapes: readonly number[][], task: SinusoidTask, cfg: InnerConfig): TaskResult {
  const params = thetaLeaves(theta, shapes);
  const entry = implicitSolver(cfg);
  const phi = entry.solver(params, params, column(task.xSupport), column(task.ySupport), cfg.lambda);
  const loss = nn.functional.mseLoss(mlpForward(phi, column(task.xQuery)), column(task.yQuery));
  const grads = autograd.grad(loss, params);
  return { queryLoss: loss.item(), grads: grads.map((g) => Float32Array.from(g.data)), residual: entry.residual, rootResidual: entry.rootResidual };
}

// ---- batched: all tasks of a job in one pass (func.vmap) ------------------------------------

/** Tasks' sets stacked: [T, N, 1] inputs and targets. */
function stacked(tasks: readonly SinusoidTask[], pick: (t: SinusoidTask) => Float32Array): Tensor {
  return stack(tasks.map((t) => column(pick(t))), 0);
}

/** Each member's MSE of the network with stacked parameters on stacked data, as numbers. */
function memberMse(phi: readonly Tensor[], x: Tensor, y: Tensor): Float64Array {
  const losses = noGrad(() => func.vmap((p: Tensor[], xi: Tensor, yi: Tensor) => nn.functional.mseLoss(mlpForward(p, xi), yi))([...phi], x, y));
  return Float64Array.from(losses.data);
}

/** Rows of a stacked tensor's data, one per member. */
function rowsOf(t: Tensor, members: number): Float32Array[] {
  const n = t.numel / members;
  return Array.from({ length: members }, (_, m) => (t.data as Float32Array).subarray(m * n, (m + 1) * n));
}

/**
 * {@link adapt} for a batch of tasks at once: the network runs on all of them together (vmap),
 * while each task keeps its own step size, backtracking and stopping, so the result equals
 * adapting them one by one up to the order of float sums. θ is shared; returns stacked φ [T, …].
 */
export function adaptBatched(theta: readonly Tensor[], x: Tensor, y: Tensor, cfg: InnerConfig): Tensor[] {
  const members = x.shape[0];
  const anchor = theta.map((t) => t.detach());
  const anchorRows = anchor.map((a) => a.data as Float32Array);
  let phi = anchor.map((a) => expand(unsqueeze(a, 0), [members, ...a.shape]));
  // Plain loops with the arrays hoisted: these run for every trial step of every task. Each
  // member's sum runs over parameters and elements in the order of the one-task sqDist.
  const prox = (p: readonly Tensor[]): Float64Array => {
    const out = new Float64Array(members);
    const data = p.map((t) => t.data);
    for (let m = 0; m < members; m++) {
      let acc = 0;
      for (let i = 0; i < data.length; i++) {
        const [row, a] = [data[i], anchorRows[i]];
        const n = a.length;
        const base = m * n;
        for (let j = 0; j < n; j++) {
          const d = row[base + j] - a[j];
          acc += d * d;
        }
      }
      out[m] = acc;
    }
    return out;
  };
  const objective = (p: readonly Tensor[]): Float64Array => {
    const mse = memberMse(p, x, y);
    const d = prox(p);
    return mse.map((v, m) => v + (cfg.lambda / 2) * d[m]);
  };
  let f = objective(phi);
  const lr = new Float64Array(members).fill(cfg.lr);
  const active = new Array<boolean>(members).fill(true);
  const gradMse = func.vmap(func.grad((p: Tensor[], xi: Tensor, yi: Tensor) => nn.functional.mseLoss(mlpForward(p, xi), yi)));
  for (let s = 0; s < cfg.steps && active.some(Boolean); s++) {
    const gm = enableGrad(() => gradMse([...phi], x, y)) as Tensor[];
    // ∇ of the proximal term, λ(φ − θ), added by hand, member by member.
    const g = gm.map((gi, i) => {
      const out = (gi.data as Float32Array).slice();
      const p = phi[i].data;
      const a = anchorRows[i];
      const n = a.length;
      for (let m = 0, base = 0; m < members; m++, base += n) for (let j = 0; j < n; j++) out[base + j] += cfg.lambda * (p[base + j] - a[j]);
      return out;
    });
    const g2 = new Float64Array(members);
    g.forEach((gi) => {
      const n = gi.length / members;
      for (let m = 0; m < members; m++) for (let j = m * n; j < (m + 1) * n; j++) g2[m] += gi[j] * gi[j];
    });
    const pending = active.slice();
    for (let h = 0; h <= MAX_HALVINGS && pending.some(Boolean); h++) {
      // Trial steps for the members still searching; the others keep their φ.
      const trial = phi.map((t, i) => {
        const src = t.data as Float32Array;
        const gi = g[i];
        const out = src.slice();
        const n = out.length / members;
        for (let m = 0; m < members; m++) {
          if (!pending[m]) continue;
          const step = -lr[m];
          for (let j = m * n, end = j + n; j < end; j++) out[j] = src[j] + step * gi[j];
        }
        return tensor(out, { shape: [...t.shape] });
      });
      const ft = objective(trial);
      const take = pending.map((on, m) => on && ft[m] <= f[m] - 0.5 * lr[m] * g2[m]);
      phi = phi.map((t, i) => {
        const out = (t.data as Float32Array).slice();
        const n = out.length / members;
        for (let m = 0; m < members; m++) if (take[m]) out.set(trial[i].data.subarray(m * n, (m + 1) * n), m * n);
        return tensor(out, { shape: [...t.shape] });
      });
      for (let m = 0; m < members; m++) {
        if (take[m]) {
          f[m] = ft[m];
          pending[m] = false;
        } else if (pending[m]) lr[m] /= 2;
      }
    }
    // No decrease along −g at any tried step: stationary to float precision; that task stops.
    pending.forEach((p, m) => {
      if (p) active[m] = false;
    });
  }
  return phi;
}

/** The customRoot wrapper of the batched job: the adaptation ran beforehand, so the solver hands back its (batched) start. */
const batchedSolvers = new Map<string, { solver: Solver; info: { residuals: number[] } }>();

function batchedSolver(cfg: InnerConfig): { solver: Solver; info: { residuals: number[] } } {
  const key = `${cfg.cgIterations}`;
  const known = batchedSolvers.get(key);
  if (known !== undefined) return known;
  const solve = linearSolve.solveNormalCg({ maxiter: cfg.cgIterations, atol: 0 });
  const info = { residuals: [] as number[] };
  const onSolve = (i: { residualNorm: number; members?: readonly { residualNorm: number }[] }): void => {
    info.residuals = i.members ? i.members.map((x) => x.residualNorm) : [i.residualNorm];
  };
  const wrap = diff.implicit.customRoot(optimality, { argnums: 1, solve, onSolve, warnNotConverged: false, checkRoot: false });
  const entry = { solver: wrap((phi0: Tensor[]) => phi0), info };
  batchedSolvers.set(key, entry);
  return entry;
}

/** A meta-batch's per-task query losses, meta-gradients and optimality residuals F(φ_t, θ). */
type BatchMetaGradient = (theta: Tensor[], phi: Tensor[], xs: Tensor, ys: Tensor, xq: Tensor, yq: Tensor) => [Tensor, Tensor[], Tensor[]];

const batchMetaGradients = new Map<string, BatchMetaGradient>();

/** The batched meta-gradient of the job for `cfg`, eager or through `mg.jit` (one per setting). */
function batchMetaGradient(cfg: InnerConfig, useJit: boolean): BatchMetaGradient {
  const key = `${cfg.cgIterations}:${cfg.lambda}:${useJit}`;
  const known = batchMetaGradients.get(key);
  if (known !== undefined) return known;
  const { solver } = batchedSolver(cfg);
  const metaLoss = (th: Tensor[], p: Tensor[], x: Tensor, y: Tensor, xqi: Tensor, yqi: Tensor): Tensor =>
    nn.functional.mseLoss(mlpForward(solver(p, th, x, y, cfg.lambda), xqi), yqi);
  const supportGrad = func.grad((p: Tensor[], x: Tensor, y: Tensor) => nn.functional.mseLoss(mlpForward(p, x), y));
  const f: BatchMetaGradient = (theta, phi, xs, ys, xq, yq) => {
    const [losses, grads] = func.vmap(func.valueAndGrad(metaLoss), { inDims: [null, 0, 0, 0, 0, 0] })(theta, phi, xs, ys, xq, yq) as [Tensor, Tensor[]];
    // F(φ_t, θ) per task, for the residual ‖F‖ the one-by-one job reports.
    const Fs = noGrad(() => func.vmap((p: Tensor[], x: Tensor, y: Tensor) => (supportGrad(p, x, y) as Tensor[]).map((g, i) => g.add(p[i].sub(theta[i].detach()).mul(cfg.lambda))))(phi, xs, ys)) as Tensor[];
    return [losses, grads, Fs];
  };
  const made = useJit ? jit(f) : f;
  batchMetaGradients.set(key, made);
  return made;
}

/**
 * {@link taskMetaGradient} for all tasks at once: adaptation by {@link adaptBatched}, then each
 * task's query loss and implicit meta-gradient from one vmapped valueAndGrad (the backward
 * normal-CG solves run batched, with per-task scalars), replayed through `mg.jit` with `useJit`
 * (the adaptation, whose backtracking reads values on the host, stays eager). Results in task order.
 */
export function taskMetaGradientsBatched(theta: readonly Float32Array[], shapes: readonly number[][], tasks: readonly SinusoidTask[], cfg: InnerConfig, useJit = false): TaskResult[] {
  const T = tasks.length;
  const params = thetaLeaves(theta, shapes);
  const [xs, ys, xq, yq] = [stacked(tasks, (t) => t.xSupport), stacked(tasks, (t) => t.ySupport), stacked(tasks, (t) => t.xQuery), stacked(tasks, (t) => t.yQuery)];
  const phi = adaptBatched(params, xs, ys, cfg);
  const { info } = batchedSolver(cfg);
  const [losses, grads, Fs] = batchMetaGradient(cfg, useJit)(params, phi, xs, ys, xq, yq);
  const root = new Float64Array(T);
  Fs.forEach((f) => rowsOf(f, T).forEach((row, m) => {
    for (let j = 0; j < row.length; j++) root[m] += row[j] * row[j];
  }));
  return tasks.map((_, m) => ({
    queryLoss: losses.data[m],
    grads: grads.map((g) => Float32Array.from(rowsOf(g, T)[m])),
    residual: info.residuals[m] ?? Number.NaN,
    rootResidual: Math.sqrt(root[m]),
  }));
}

/** Adapts θ to each task (batched) and returns each task's adapted parameters, unstacked. */
export function adaptAllBatched(theta: readonly Tensor[], tasks: readonly SinusoidTask[], cfg: InnerConfig): Tensor[][] {
  const phi = adaptBatched(theta, stacked(tasks, (t) => t.xSupport), stacked(tasks, (t) => t.ySupport), cfg);
  return tasks.map((_, m) => phi.map((p) => p.select(0, m)));
}
