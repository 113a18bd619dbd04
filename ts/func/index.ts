/** `mg.func`: function transforms (torch.func / functorch). */
export { grad, hessian, hvp, jacrev, jvp, valueAndGrad, vjp, type GradTransformOptions } from './transforms';
