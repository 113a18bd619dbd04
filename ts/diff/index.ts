/** `mg.diff`: differentiation strategies (implicit, as TorchOpt's torchopt.diff).
 *
 * @module
 */
export * as implicit from './implicit/index';
