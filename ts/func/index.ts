/** `mg.func`: function transforms (torch.func / functorch). */
export { grad, hessian, hvp, jacfwd, jacrev, jvp, valueAndGrad, vjp, type GradTransformOptions } from './transforms';
export { vmap, type VmapDims, type VmapOptions } from './vmap';
export type { Randomness } from '../tensor/batched';
