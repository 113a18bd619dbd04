/**
 * Restarted GMRES for general (non-symmetric) A x = b, on trees. Arnoldi with modified
 * Gram–Schmidt (one re-orthogonalisation pass when cancellation is severe), Givens rotations for
 * the small least-squares problem, right preconditioning (A M y = r, x += M y) so the monitored
 * residual is the true one. The iterations run on values; with grad mode on the result is
 * differentiable by the implicit rule of ts/linalg/implicit-solve.ts.
 */
import { NumericalError } from '../errors';
import { add, div, mul, neg, sqrt, square, sub } from '../ops/elementwise';
import { machineEpsilon } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { treeAxpy, treeNorm, treeNormT, treeScale, treeSub, treeVdotT } from '../tree/tree-math';
import { type KrylovSettings, krylovSettings } from './cg';
import { type OnInfo, reported } from './info';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  toleranceOf, zerosVec,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { requireUnbatched } from './members';
import { callback, checkOptions, positiveInt } from './options';

/** Options of {@link gmres}. */
export interface GmresOptions<T> {
  /** Initial guess (b's structure); zeros by default. */
  x0?: T;
  /** Relative tolerance: stop when ‖b − A x‖ <= max(rtol·‖b‖, atol). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Krylov steps per cycle (the Krylov space's size before a restart). Default 20, at most b's number of elements. */
  restart?: number;
  /** Maximum number of restart cycles (scipy/JAX). Default 10 × (number of elements of b). */
  maxiter?: number;
  /** Preconditioner approximating A⁻¹, in any form `A` accepts (applied on the right). */
  M?: LinearOperator<T>;
  /** Receives the {@link SolveInfo}; `iterations` counts Krylov steps over all cycles. */
  onInfo?: OnInfo;
}

/** Option names of {@link gmres}. */
export const GMRES_OPTIONS = ['x0', 'rtol', 'atol', 'restart', 'maxiter', 'M', 'onInfo'] as const;

/** Checked options of gmres. @internal */
export interface GmresSettings extends KrylovSettings {
  restart: number;
}

/** Reads the gmres options from checked options. @internal */
export function gmresSettings(fn: string, o: Record<string, unknown>, x0Name = 'x0'): GmresSettings {
  return { ...krylovSettings(fn, o, x0Name), restart: positiveInt(fn, 'restart', o.restart) ?? 20 };
}

function machineEps(p: Problem): number {
  return machineEpsilon(p.b.some((t) => t.dtype === 'float32') ? 'float32' : 'float64');
}

/** One Arnoldi step's new Hessenberg column, orthogonalising `w` against `V` in place of the caller. */
function orthogonalise(w: Vec, V: Vec[], j: number): { w: Vec; h: Tensor[] } {
  const h: Tensor[] = [];
  const before = treeNorm(w);
  for (let i = 0; i <= j; i++) {
    const hij = treeVdotT(w, V[i]);
    h.push(hij);
    w = treeSub(w, V[i], hij);
  }
  if (treeNorm(w) < 0.7 * before) {
    // Severe cancellation: a second pass restores orthogonality ("twice is enough").
    for (let i = 0; i <= j; i++) {
      const c = treeVdotT(w, V[i]);
      h[i] = add(h[i], c);
      w = treeSub(w, V[i], c);
    }
  }
  return { w, h };
}

/**
 * Runs restarted GMRES on a prepared problem. A zero pivot (A M v = 0 for a Krylov vector: A is
 * singular) or non-finite values raise a NumericalError; non-convergence is reported. @internal
 */
export function runGmres(p: Problem, A: VecOp, s: GmresSettings, onInfo?: OnInfo, x0Name = 'x0'): Vec {
  requireUnbatched(p.fn, p.b);
  const M = s.M === undefined ? null : operatorOf(p, 'M', s.M);
  const maxCycles = s.maxiter ?? defaultMaxiter(p);
  const m = Math.max(1, Math.min(s.restart, p.n));
  const { tol } = toleranceOf(p, s.rtol, s.atol);
  const x0 = initialOf(p, x0Name, s.x0);
  const eps = machineEps(p);
  let k = 0;
  let rnorm = Number.NaN;
  // The closure reads k and rnorm when the solve ends, normally or by a NumericalError.
  return reported(p.fn, tol, onInfo, () => [k, rnorm], () => {
    let x = x0 ?? zerosVec(p);
    let r = x0 ? treeSub(p.b, A(x0)) : p.b;
    rnorm = treeNorm(r);
    if (!Number.isFinite(rnorm)) throw new NumericalError(`${p.fn}: the initial residual b − A x0 has non-finite entries`);
    for (let cycle = 0; !(rnorm <= tol) && cycle < maxCycles; cycle++) {
      const beta = treeNormT(r);
      const V: Vec[] = [treeScale(r, div(1, beta))];
      const Z: Vec[] = [];
      const R: Tensor[][] = []; // R[c] = column c of the rotated Hessenberg matrix (c + 1 entries)
      const cs: Tensor[] = [];
      const sn: Tensor[] = [];
      const g: Tensor[] = [beta];
      let j = 0;
      while (j < m) {
        const z = M ? M(V[j]) : V[j];
        Z.push(z);
        const Az = A(z);
        k++;
        const azNorm = treeNorm(Az);
        const { w, h } = orthogonalise(Az, V, j);
        const hn = treeNormT(w);
        const hnv = hn.item();
        if (!Number.isFinite(hnv) || !Number.isFinite(azNorm)) {
          throw new NumericalError(`${p.fn}: non-finite values at iteration ${k} (‖A M v‖ = ${azNorm}); the operator produced non-finite values`);
        }
        for (let i = 0; i < j; i++) {
          const a = h[i];
          const b = h[i + 1];
          h[i] = add(mul(cs[i], a), mul(sn[i], b));
          h[i + 1] = sub(mul(cs[i], b), mul(sn[i], a));
        }
        const pivot = Math.hypot(h[j].item(), hnv);
        if (!(pivot > eps * azNorm)) {
          // A M v lies in the span of the earlier A M vᵢ (to working precision): A is singular there.
          throw new NumericalError(
            `${p.fn}: breakdown at iteration ${k}: the rotated Hessenberg pivot is ${pivot} (‖A M v‖ = ${azNorm}), so the operator is singular on the Krylov space`,
          );
        }
        const denom = sqrt(add(square(h[j]), square(hn)));
        cs.push(div(h[j], denom));
        sn.push(div(hn, denom));
        h[j] = denom;
        g.push(neg(mul(sn[j], g[j])));
        g[j] = mul(cs[j], g[j]);
        R.push(h);
        j++;
        const estimate = Math.abs(g[j].item());
        // Stop on convergence, or on a "happy" breakdown: the Krylov space is invariant, the solution is in it.
        if (estimate <= tol || hnv <= eps * azNorm) break;
        if (j < m) V.push(treeScale(w, div(1, hn)));
      }
      // Back substitution R y = g[0..j), then x += Σ yᵢ M vᵢ.
      const y: Tensor[] = new Array<Tensor>(j);
      for (let i = j - 1; i >= 0; i--) {
        let acc = g[i];
        for (let c = i + 1; c < j; c++) acc = sub(acc, mul(R[c][i], y[c]));
        y[i] = div(acc, R[i][i]);
      }
      for (let i = 0; i < j; i++) x = treeAxpy(y[i], Z[i], x);
      r = treeSub(p.b, A(x));
      rnorm = treeNorm(r);
      if (!Number.isFinite(rnorm)) throw new NumericalError(`${p.fn}: the residual became non-finite after iteration ${k} (‖r‖ = ${rnorm})`);
    }
    return x;
  });
}

/**
 * Solves A x = b by restarted GMRES (any non-singular A).
 *
 * `A` is a function on trees, a matrix or a tree of matrices (block diagonal). Stops when
 * ‖b − A x‖ <= max(rtol·‖b‖, atol) or after `maxiter` restart cycles of `restart` steps. The
 * outcome goes to `onInfo` and {@link lastSolveInfo}.
 *
 * @throws NumericalError on breakdown (a singular operator) or non-finite values.
 */
export function gmres<T>(A: LinearOperator<T>, b: T, options?: GmresOptions<T>): T {
  const fn = 'gmres';
  const o = checkOptions(fn, options, GMRES_OPTIONS);
  const s = gmresSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const p = problemOf(fn, b);
  return toTree<T>(p, solveImplicitly(p, operatorOf(p, 'A', A), (q, op, transposed) => runGmres(q, op, settingsFor(s, transposed), onInfo)));
}
