/**
 * Backtracking line search, shared by the solvers that search a step (ProximalGradient, LBFGS,
 * Broyden, Newton). Its decisions are made on the host, one problem at a time, so it refuses to
 * run inside vmap (where members would need different steps): a fixed `stepsize` is the way there.
 */
import { typeError } from '../errors';
import { activeVmaps } from '../tensor/batched';

/** Checked `maxls` and `decreaseFactor` options (a positive integer; a number in (0, 1)). @internal */
export function lineSearchOptions(name: string, o: { maxls?: unknown; decreaseFactor?: unknown }, maxls: number): { maxls: number; decreaseFactor: number } {
  const m = o.maxls ?? maxls;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1) throw typeError(`new ${name}`, 'maxls', 'an integer >= 1', m);
  const d = o.decreaseFactor ?? 0.5;
  if (typeof d !== 'number' || !(d > 0 && d < 1)) throw typeError(`new ${name}`, 'decreaseFactor', 'a number in (0, 1)', d);
  return { maxls: m, decreaseFactor: d };
}

/** The outcome of a search. @internal */
export interface LineSearchResult<R> {
  /** The accepted step (the last one tried when none was accepted). */
  stepsize: number;
  /** What the accepted attempt computed. */
  result: R;
  /** Whether the condition held. */
  ok: boolean;
  /** Number of attempts (function evaluations). */
  evals: number;
}

/** Throws inside vmap: a line search is a per-problem host decision. @internal */
export function refuseInVmap(site: string): void {
  if (activeVmaps().length > 0) {
    throw new TypeError(`${site}: the line search decides each step on the host and cannot run inside vmap (members would need different steps; func.jacrev, jacfwd and hessian also run the function inside vmap); pass a fixed positive 'stepsize' to run the solver under vmap, or take Jacobians row by row with autograd.grad`);
  }
}

/**
 * Tries t0, t0·decrease, t0·decrease², … (at most `maxls` attempts) until `attempt(t)` reports that
 * its sufficient-decrease condition holds. @internal
 */
export function backtrack<R>(site: string, t0: number, decrease: number, maxls: number, attempt: (t: number) => [boolean, R]): LineSearchResult<R> {
  refuseInVmap(site);
  let t = t0;
  let last: [boolean, R] = attempt(t);
  let evals = 1;
  while (!last[0] && evals < maxls) {
    t *= decrease;
    last = attempt(t);
    evals++;
  }
  return { stepsize: t, result: last[1], ok: last[0], evals };
}
