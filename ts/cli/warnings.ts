/**
 * The CLI runs the backward solve with a fixed iteration budget on purpose (iMAML's 5 CG steps),
 * so the library's "solve stopped before its tolerance" warning is expected noise there; the CLI
 * reports the residual itself. Every other warning still prints.
 */
const QUIET = new Set(['METAGRAD_SOLVE_NOT_CONVERGED']);
let installed = false;

/** Drops the library's not-converged warning in this thread (idempotent). */
export function quietSolveWarnings(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const opts = rest[0];
    const code = typeof opts === 'object' && opts !== null ? (opts as { code?: string }).code : rest[1];
    if (typeof code === 'string' && QUIET.has(code)) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
