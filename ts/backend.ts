/** Information about, and control of, the native backend. */
import { type NativeBackendInfo, native } from './tensor/native';

/** Which native kernel variant runs (baseline / AVX2 / AVX-512), Eigen's version and the thread count. */
export function backendInfo(): NativeBackendInfo {
  return native.backendInfo();
}

/** Limits the threads that large native kernels use (PyTorch's `torch.set_num_threads`). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: argument 'n' must be an integer >= 1, got ${String(n)}`);
  native.setNumThreads(n);
}
