/**
 * Where each kernel runs: in JavaScript for small tensors (an N-API call costs a fraction of a
 * microsecond), natively above a size threshold. All thresholds live here, measured with
 * `npm run bench -- --only dispatch` on the reference machine against the compiled library (see
 * README; last on 2026-12-02, after the transcendental kernels were vectorised): the native call
 * wins from ~64 elements (the smallest size measured) for unary ops and softmax, from ~128 for
 * reductions, from ~256 for binary ops (their stride arrays cost a little) and from m·k·n ≈ 216
 * for matmul.
 */

/** Minimum element count (or, for matmul, m·k·n) from which the native kernel is used. */
export const NATIVE_THRESHOLD = {
  unary: 64,
  binary: 256,
  reduce: 128,
  softmax: 64,
  matmul: 216,
  im2col: 256,
} as const;

let forced: 'js' | 'native' | null = null;

/**
 * Runs every kernel on one path whatever the size ('js' or 'native'; null restores the
 * thresholds), so tests can check that both paths give the same values. @internal
 */
export function forceKernelPath(path: 'js' | 'native' | null): void {
  forced = path;
}

/** The path forced by {@link forceKernelPath}, or null. @internal */
export function forcedKernelPath(): 'js' | 'native' | null {
  return forced;
}

/** True when the native kernel should run for `kind` at `size`. */
export function useNative(kind: keyof typeof NATIVE_THRESHOLD, size: number): boolean {
  if (forced !== null) return forced === 'native';
  return size >= NATIVE_THRESHOLD[kind];
}
