/**
 * The transpose of a linear map given only as a function, on trees: Aᵀ w is the vector-Jacobian
 * product of x ↦ A x (ts/linalg/implicit-solve.ts's transposeOp, with the checks a public
 * function owes its caller).
 */
import { transposeOp } from '../linalg/implicit-solve';
import { fmtShape, sameShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { flatten, sameStructure, unflatten } from '../tree/tree';

/**
 * Returns `w ↦ Aᵀ w` for the linear map `matvec` (x ↦ A x), where `exampleX` gives the structure,
 * shapes and dtypes of x. The products are differentiable (in w and in whatever matvec closes
 * over) when grad mode is on as they are taken; `fn` names the caller in messages.
 *
 * @throws TypeError (when applied) if matvec's output is not connected to its input by recorded
 * operations (a detached or non-differentiable matvec), since Aᵀ w would then silently be 0.
 */
export function makeRmatvec<X, Y>(matvec: (x: X) => Y, exampleX: X, fn = 'makeRmatvec'): (w: Y) => X {
  const [xLeaves, xSpec] = flatten(exampleX);
  let out: unknown;
  const transposed = transposeOp(
    (v) => {
      out = matvec(unflatten<X>(xSpec, v));
      return flatten(out)[0];
    },
    xLeaves,
    () =>
      // Returning zeros here would make the caller solve a wrong system silently.
      new TypeError(
        `${fn}: matvec(x) does not depend on x through recorded operations, so Aᵀ cannot be formed as its vector-Jacobian product; ` +
          'make matvec differentiable (e.g. compute inner VJPs with createGraph: true, no noGrad or detach inside) or use a solver that needs no transpose (solveCg, solveGmres, solveBicgstab, solveDense)',
      ),
  );
  const [outLeaves] = flatten(out);
  return (w: Y): X => {
    const [wLeaves] = flatten(w);
    if (wLeaves.length !== outLeaves.length || !sameStructure(w, out)) {
      throw new RangeError(`${fn}: the vector multiplied by Aᵀ must have the structure of matvec's output (${outLeaves.length} tensor leaves), got ${wLeaves.length} leaves`);
    }
    wLeaves.forEach((t: Tensor, i) => {
      if (!sameShape(t.shape, outLeaves[i].shape)) {
        throw new RangeError(`${fn}: leaf ${i} multiplied by Aᵀ has shape ${fmtShape(t.shape)} but matvec's output leaf has shape ${fmtShape(outLeaves[i].shape)}`);
      }
    });
    return unflatten<X>(xSpec, transposed(wLeaves));
  };
}
