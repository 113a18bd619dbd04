/** `mg.nn`: modules, layers, initialisers and functional layers/losses (torch.nn).
 *
 * @module
 */
export { Module, isModule, type ModuleMembers, type NamedMembersOptions, type StateDictOptions, type LoadStateDictOptions, type LoadStateDictResult } from './module';
export { Parameter, isParameter } from './parameter';
export { Linear, Identity, type LinearOptions } from './linear';
export { ReLU, Tanh, Sigmoid, Softplus, Flatten } from './activations';
export { Sequential, ModuleList, ModuleDict } from './containers';
export { MSELoss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss } from './losses';
export { LayerNorm, GroupNorm, BatchNorm1d, BatchNorm2d, type NormOptions, type BatchNormLayerOptions } from './normalization';
export { Embedding, Dropout } from './embedding-dropout';
export { Conv1d, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Unflatten, type ConvOptions } from './conv';
export * as init from './init';
export * as functional from './functional';
export * as utils from './utils';
