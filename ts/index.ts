/**
 * metagrad: implicit differentiation (TorchOpt's customRoot / ImplicitMetaGradientModule) for
 * Node.js, with tensors, an any-order autograd engine, modules, optimizers and linear solvers.
 *
 * @packageDocumentation
 */
import './methods';

export { Tensor, isTensor, type TensorLike, type NestedArray, type BackwardOptions, type GradFn } from './tensor/tensor';
export type { NativeBackendInfo, IsaVariant } from './tensor/native';
export { type DType, type FloatArray, type FloatDType, type IntDType, type TypedArray, Int64Array, getDefaultDtype, setDefaultDtype } from './tensor/dtype';
export { Generator, manualSeed, getDefaultGenerator } from './tensor/generator';
export { MetagradError, NumericalError } from './errors';
export { TraceError } from './tensor/trace';
export { jit, type JitOptions, type JitFunction, type JitCacheInfo } from './func/jit';
export { backendInfo, setNumThreads } from './backend';
export { enableGrad, isGradEnabled, noGrad } from './autograd/grad-mode';
export {
  tensor, zeros, ones, full, zerosLike, onesLike, eye, arange, linspace, randn, rand, randperm,
  type TensorOptions, type RandomOptions, type NestedBooleans,
} from './ops/creation';
export {
  add, sub, mul, div, pow, neg, square, sqrt, exp, log, log1p, expm1, abs, sign, reciprocal, sin, cos,
  tanh, sigmoid, relu, softplus, maximum, minimum, clamp, gt, lt, ge, le, eq, ne, logicalAnd, logicalOr, logicalXor, logicalNot, where,
} from './ops/elementwise';
export { sum, mean, max, min, logsumexp, argmax, argmin, type ValuesIndices, type Dims } from './ops/reduce';
export { var_ as var, std, type VarOptions } from './ops/statistics';
export { vectorNorm, norm, type VectorNormOptions } from './ops/norm';
export { cumsum } from './ops/scan';
export { gather, scatterAdd, topk, type TopK } from './ops/gather';
export { einsum } from './ops/einsum';
export { reshape, view, flatten, permute, transpose, t, unsqueeze, squeeze } from './ops/shape';
export { expand } from './ops/broadcast';
export { cat, stack, narrow, slice, select, index, indexSelect } from './ops/indexing';
export { matmul, bmm, softmax, logSoftmax } from './ops/matmul';
export { to } from './ops/cast';
export { detach, clone } from './ops/inplace';

export * as autograd from './autograd/index';
export * as func from './func-namespace';
export * as tree from './tree/index';
export * as linalg from './linalg/index';
export * as linearSolve from './linear-solve/index';
export * as diff from './diff/index';
export * as solvers from './solvers/index';
export * as data from './data/index';
export * as distributed from './distributed/index';
export * as prox from './solvers/prox';
export * as projection from './solvers/projection';
export * as nn from './nn-namespace';
export { save, load, type SaveOptions, type LoadOptions, type Loaded, type Saveable } from './io/save-load';
export { SafetensorsError, encodeSafetensors, decodeSafetensors, type SafetensorsArray, type SafetensorsContent, type SafetensorsDtype, type StoredTensor } from './io/safetensors';
export { moduleClone, type ModuleCloneOptions } from './nn/clone';
export { extractStateDict, recoverStateDict, ModuleState, type CopyMode, type ExtractStateDictOptions, type VisualEntry } from './nn/state-dict';
export { stopGradient } from './nn/stop-gradient';
export { makeDot, type MakeDotOptions, type MakeDotParams } from './nn/make-dot';
export * from './optim/index';
export type { GradTree, GradTrees } from './func/transforms';
export type { HasStateDict } from './nn/state-dict';
export type { Leaf } from './optim/types';
