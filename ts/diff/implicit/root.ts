/**
 * customRoot: differentiate the solution of an inner problem F(x*, θ) = 0 by the implicit function
 * theorem instead of through the solver's iterations (TorchOpt's `custom_root`, JAXopt's
 * `custom_root`). Reverse mode: solve (∂F/∂x)ᵀ u = −v matrix-free, then return uᵀ ∂F/∂θ. The
 * backward is written in differentiable operations, so forward mode (func.jvp) and higher orders
 * (grad of grad) through the solution come out of the same code. This file is the decorator; the
 * rules are in root-rules.ts, the options in root-options.ts.
 */
import { isGradEnabled, noGrad } from '../../autograd/grad-mode';
import { NoGraphError, typeError } from '../../errors';
import { sub } from '../../ops/elementwise';
import { zerosLike } from '../../ops/creation';
import { recordMultiBatched } from '../../ops/record-batched';
import { batchedOf, physicalOf } from '../../tensor/batched';
import { flatten, unflatten } from '../../tree/tree';
import { type AnyFn, type CustomRootOptions, type OptimalityFn, resolveOptions } from './root-options';
import { type RootEval, checkIsRoot, collectParams, evalAtRoot, rootVjpFlat } from './root-rules';
import { copyValues } from '../../autograd/accumulate';

export type { CustomRootOptions, OptimalityFn } from './root-options';
export { type RootDiffOptions, rootJvp, rootVjp } from './root-rules';

/** Runs the user's solver with recording off, explaining the failure of a solver that differentiates. */
function runSolver(site: string, solverFn: AnyFn, args: unknown[]): unknown {
  try {
    return noGrad(() => solverFn(...args));
  } catch (e) {
    if (e instanceof NoGraphError) {
      throw new NoGraphError(
        `${site}: the solver failed to differentiate: ${e.message}. customRoot runs the solver with gradient recording off ` +
          '(its iterations are not part of the implicit gradient); a solver that takes gradients itself must turn recording on ' +
          'around them, e.g. mg.enableGrad(() => mg.autograd.grad(loss(x), x)), or use mg.func.grad',
      );
    }
    throw e;
  }
}

/** The wrapper behind {@link customRoot} and {@link customFixedPoint}; `kind` names it in messages. */
function rootWrapper(kind: string, optimalityFn: OptimalityFn, opts: CustomRootOptions) {
  const r = resolveOptions(kind, opts);
  return <S extends (...args: never[]) => unknown>(solverFn: S): S => {
    if (typeof solverFn !== 'function') throw typeError(kind, 'solverFn', 'a function', solverFn);
    const site = `${kind}(${solverFn.name || 'solver'})`;
    const wrapped = (...args: unknown[]): unknown => {
      const maxArg = Math.max(...r.argnums);
      if (maxArg >= args.length) {
        throw new RangeError(`${site}: argnums refers to argument ${maxArg}, but the solver was called with ${args.length} argument(s)`);
      }
      const result = runSolver(site, solverFn as unknown as AnyFn, args);
      let solution: unknown = result;
      let aux: unknown;
      if (r.hasAux) {
        if (!Array.isArray(result) || result.length !== 2) throw new TypeError(`${site}: with hasAux the solver must return [solution, aux]`);
        [solution, aux] = result;
      }
      const [xs, solSpec] = flatten(solution);
      if (xs.length === 0) throw new TypeError(`${site}: the solver returned no tensors (got ${typeof solution})`);
      // Own copies: the solver may keep updating its tensors in place afterwards.
      const outs = xs.map((t) => {
        const [px, levels] = physicalOf(t);
        return batchedOf(copyValues(px), levels);
      });
      const p = collectParams(args, r.argnums);
      const flatTheta = p.leaves.flat();
      const differentiable = isGradEnabled() && flatTheta.some((t) => t.requiresGrad);
      if (differentiable) {
        // F at the solution: checked here, and reused by a first-order backward.
        let atRoot: RootEval | undefined;
        if (r.checkRoot !== false) {
          atRoot = evalAtRoot(site, optimalityFn, outs, solSpec, args, r, p, false);
          checkIsRoot(site, r, outs, atRoot.fs);
        }
        // Inside vmap the node joins the members' physical graph; a shared θ gets the sum over the members.
        recordMultiBatched('ImplicitRootBackward0', flatTheta, outs, (grads, needs) => {
          const v = grads.map((g, i) => g ?? zerosLike(outs[i]));
          const per = rootVjpFlat(site, optimalityFn, outs, solSpec, args, r, p, v, atRoot);
          const flat = per.flat();
          return flat.map((g, i) => (needs[i] ? g : null));
        });
      }
      const sol = unflatten(solSpec, outs);
      return r.hasAux ? [sol, aux] : sol;
    };
    Object.defineProperty(wrapped, 'name', { value: solverFn.name || `${kind}Solver` });
    return wrapped as unknown as S;
  };
}

/**
 * `customRoot(optimalityFn, { argnums, hasAux, solve })(solverFn)`: wraps `solverFn` so its
 * solution is differentiable with respect to the `argnums` arguments by the implicit function
 * theorem. `optimalityFn` takes solverFn's arguments with the solution in place of the first and
 * returns a tree shaped like the solution, zero at the solution. The solution is checked to be a
 * root (see {@link CustomRootOptions.checkRoot}).
 */
export function customRoot(optimalityFn: OptimalityFn, opts: CustomRootOptions) {
  if (typeof optimalityFn !== 'function') throw typeError('customRoot', 'optimalityFn', 'a function', optimalityFn);
  return rootWrapper('customRoot', optimalityFn, opts);
}

/**
 * `customFixedPoint(fixedPointFn, opts)(solverFn)`: like {@link customRoot} for a solution of
 * x = T(x, ...args), i.e. the root of F(x, …) = T(x, …) − x.
 */
export function customFixedPoint(fixedPointFn: OptimalityFn, opts: CustomRootOptions) {
  if (typeof fixedPointFn !== 'function') throw typeError('customFixedPoint', 'fixedPointFn', 'a function', fixedPointFn);
  const F = (x: unknown, ...rest: unknown[]): unknown => {
    const tx = (fixedPointFn as unknown as AnyFn)(x, ...rest);
    const [txs, spec] = flatten(tx);
    const [xs] = flatten(x);
    if (txs.length !== xs.length) throw new TypeError(`customFixedPoint: the fixed-point function returned ${txs.length} tensor(s) for a solution of ${xs.length}`);
    return unflatten(spec, txs.map((t, i) => sub(t, xs[i])));
  };
  return rootWrapper('customFixedPoint', F as OptimalityFn, opts);
}

