/**
 * Where each kernel runs: in JavaScript for small tensors (an N-API call costs about a
 * microsecond), natively above a size threshold. All thresholds live here, measured with
 * `npm run bench -- --only dispatch` on the reference machine (see README).
 */

/** Minimum element count (or, for matmul, m·k·n) from which the native kernel is used. */
export const NATIVE_THRESHOLD = {
  unary: 2048,
  binary: 2048,
  reduce: 4096,
  softmax: 1024,
  matmul: 4096,
} as const;

/** True when the native kernel should run for `kind` at `size`. */
export function useNative(kind: keyof typeof NATIVE_THRESHOLD, size: number): boolean {
  return size >= NATIVE_THRESHOLD[kind];
}
