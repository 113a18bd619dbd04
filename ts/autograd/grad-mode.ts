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
  let out: T;
  try {
    out = fn();
  } finally {
    setGradEnabled(prev);
  }
  // The mode is a process-wide switch, restored when fn returns: code of an async fn after its
  // first await would run in the caller's mode, silently recording (or not). Refuse it.
  if (out !== null && (typeof out === 'object' || typeof out === 'function') && typeof (out as { then?: unknown }).then === 'function') {
    const name = flag ? 'enableGrad' : 'noGrad';
    throw new TypeError(
      `${name}: argument 'fn' returned a Promise; the grad mode applies only until fn returns, so the code after its first await would run ` +
        `in the outer mode. Call ${name} around the synchronous parts instead, e.g. await load(); const y = mg.${name}(() => model.forward(x));`,
    );
  }
  return out;
}

/**
 * Runs `fn` without recording operations (PyTorch's `torch.no_grad()`), returning its result.
 * `fn` must be synchronous: an async function (one returning a Promise) is refused with a TypeError.
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, e.g. inside a `noGrad` region (PyTorch's `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
