/** A model's parameters as the jobs move them around: named specs, and plain arrays for worker threads. */
import { type Tensor, tensor } from 'metagrad';

/** Name and shape of one parameter. */
export interface ParamSpec {
  /** PyTorch state-dict key, e.g. `2.weight`. */
  name: string;
  /** Shape. */
  shape: number[];
}

/** Parameters as plain arrays with their shapes (they cross to worker threads by structured clone). */
export interface FlatParams {
  /** Values, one array per parameter. */
  values: Float32Array[];
  /** Shapes. */
  shapes: number[][];
}

/** Parameters as plain arrays. */
export function flatParams(params: readonly Tensor[]): FlatParams {
  return { values: params.map((p) => Float32Array.from(p.data)), shapes: params.map((p) => [...p.shape]) };
}

/** Leaf tensors that require grad, from flat arrays and shapes (float32 as given, or copied to float64). */
export function thetaLeaves(values: readonly Float32Array[], shapes: readonly number[][], dtype: 'float32' | 'float64' = 'float32'): Tensor[] {
  return values.map((v, i) => tensor(dtype === 'float64' ? Float64Array.from(v) : v, { shape: shapes[i], requiresGrad: true }));
}
