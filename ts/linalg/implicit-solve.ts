/**
 * The one way a linear solve is differentiated (lineax's and JAX's custom_linear_solve): every
 * solver (cg, gmres, bicgstab, ns, the linear-solve factories, the backward solves of implicit
 * differentiation) runs its iterations on values, and the solution x of A x = b is made
 * differentiable by the implicit function theorem applied to A x − b = 0:
 * x̃ = x − S(A x − b), where S is an op whose value is taken as 0 (the residual is solved away)
 * and whose vector-Jacobian product is another such solve, with Aᵀ. So dx = A⁻¹(db − dA·x)
 * exactly, whatever the iteration count, and to any order (the rule is itself recorded).
 */
import { enableGrad, isGradEnabled, noGrad } from '../autograd/grad-mode';
import { grad } from '../autograd/engine';
import { recordMultiBatched } from '../ops/record-batched';
import { zerosLike } from '../ops/creation';
import { sub } from '../ops/elementwise';
import { zerosOf } from '../ops/util';
import { type Problem, type Vec, type VecOp, problemOf, toTree } from './operator';

/**
 * Solves the values-only system `A x = q.b`; `transposed` is true for the solves of the backward
 * rule (Aᵀ u = g), which start from zero rather than from the forward's initial guess.
 */
export type ValueSolve = (q: Problem, A: VecOp, transposed: boolean) => Vec;

/**
 * The settings a value solve runs with: the forward's own, or, for the transposed solves of the
 * backward rule, the same without the forward's initial guess (they start from zero).
 */
export function settingsFor<S extends { x0: unknown }>(s: S, transposed: boolean): S {
  return transposed ? { ...s, x0: undefined } : s;
}

/**
 * The transpose of a linear operator, as the vector-Jacobian product of v ↦ A v recorded once at
 * zero (exact for a linear map; the products are differentiable when grad mode is on as they are
 * taken). An operator with no recorded dependence on v is the zero map, or, with `unconnected`,
 * an error (a caller that must not solve a wrong system silently).
 */
export function transposeOp(A: VecOp, like: Vec, unconnected?: () => Error): VecOp {
  // Batched like `like` inside vmap, so that each member's transpose is its own.
  const z = like.map((t) => zerosLike(t).requiresGrad_(true));
  const m = enableGrad(() => A(z));
  const live = m.map((t, i) => [t, i] as const).filter(([t]) => t.requiresGrad);
  return (w: Vec) => {
    if (live.length === 0) {
      if (unconnected) throw unconnected();
      return like.map((t) => zerosOf(t.shape, t.dtype));
    }
    const gs = grad(
      live.map(([t]) => t),
      z,
      { gradOutputs: live.map(([, i]) => w[i]), createGraph: isGradEnabled(), retainGraph: true, allowUnused: true },
    );
    if (unconnected && gs.every((g) => g === null)) throw unconnected();
    return gs.map((g, i) => g ?? zerosOf(like[i].shape, like[i].dtype));
  };
}

/**
 * x with A x = p.b, solved by `run` on values and differentiable (when grad mode is on) in p.b and
 * in whatever A's function closes over. A must be square: x has b's structure.
 */
export function solveImplicitly(p: Problem, A: VecOp, run: ValueSolve, transposed = false): Vec {
  const x = noGrad(() => run(p, A, transposed));
  if (!isGradEnabled()) return x;
  const residual = A(x).map((ax, i) => sub(ax, p.b[i]));
  if (!residual.some((r) => r.requiresGrad)) return x;
  const zeros = x.map((t) => zerosLike(t));
  const corrections = recordMultiBatched('LinearSolveBackward0', residual, zeros, (grads) => {
    const g = grads.map((gi, i) => gi ?? zerosOf(x[i].shape, x[i].dtype));
    return solveImplicitly(problemOf(p.fn, toTree(p, g)), transposeOp(A, x), run, true);
  });
  return x.map((xi, i) => sub(xi, corrections[i]));
}
