/**
 * A linear solve that autograd can differentiate to any order: x = A⁻¹ b with A given as a
 * matrix-free operator that may close over tensors requiring grad. The solver runs on values only;
 * differentiability comes from the implicit function theorem applied to A x − b = 0:
 * x̃ = x − S(A x − b), where S is an op whose value is taken as 0 (the residual is solved away)
 * and whose vector-Jacobian product is another such solve with Aᵀ. So dx = A⁻¹(db − dA·x) exactly.
 */
import { grad } from '../../autograd/engine';
import { enableGrad, isGradEnabled, noGrad } from '../../autograd/grad-mode';
import { recordMulti } from '../../autograd/node';
import { NumericalError } from '../../errors';
import { sub } from '../../ops/elementwise';
import { detach } from '../../ops/inplace';
import { zerosOf } from '../../ops/util';
import type { Tensor } from '../../tensor/tensor';
import { flatten } from '../../tree/tree';
import type { SolveInfo } from './diagnostics';
import type { LinearSolver } from './types';

/** A linear operator on flat lists of tensors. */
export type FlatMatVec = (v: Tensor[]) => Tensor[];

/** Where a solve reports to, and how it names itself in errors. */
export interface SolveContext {
  site: string;
  report: (info: SolveInfo) => void;
}

function checkFinite(ctx: SolveContext, what: string, ts: readonly Tensor[], info: SolveInfo | null): void {
  for (const t of ts) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) {
        const detail = info ? ` after ${info.iterations} iterations (residual norm ${info.residualNorm})` : '';
        throw new NumericalError(
          `${ctx.site}: the backward linear solve produced a non-finite ${what}${detail}; the linear system is probably singular or ` +
            'ill-conditioned (check the optimality function, add ridge regularisation, or use another solver)',
        );
      }
    }
  }
}

function norm(ts: readonly Tensor[]): number {
  let s = 0;
  for (const t of ts) for (let i = 0; i < t.data.length; i++) s += t.data[i] * t.data[i];
  return Math.sqrt(s);
}

/**
 * A solver that reports convergence yet leaves most of b unexplained has met a singular system
 * (normal CG, for one, happily "solves" AᵀA x = Aᵀb = 0). Implicit gradients from it would be
 * silently wrong, so raise.
 */
function checkConsistent(matvec: FlatMatVec, b: readonly Tensor[], x: readonly Tensor[], info: SolveInfo | null, ctx: SolveContext): void {
  if (info !== null && !info.converged) return;
  const bn = norm(b);
  if (bn === 0) return;
  const rn = noGrad(() => norm(matvec(x as Tensor[]).map((ax, i) => sub(ax, b[i]))));
  if (rn > 0.5 * bn) {
    throw new NumericalError(
      `${ctx.site}: the backward linear solve reported convergence, but ‖A x − b‖ = ${rn.toExponential(3)} for ‖b‖ = ${bn.toExponential(3)}: ` +
        'the linear system is singular (the optimality function\'s Jacobian with respect to the solution is not invertible at this point); ' +
        'add ridge regularisation or check the optimality function',
    );
  }
}

/**
 * The transpose of a linear operator, as the vector-Jacobian product of v ↦ A v (exact for
 * linear maps, and itself differentiable when recorded).
 */
export function transposeOf(matvec: FlatMatVec, like: readonly Tensor[]): FlatMatVec {
  const z = like.map((t) => zerosOf(t.shape, t.dtype).requiresGrad_(true));
  const m = enableGrad(() => matvec(z));
  const live = m.map((t, i) => [t, i] as const).filter(([t]) => t.requiresGrad);
  return (w: Tensor[]) => {
    if (live.length === 0) return like.map((t) => zerosOf(t.shape, t.dtype));
    return grad(
      live.map(([t]) => t),
      z,
      { gradOutputs: live.map(([, i]) => w[i]), createGraph: isGradEnabled(), retainGraph: true, allowUnused: true, materializeGrads: true },
    ) as Tensor[];
  };
}

/** Solves A x = b (flat lists) with `solve`; differentiable in b and in A's tensors when grad mode is on. */
export function solveLinear(matvec: FlatMatVec, b: Tensor[], solve: LinearSolver, ctx: SolveContext): Tensor[] {
  let info: SolveInfo | null = null;
  const x = noGrad(() => {
    const out = solve((v) => matvec(v as Tensor[]), b.map(detach), {
      onInfo: (i) => {
        info = i;
        ctx.report(i);
      },
    });
    return flatten(out)[0];
  });
  if (x.length !== b.length) {
    throw new NumericalError(`${ctx.site}: the linear solver returned ${x.length} tensors for a right-hand side of ${b.length}`);
  }
  checkFinite(ctx, 'solution', x, info);
  checkConsistent(matvec, b, x, info, ctx);
  if (!isGradEnabled()) return x;
  const residual = matvec(x).map((ax, i) => sub(ax, b[i]));
  if (!residual.some((r) => r.requiresGrad)) return x;
  const zeros = x.map((t) => zerosOf(t.shape, t.dtype));
  const corrections = recordMulti('LinearSolveBackward0', residual, zeros, (grads) => {
    const g = grads.map((gi, i) => gi ?? zerosOf(x[i].shape, x[i].dtype));
    return solveLinear(transposeOf(matvec, x), g, solve, ctx);
  });
  return x.map((xi, i) => sub(xi, corrections[i]));
}
