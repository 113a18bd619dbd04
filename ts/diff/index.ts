/** `mg.diff`: differentiation strategies (implicit, as TorchOpt's torchopt.diff). */
export * as implicit from './implicit/index';
