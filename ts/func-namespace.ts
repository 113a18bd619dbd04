/**
 * `mg.func` as users see it: the function transforms (ts/func) plus the module-aware
 * `makeFunctional` / `functionalCall` (ts/nn), joined here because ts/func sits below ts/nn.
 *
 * @module
 */
export * from './func/index';
export { makeFunctional, functionalCall, stackModuleState, type FunctionalCallOptions, type FunctionalModel, type FunctionalParams, type Forward, type MakeFunctionalOptions } from './nn/functional-call';
