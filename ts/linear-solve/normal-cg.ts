/** `solveNormalCg`: conjugate gradient on the normal equations (AᵀA + ridge·I) x = Aᵀ b, for any A. */
import { runCg } from '../linalg/cg';
import type { OnInfo } from '../linalg/info';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
import { settingsFor, solveImplicitly } from '../linalg/implicit-solve';
import { treeAdd } from '../tree/tree-math';
import { type LinearSolver, makeSolver } from './common';
import { type ResolvedCgOptions, type SolveCgOptions, krylovOf, resolveCgOptions } from './cg';
import { makeRmatvec } from './rmatvec';

/**
 * A solver for A x = b through the normal equations (AᵀA + ridge·I) x = Aᵀ b by conjugate gradient
 * (TorchOpt's `solve_normal_cg`, the default of `customRoot`). A need not be symmetric; Aᵀ is the
 * VJP of matvec. x has the structure of `init` when given (non-square A), else of b. Tolerances
 * apply to the normal residual ‖Aᵀb − (AᵀA + ridge·I) x‖. Options are checked here.
 */
export function solveNormalCg<T = unknown>(options?: SolveCgOptions<T>): LinearSolver<ResolvedCgOptions> {
  const kind = 'solveNormalCg';
  const r = resolveCgOptions(kind, options);
  return makeSolver(kind, r, (matvec, b, onInfo: OnInfo | undefined) => {
    problemOf(kind, b); // b must hold tensors before anything is evaluated
    let rmatvec: (w: unknown) => unknown;
    try {
      rmatvec = makeRmatvec(matvec, r.init ?? b, kind);
    } catch (e) {
      // Without init, x is taken to have b's shapes: right only for a square system.
      if (r.init !== undefined || !(e instanceof RangeError || e instanceof TypeError)) throw e;
      throw new RangeError(
        `${kind}: matvec failed on a vector shaped like b (${e.message}); for a non-square system pass init, ` +
          'a tree shaped like the solution x (e.g. solveNormalCg({ init: mg.zeros(n) }))',
      );
    }
    const normal = (x: unknown): unknown => {
      const y = rmatvec(matvec(x));
      return r.ridge === 0 ? y : treeAdd(y, x, r.ridge);
    };
    // Differentiated as the square normal system it solves (AᵀA + ridge·I) x = Aᵀb, whose operator
    // and right-hand side are recorded functions of A and b: exact for least squares too.
    const p = problemOf(kind, rmatvec(b));
    return toTree(p, solveImplicitly(p, operatorOf(p, 'AᵀA', normal), (q, op, transposed) => runCg(q, op, settingsFor(krylovOf(r), transposed), onInfo, 'init')));
  });
}
