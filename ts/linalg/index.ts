/** `mg.linalg`: iterative solvers on trees (cg, ns, gmres, bicgstab), Neumann inverses and a dense solve.
 *
 * @module
 */
export { cg, type CgOptions } from './cg';
export { ns, nsInv, type NsOptions, type NsInvOptions } from './ns';
export { gmres, type GmresOptions } from './gmres';
export { bicgstab, type BicgstabOptions } from './bicgstab';
export { solve, type DenseMethod, type DenseSolveOptions } from './solve';
export { lastSolveInfo, type OnInfo, type MemberSolveInfo, type SolveInfo } from './info';
export type { LinearOperator, MatrixTree } from './operator';
