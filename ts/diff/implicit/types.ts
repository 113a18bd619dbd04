/** Types shared by the implicit-differentiation wrappers: the linear-solve layer's, under the names TorchOpt users know. */
export type { MatVec, SolveFunction as LinearSolver } from '../../linear-solve/common';
