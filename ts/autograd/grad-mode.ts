/** Whether operations are recorded for differentiation (`noGrad` / `enableGrad`). */

let enabled = true;

/** True when operations on tensors that require grad are being recorded. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Sets the grad mode and returns the previous one. @internal */
export function setGradEnabled(flag: boolean): boolean {
  const prev = enabled;
  enabled = flag;
  return prev;
}

/**
 * Runs `fn` with gradient recording set to `flag` and restores the previous mode afterwards, even
 * when `fn` throws. `fn` must be synchronous: the mode is restored when it returns.
 */
export function withGradMode<T>(flag: boolean, fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`${flag ? 'enableGrad' : 'noGrad'}: argument 'fn' must be a function, got ${typeof fn}`);
  const prev = setGradEnabled(flag);
  try {
    return fn();
  } finally {
    setGradEnabled(prev);
  }
}

/** Runs `fn` without recording operations (PyTorch's `torch.no_grad()`), returning its result. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, e.g. inside a `noGrad` region (PyTorch's `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
