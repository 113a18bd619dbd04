/**
 * The transpose of a linear map given only as a function: Aᵀ w is the vector-Jacobian product of
 * x ↦ A x, so one recorded evaluation at zero serves every product (the map is linear, its VJP
 * does not depend on the point).
 */
import { grad } from '../autograd/engine';
import { enableGrad, isGradEnabled } from '../autograd/grad-mode';
import { allocate } from '../tensor/dtype';
import { fmtShape, sameShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { flatten, sameStructure, unflatten } from '../tree/tree';

/**
 * Returns `w ↦ Aᵀ w` for the linear map `matvec` (x ↦ A x), where `exampleX` gives the structure,
 * shapes and dtypes of x. The returned products are differentiable (in w and in whatever matvec
 * closes over) when grad mode is on at the time of this call; `fn` names the caller in messages.
 *
 * @throws TypeError (when applied) if matvec's output is not connected to its input by recorded
 * operations (a detached or non-differentiable matvec), since Aᵀ w would then silently be 0.
 */
export function makeRmatvec<X, Y>(matvec: (x: X) => Y, exampleX: X, fn = 'makeRmatvec'): (w: Y) => X {
  const createGraph = isGradEnabled();
  const [xLeaves, xSpec] = flatten(exampleX);
  const z = xLeaves.map((t) => new Tensor(allocate(t.dtype, t.numel), t.shape, true));
  const out = enableGrad(() => matvec(unflatten<X>(xSpec, z)));
  const [outLeaves] = flatten(out);
  // Outputs that do not depend on x (or on anything) contribute nothing to Aᵀ w.
  const live = outLeaves.map((o, i) => (o.requiresGrad ? i : -1)).filter((i) => i >= 0);
  return (w: Y): X => {
    const [wLeaves] = flatten(w);
    if (wLeaves.length !== outLeaves.length || !sameStructure(w, out)) {
      throw new RangeError(`${fn}: the vector multiplied by Aᵀ must have the structure of matvec's output (${outLeaves.length} tensor leaves), got ${wLeaves.length} leaves`);
    }
    wLeaves.forEach((t, i) => {
      if (!sameShape(t.shape, outLeaves[i].shape)) {
        throw new RangeError(`${fn}: leaf ${i} multiplied by Aᵀ has shape ${fmtShape(t.shape)} but matvec's output leaf has shape ${fmtShape(outLeaves[i].shape)}`);
      }
    });
    const grads = live.length === 0 ? [] : grad(
      live.map((i) => outLeaves[i]),
      z,
      { gradOutputs: live.map((i) => wLeaves[i]), retainGraph: true, createGraph, allowUnused: true },
    );
    if (grads.every((g) => g === null)) {
      // Returning zeros here would make the caller solve a wrong system silently.
      throw new TypeError(
        `${fn}: matvec(x) does not depend on x through recorded operations, so Aᵀ cannot be formed as its vector-Jacobian product; ` +
          'make matvec differentiable (e.g. compute inner VJPs with createGraph: true, no noGrad or detach inside) or use a solver that needs no transpose (solveCg, solveGmres, solveBicgstab, solveDense)',
      );
    }
    return unflatten<X>(xSpec, grads.map((g, i) => g ?? new Tensor(allocate(z[i].dtype, z[i].numel), z[i].shape)));
  };
}
