/** `solveBicgstab`: BiCGSTAB on (A + ridge·I) x = b for general A. */
import { runBicgstab } from '../linalg/bicgstab';
import type { OnInfo } from '../linalg/info';
import { operatorOf, problemOf, toTree } from '../linalg/operator';
import { settingsFor, solveImplicitly } from '../linalg/implicit-solve';
import { type LinearSolver, makeSolver, withRidge } from './common';
import { type ResolvedCgOptions, type SolveCgOptions, krylovOf, resolveCgOptions } from './cg';

/** A solver for (A + ridge·I) x = b by BiCGSTAB (JAX's `bicgstab`); options are checked here. */
export function solveBicgstab<T = unknown>(options?: SolveCgOptions<T>): LinearSolver<ResolvedCgOptions> {
  const kind = 'solveBicgstab';
  const r = resolveCgOptions(kind, options);
  return makeSolver(kind, r, (matvec, b, onInfo: OnInfo | undefined) => {
    const p = problemOf(kind, b);
    const A = operatorOf(p, 'matvec', withRidge(matvec, r.ridge));
    return toTree(p, solveImplicitly(p, A, (q, op, transposed) => runBicgstab(q, op, settingsFor(krylovOf(r), transposed), onInfo, 'init')));
  });
}
