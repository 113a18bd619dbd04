/**
 * BiCGSTAB for general (non-symmetric) A x = b, on trees (van der Vorst's recurrence, as JAX and
 * scipy, with right preconditioning). The iterations run on values; with grad mode on the result
 * is differentiable by the implicit rule of ts/linalg/implicit-solve.ts.
 */
import { NumericalError } from '../errors';
import { div, mul } from '../ops/elementwise';
import type { Tensor } from '../tensor/tensor';
import { treeAdd, treeAxpy, treeSub, treeVdotT } from '../tree/tree-math';
import { type KrylovSettings, krylovSettings } from './cg';
import { type OnInfo, reportedMembers } from './info';
import { checkFiniteNorms, membersOf } from './members';
import {
  type LinearOperator, type Problem, type Vec, type VecOp, defaultMaxiter, initialOf, operatorOf, problemOf, toTree,
  zerosVec,
} from './operator';
import { settingsFor, solveImplicitly } from './implicit-solve';
import { callback, checkOptions } from './options';

/** Options of {@link bicgstab}. */
export interface BicgstabOptions<T> {
  /** Initial guess (b's structure); zeros by default. */
  x0?: T;
  /** Relative tolerance: stop when ‖b − A x‖ <= max(rtol·‖b‖, atol). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Iteration limit. Default 10 × (number of elements of b). */
  maxiter?: number;
  /** Preconditioner approximating A⁻¹, in any form `A` accepts. */
  M?: LinearOperator<T>;
  /** Receives the {@link SolveInfo} of this solve. */
  onInfo?: OnInfo;
}

/** Option names of {@link bicgstab}. */
export const BICGSTAB_OPTIONS = ['x0', 'rtol', 'atol', 'maxiter', 'M', 'onInfo'] as const;

/**
 * Runs BiCGSTAB on a prepared problem. Breakdowns (r̂ᵀr = 0, r̂ᵀv = 0, ‖t‖ = 0 or ω = 0 before
 * convergence) and non-finite values raise a NumericalError; non-convergence is reported. @internal
 */
export function runBicgstab(p: Problem, A: VecOp, s: KrylovSettings, onInfo?: OnInfo, x0Name = 'x0'): Vec {
  const M = s.M === undefined ? null : operatorOf(p, 'M', s.M);
  const maxiter = s.maxiter ?? defaultMaxiter(p);
  // One system per member inside vmap (see linalg/members.ts): every scalar is per member and
  // masked to 0 for the members that have stopped, so they stop changing (and stay finite).
  const mb = membersOf(p);
  const bnorms = mb.norms(p.b);
  checkFiniteNorms(p, mb, bnorms);
  const tols = bnorms.map((bn) => Math.max(s.rtol * bn, s.atol));
  const x0 = initialOf(p, x0Name, s.x0);
  const its = new Int32Array(mb.count);
  let rnorm: Float64Array = new Float64Array(mb.count).fill(Number.NaN);
  const finiteOr = (it: number, what: string, values: Float64Array, on: readonly boolean[]): Float64Array => {
    values.forEach((v, m) => {
      if (on[m] && !Number.isFinite(v)) throw new NumericalError(`${p.fn}: ${mb.label(m)}${what} is ${v} at iteration ${it}; the operator produced non-finite values`);
    });
    return values;
  };
  const breakdownIf = (it: number, values: Float64Array, on: readonly boolean[], what: string, why: string): void => {
    values.forEach((v, m) => {
      if (on[m] && v === 0) throw new NumericalError(`${p.fn}: ${mb.label(m)}breakdown at iteration ${it}: ${what} = 0 (${why})`);
    });
  };
  // The closure reads the counts and norms when the solve ends, normally or by a NumericalError.
  return reportedMembers(p.fn, tols, onInfo, () => [its, rnorm], () => {
    let x = mb.full(x0 ?? zerosVec(p));
    let r = mb.full(x0 ? treeSub(p.b, A(x0)) : p.b);
    const rhat = r;
    rnorm = mb.norms(r);
    rnorm.forEach((rn, m) => {
      if (!Number.isFinite(rn)) throw new NumericalError(`${p.fn}: ${mb.label(m)}the initial residual b − A x0 has non-finite entries`);
    });
    let active = Array.from(rnorm, (rn, m) => !(rn <= tols[m]));
    let d: Vec = r;
    let v: Vec = r;
    let rhoPrev: Tensor | null = null;
    let alpha: Tensor | null = null;
    let omega: Tensor | null = null;
    for (let k = 0; active.some(Boolean) && k < maxiter; k++) {
      const it = k + 1;
      const rho = treeVdotT(rhat, r);
      breakdownIf(it, finiteOr(it, 'r̂ᵀr', mb.values(rho), active), active, 'r̂ᵀr', 'the shadow residual is orthogonal to the residual');
      if (rhoPrev && alpha && omega) {
        const beta = mb.mask(mul(div(rho, rhoPrev), div(alpha, omega)), active);
        d = treeAdd(r, treeSub(d, v, omega), beta);
      }
      const dh = M ? mb.full(M(d)) : d;
      v = mb.full(A(dh));
      const rv = treeVdotT(rhat, v);
      breakdownIf(it, finiteOr(it, 'r̂ᵀv', mb.values(rv), active), active, 'r̂ᵀAp', 'the operator is singular or the method stagnated');
      alpha = mb.mask(div(rho, rv), active);
      const sres = treeSub(r, v, alpha);
      const snorm = finiteOr(it, '‖s‖', mb.norms(sres), active);
      active.forEach((on, m) => {
        if (on) its[m] = it;
      });
      x = treeAxpy(alpha, dh, x);
      // Members whose half step already meets the tolerance stop here (s is their residual).
      const half = active.map((on, m) => on && snorm[m] <= tols[m]);
      const full = active.map((on, m) => on && !half[m]);
      if (!full.some(Boolean)) {
        r = sres;
        rnorm = rnorm.map((rn, m) => (active[m] ? snorm[m] : rn));
        active = full;
        break;
      }
      const sh = M ? mb.full(M(sres)) : sres;
      const t = mb.full(A(sh));
      const tt = treeVdotT(t, t);
      breakdownIf(it, finiteOr(it, '‖t‖²', mb.values(tt), full), full, '‖A s‖', 'A maps a non-zero vector to 0, so it is singular');
      omega = mb.mask(div(treeVdotT(t, sres), tt), full);
      breakdownIf(it, mb.values(omega), full, 'ω = tᵀs/tᵀt', 't is orthogonal to s; the method stagnated');
      x = treeAxpy(omega, sh, x);
      r = treeSub(sres, t, omega);
      const rn = finiteOr(it, '‖r‖', mb.norms(r), full);
      rnorm = rnorm.map((old, m) => (full[m] ? rn[m] : half[m] ? snorm[m] : old));
      rhoPrev = rho;
      active = full.map((on, m) => on && !(rnorm[m] <= tols[m]));
    }
    return x;
  });
}

/**
 * Solves A x = b by BiCGSTAB (any non-singular A).
 *
 * `A` is a function on trees, a matrix or a tree of matrices (block diagonal). Stops when
 * ‖b − A x‖ <= max(rtol·‖b‖, atol) or after `maxiter` iterations (10 × b's number of elements by
 * default). The outcome goes to `onInfo` and {@link lastSolveInfo}.
 *
 * @throws NumericalError on breakdown or non-finite values.
 */
export function bicgstab<T>(A: LinearOperator<T>, b: T, options?: BicgstabOptions<T>): T {
  const fn = 'bicgstab';
  const o = checkOptions(fn, options, BICGSTAB_OPTIONS);
  const s = krylovSettings(fn, o);
  const onInfo = callback<OnInfo>(fn, 'onInfo', o.onInfo);
  const p = problemOf(fn, b);
  return toTree<T>(p, solveImplicitly(p, operatorOf(p, 'A', A), (q, op, transposed) => runBicgstab(q, op, settingsFor(s, transposed), onInfo)));
}
