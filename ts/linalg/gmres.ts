/**
 * Restarted GMRES for general (non-symmetric) A x = b, on trees. Arnoldi with modified
 * Gram–Schmidt (one re-orthogonalisation pass when cancellation is severe), Givens rotations for
 * the small least-squares problem, right preconditioning (A M y = r, x += M y) so the monitored
 * residual is the true one. The iterations run on values; with grad mode on the result is
 * differentiable by the implicit rule of ts/linalg/implicit-solve.ts.
 */
import { NumericalError } from '../errors';
import { add, div, mul, neg, sqrt, square, sub, where } from '../ops/elementwise';
import { machineEpsilon } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { treeAxpy, treeNormT, treeScale, treeSub, treeVdotT } from '../tree/tree-math';
import { type KrylovSettings, krylovSettings } from './cg';
import { type OnInfo, reportedMembers } from './info';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  zerosVec,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { type Members, checkFiniteNorms, membersOf } from './members';
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
function orthogonalise(mb: Members, w: Vec, V: Vec[], j: number): { w: Vec; h: Tensor[] } {
  const h: Tensor[] = [];
  const before = mb.norms(w);
  for (let i = 0; i <= j; i++) {
    const hij = treeVdotT(w, V[i]);
    h.push(hij);
    w = treeSub(w, V[i], hij);
  }
  const after = mb.norms(w);
  if (after.some((a, m) => a < 0.7 * before[m])) {
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
 * singular) or non-finite values raise a NumericalError; non-convergence is reported. Inside vmap
 * each member runs its own Arnoldi process: a member whose estimate meets its tolerance stops
 * extending its basis (its later rotations are the identity and its later coefficients 0). @internal
 */
export function runGmres(p: Problem, A: VecOp, s: GmresSettings, onInfo?: OnInfo, x0Name = 'x0'): Vec {
  const M = s.M === undefined ? null : operatorOf(p, 'M', s.M);
  const maxCycles = s.maxiter ?? defaultMaxiter(p);
  const m = Math.max(1, Math.min(s.restart, p.n));
  const mb = membersOf(p);
  const bnorms = mb.norms(p.b);
  checkFiniteNorms(p, mb, bnorms);
  const tols = bnorms.map((bn) => Math.max(s.rtol * bn, s.atol));
  const x0 = initialOf(p, x0Name, s.x0);
  const eps = machineEps(p);
  const its = new Int32Array(mb.count);
  let rnorm: Float64Array = new Float64Array(mb.count).fill(Number.NaN);
  /** `t` for the members in `on`, the number `fill` for the others (t itself when all are on). */
  const keep = (t: Tensor, on: readonly boolean[], fill: number): Tensor => (on.every(Boolean) ? t : where(mb.scalar(on.map(Number), t.dtype), t, fill));
  // The closure reads the counts and norms when the solve ends, normally or by a NumericalError.
  return reportedMembers(p.fn, tols, onInfo, () => [its, rnorm], () => {
    let x = mb.full(x0 ?? zerosVec(p));
    let r = mb.full(x0 ? treeSub(p.b, A(x0)) : p.b);
    rnorm = mb.norms(r);
    rnorm.forEach((rn, k) => {
      if (!Number.isFinite(rn)) throw new NumericalError(`${p.fn}: ${mb.label(k)}the initial residual b − A x0 has non-finite entries`);
    });
    let active = Array.from(rnorm, (rn, k) => !(rn <= tols[k]));
    for (let cycle = 0; active.some(Boolean) && cycle < maxCycles; cycle++) {
      const beta = treeNormT(r);
      const V: Vec[] = [treeScale(r, div(1, keep(beta, active, 1)))];
      const Z: Vec[] = [];
      const R: Tensor[][] = []; // R[c] = column c of the rotated Hessenberg matrix (c + 1 entries)
      const cs: Tensor[] = [];
      const sn: Tensor[] = [];
      const g: Tensor[] = [keep(beta, active, 0)];
      const on = active.slice(); // members still extending their basis in this cycle
      let j = 0;
      while (j < m) {
        g[j] = keep(g[j], on, 0); // a member that stopped before column j takes no part in it
        const z = M ? mb.full(M(V[j])) : V[j];
        Z.push(z);
        const Az = mb.full(A(z));
        on.forEach((o, k) => {
          if (o) its[k]++;
        });
        const azNorm = mb.norms(Az);
        const { w, h } = orthogonalise(mb, Az, V, j);
        const hn = treeNormT(w);
        const hnv = mb.values(hn);
        on.forEach((o, k) => {
          if (o && (!Number.isFinite(hnv[k]) || !Number.isFinite(azNorm[k]))) {
            throw new NumericalError(`${p.fn}: ${mb.label(k)}non-finite values at iteration ${its[k]} (‖A M v‖ = ${azNorm[k]}); the operator produced non-finite values`);
          }
        });
        for (let i = 0; i < j; i++) {
          const a = h[i];
          const b = h[i + 1];
          h[i] = add(mul(cs[i], a), mul(sn[i], b));
          h[i + 1] = sub(mul(cs[i], b), mul(sn[i], a));
        }
        const hj = mb.values(h[j]);
        on.forEach((o, k) => {
          const pivot = Math.hypot(hj[k], hnv[k]);
          if (o && !(pivot > eps * azNorm[k])) {
            // A M v lies in the span of the earlier A M vᵢ (to working precision): A is singular there.
            throw new NumericalError(
              `${p.fn}: ${mb.label(k)}breakdown at iteration ${its[k]}: the rotated Hessenberg pivot is ${pivot} (‖A M v‖ = ${azNorm[k]}), so the operator is singular on the Krylov space`,
            );
          }
        });
        const denom = keep(sqrt(add(square(h[j]), square(hn))), on, 1);
        cs.push(keep(div(h[j], denom), on, 1));
        sn.push(keep(div(hn, denom), on, 0));
        for (let i = 0; i < j; i++) h[i] = keep(h[i], on, 0);
        h[j] = denom;
        g.push(neg(mul(sn[j], g[j])));
        g[j] = mul(cs[j], g[j]);
        R.push(h);
        j++;
        const estimate = mb.values(g[j]);
        // Stop on convergence, or on a "happy" breakdown: the Krylov space is invariant, the solution is in it.
        on.forEach((o, k) => {
          if (o && (Math.abs(estimate[k]) <= tols[k] || hnv[k] <= eps * azNorm[k])) on[k] = false;
        });
        if (!on.some(Boolean)) break;
        if (j < m) V.push(treeScale(w, div(1, keep(hn, on, 1))));
      }
      // Back substitution R y = g[0..j), then x += Σ yᵢ M vᵢ.
      const y: Tensor[] = new Array<Tensor>(j);
      for (let i = j - 1; i >= 0; i--) {
        let acc = g[i];
        for (let c = i + 1; c < j; c++) acc = sub(acc, mul(R[c][i], y[c]));
        y[i] = div(acc, R[i][i]);
      }
      for (let i = 0; i < j; i++) x = treeAxpy(y[i], Z[i], x);
      r = mb.full(treeSub(p.b, A(x)));
      const rn = mb.norms(r);
      rn.forEach((v, k) => {
        if (active[k] && !Number.isFinite(v)) throw new NumericalError(`${p.fn}: ${mb.label(k)}the residual became non-finite after iteration ${its[k]} (‖r‖ = ${v})`);
      });
      rnorm = rnorm.map((old, k) => (active[k] ? rn[k] : old));
      active = active.map((a, k) => a && !(rnorm[k] <= tols[k]));
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
