// Type-checked (not run) against the shipped declarations, as an ES module under
// "moduleResolution": "nodenext", by scripts/check-package.sh.
import * as mg from 'metagrad';
import mgDefault from 'metagrad';

const x: mg.Tensor = mg.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
const y: mg.Tensor = mgDefault.matmul(x, x.t()).sum();
const grads: mg.Tensor[] = mg.autograd.grad(y, [x]);
// Shapes are frozen: readonly in the types too.
const shape: readonly number[] = grads[0].shape;
const value: number = mg.func.grad((t: mg.Tensor) => t.square().sum())(x).sum().item();
const lin = new mg.nn.Linear(2, 3);
const opt = new mg.Adam(lin.parameters(), { lr: 1e-3 });
opt.step();
const dtype: mg.DType = mg.getDefaultDtype();
// @ts-expect-error: not a dtype
mg.tensor(1, { dtype: 'int8' });
export { shape, value, dtype };
