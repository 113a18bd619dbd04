/** `mg.linalg`: iterative solvers on trees (cg, ns, gmres, bicgstab), Neumann inverses, a dense solve, inv, det, slogdet, cholesky and eigh.
 *
 * @module
 */
export { cg, type CgOptions } from './cg';
export { ns, nsInv, type NsOptions, type NsInvOptions } from './ns';
export { gmres, type GmresOptions } from './gmres';
export { bicgstab, type BicgstabOptions } from './bicgstab';
export { solve, type DenseMethod, type DenseSolveOptions } from './solve';
export { inv, det, slogdet, type SignLogDet } from './determinant';
export { cholesky, eigh, svd, type Eigh, type Svd } from './decompositions';
export { lastSolveInfo, type OnInfo, type MemberSolveInfo, type SolveInfo } from './info';
export type { LinearOperator, MatrixTree } from './operator';
