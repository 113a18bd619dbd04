/**
 * The backward linear solves of implicit differentiation: any user-chosen solver (a factory's or
 * hand-written) run on values, then checked — finite, and the system really solved (true residual,
 * refinement) — and reported, before the linear-solve layer's implicit rule
 * (ts/linalg/implicit-solve.ts) makes the result differentiable to any order.
 */
import { noGrad } from '../../autograd/grad-mode';
import { NumericalError } from '../../errors';
import { type ValueSolve, solveImplicitly } from '../../linalg/implicit-solve';
import { type VecOp, problemOf } from '../../linalg/operator';
import { add, gtMask, sub } from '../../ops/elementwise';
import { detach } from '../../ops/inplace';
import { machineEpsilon } from '../../tensor/dtype';
import type { Tensor } from '../../tensor/tensor';
import { flatten } from '../../tree/tree';
import type { SolveInfo } from './diagnostics';
import { batchOf } from '../../tensor/batched';
import { memberNorms, pickMembers, recordMemberChecks, valuesOf } from '../../linalg/members';
import { isRecording } from '../../tensor/trace';
import { treeNormT } from '../../tree/tree-math';
import type { LinearSolver } from './types';

/** Where a solve reports to, and how it names itself in errors. */
export interface SolveContext {
  site: string;
  report: (info: SolveInfo) => void;
}

function checkFinite(ctx: SolveContext, what: string, ts: readonly Tensor[], info: SolveInfo | null): void {
  for (const t of ts) {
    const values = valuesOf(t);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        const detail = info ? ` after ${info.iterations} iterations (residual norm ${info.residualNorm})` : '';
        throw new NumericalError(
          `${ctx.site}: the backward linear solve produced a non-finite ${what}${detail}; the linear system is probably singular or ` +
            'ill-conditioned (check the optimality function, add ridge regularisation, or use another solver)',
        );
      }
    }
  }
}

/** The tolerances the solver was built with (a hand-written solver gets TorchOpt's CG defaults). */
function tolerancesOf(solve: LinearSolver): { rtol: number; atol: number } {
  const o = (solve as { options?: { rtol?: unknown; atol?: unknown } }).options;
  const rtol = typeof o?.rtol === 'number' ? o.rtol : 1e-5;
  const atol = typeof o?.atol === 'number' ? o.atol : 0;
  return { rtol, atol };
}

function kindOf(solve: LinearSolver): string {
  const k = (solve as { kind?: unknown }).kind;
  return typeof k === 'string' ? k : solve.name || 'the linear solver';
}

function hint(kind: string): string {
  if (kind === 'solveCg') {
    return 'solveCg needs a symmetric positive-definite system, which (∂F/∂x)ᵀ is only when F is the gradient of a convex objective; ' +
      'use solveNormalCg, solveGmres, solveBicgstab or solveDense for a general Jacobian';
  }
  if (kind === 'solveInv') return 'a Neumann series converges only when the spectral radius of I − αA is below 1; lower alpha, or use solveNormalCg or solveDense';
  return 'add ridge regularisation, check the optimality function, or use solveDense to see the system directly';
}

/**
 * The system the implicit function theorem needs must be solved, whatever the solver reports:
 * normal CG "converges" on a singular system (AᵀA x = Aᵀb has a solution when A x = b has none),
 * CG's recurrence residual drifts from the true one on a non-symmetric matrix. The true residual
 * ‖A x − b‖ is compared with the solver's own tolerance; when a converged solve misses it, a few
 * rounds of refinement (solving for the remaining residual) tell an ill-conditioned system, whose
 * residual they reduce, from an inconsistent one, whose residual stays. Returns the refined x.
 */
function checkSolved(
  matvec: VecOp,
  b: readonly Tensor[],
  x0: Tensor[],
  info: SolveInfo | null,
  solve: LinearSolver,
  ctx: SolveContext,
): { x: Tensor[]; info: SolveInfo } {
  // Inside vmap each member is its own system, judged on its own.
  const { levels, sizes } = batchOf([...b, ...x0]);
  const norms = (v: readonly Tensor[]): Float64Array => memberNorms(v, levels, sizes);
  const label = (m: number): string => (levels.length > 0 ? ` (member ${m} of the vmap batch)` : '');
  const bn = norms(b);
  const residualOf = (x: Tensor[]): Tensor[] => noGrad(() => matvec(x).map((ax, i) => sub(b[i], ax)));
  let x = x0;
  let res = residualOf(x);
  let rn = norms(res);
  const kind = kindOf(solve);
  const stats = (m: number): string => `‖A x − b‖ = ${rn[m].toExponential(3)} for ‖b‖ = ${bn[m].toExponential(3)}`;
  rn.forEach((r, m) => {
    if (!Number.isFinite(r)) {
      throw new NumericalError(`${ctx.site}: the backward linear solve (${kind}) left a non-finite residual${label(m)} (${stats(m)}); ${hint(kind)}`);
    }
    if (r > bn[m] && r > 0) {
      // Returning x = 0 would have been closer: the result is worse than no solve at all.
      throw new NumericalError(
        `${ctx.site}: the backward linear solve (${kind}) diverged${label(m)}: ${stats(m)}, worse than x = 0 ` +
          `(after ${info?.iterations ?? '?'} iterations); ${hint(kind)}`,
      );
    }
  });
  if (info !== null && !info.converged) return { x, info }; // a deliberate budget: reported (and warned about) as approximate
  const { rtol, atol } = tolerancesOf(solve);
  const eps = machineEpsilon(b.some((t) => t.dtype === 'float32') ? 'float32' : 'float64');
  const allowed = bn.map((n) => Math.max(10 * Math.max(rtol * n, atol), 100 * eps * n));
  const above = (): number[] => [...rn.keys()].filter((m) => rn[m] > allowed[m]);
  if (info === null) {
    // A hand-written solver that reports nothing is judged by its true residual: within the
    // tolerance it has converged, otherwise its answer is approximate (and warned about once).
    const worst = [...rn.keys()].reduce((w, m) => (rn[m] / allowed[m] > rn[w] / allowed[w] ? m : w), 0);
    return { x, info: { solver: kind, iterations: Number.NaN, residualNorm: rn[worst], tolerance: allowed[worst], converged: above().length === 0 } };
  }
  for (let round = 0; above().length > 0; round++) {
    const before = rn.slice();
    if (round < 3) {
      const d = noGrad(() => flatten(solve((v) => matvec(v as Tensor[]), res.map(detach)))[0]);
      if (d.length === x.length && norms(d).every(Number.isFinite)) {
        const refined = noGrad(() => x.map((xi, i) => add(xi, d[i])));
        const refinedRes = residualOf(refined);
        const refinedNorm = norms(refinedRes);
        // Each member keeps the refinement only if it lowered its residual.
        const better = Array.from(refinedNorm, (n, m) => n < before[m]);
        x = noGrad(() => pickMembers(better, refined, x, levels, sizes));
        res = noGrad(() => pickMembers(better, refinedRes, res, levels, sizes));
        rn = rn.map((n, m) => (better[m] ? refinedNorm[m] : n));
      }
    }
    const stuck = above().find((m) => round >= 3 || rn[m] > 0.5 * before[m]);
    if (stuck !== undefined) {
      const m = stuck;
      throw new NumericalError(
        `${ctx.site}: the backward linear solve (${kind}) reported convergence, but the system the implicit function theorem needs ` +
          `is not solved${label(m)}: ‖A x − b‖ = ${rn[m].toExponential(3)} for ‖b‖ = ${bn[m].toExponential(3)} (tolerance ${allowed[m].toExponential(3)}), and refining ` +
          'does not reduce it. The Jacobian of the optimality function with respect to the solution is singular at this point ' +
          `(the system is inconsistent) or too ill-conditioned for ${kind}; ${hint(kind)}`,
      );
    }
  }
  return { x, info };
}

/**
 * The checked solve as `mg.jit` records it: the residual is checked at every replay (finite, and
 * not worse than x = 0); the refinement of a solve that misses its tolerance, which depends on
 * values, does not run; the solver's SolveInfo is reported after every replay.
 */
function recordedSolve(b: readonly Tensor[], A: VecOp, solve: LinearSolver, ctx: SolveContext): Tensor[] {
  // The solver's SolveInfo (delivered again after every replay) goes to the wrapper's report.
  const x = flatten(solve((v) => A(v as Tensor[]), b.map(detach), { onInfo: (i) => ctx.report(i) }))[0];
  if (x.length !== b.length) throw new NumericalError(`${ctx.site}: the linear solver returned ${x.length} tensors for a right-hand side of ${b.length}`);
  const res = noGrad(() => A(x).map((ax, i) => sub(b[i], ax)));
  const diverged = noGrad(() => gtMask(treeNormT(res), treeNormT(b)));
  recordMemberChecks([...x, ...res], diverged, `${ctx.site}: the backward linear solve (${kindOf(solve)}) left a non-finite residual or diverged (‖A x − b‖ > ‖b‖; found when mg.jit replayed it); ${hint(kindOf(solve))}`);
  return x;
}

/** Solves A x = b (flat lists) with `solve`; differentiable in b and in A's tensors when grad mode is on. */
export function solveLinear(matvec: VecOp, b: Tensor[], solve: LinearSolver, ctx: SolveContext): Tensor[] {
  // The values-only solve, checked and refined; the linear-solve layer's implicit rule makes the
  // result differentiable (its backward solves go through this same function, checks included).
  const checked: ValueSolve = (q, A) => {
    if (isRecording()) return recordedSolve(q.b, A, solve, ctx);
    let info: SolveInfo | null = null;
    let x: Tensor[];
    // Reported once the result is checked, so a solve that is about to raise does not also warn.
    try {
      const x0 = flatten(solve((v) => A(v as Tensor[]), q.b.map(detach), { onInfo: (i) => (info = i) }))[0];
      if (x0.length !== q.b.length) {
        throw new NumericalError(`${ctx.site}: the linear solver returned ${x0.length} tensors for a right-hand side of ${q.b.length}`);
      }
      checkFinite(ctx, 'solution', x0, info);
      ({ x, info } = checkSolved(A, q.b, x0, info, solve, ctx));
    } catch (e) {
      const base: SolveInfo = info ?? { solver: kindOf(solve), iterations: 0, residualNorm: Number.NaN, tolerance: Number.NaN, converged: false };
      ctx.report({ ...base, converged: false, error: (base as { error?: string }).error ?? (e instanceof Error ? e.message : String(e)) });
      throw e;
    }
    ctx.report(info as SolveInfo);
    return x;
  };
  return solveImplicitly(problemOf(ctx.site, b), matvec, checked);
}
