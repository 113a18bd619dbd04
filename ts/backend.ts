/** Information about, and control of, the native backend. */
import { availableParallelism } from 'node:os';
import { type NativeBackendInfo, native } from './tensor/native';

/** Which native kernel variant runs (baseline / AVX2 / AVX-512), Eigen's version and the thread count. */
export function backendInfo(): NativeBackendInfo {
  return native.backendInfo();
}

/** Limits the threads that large native kernels use (PyTorch's `torch.set_num_threads`). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: argument 'n' must be an integer >= 1, got ${String(n)}`);
  const cores = availableParallelism();
  if (n > cores) {
    // Allowed (as in PyTorch), but threads beyond the cores only take turns.
    process.emitWarning(`setNumThreads: ${n} threads on a machine with ${cores} cores oversubscribes it; kernels will not run faster than with ${cores}`, {
      code: 'METAGRAD_OVERSUBSCRIBED',
    });
  }
  native.setNumThreads(n);
}
