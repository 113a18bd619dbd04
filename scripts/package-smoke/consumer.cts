// The same through require() (a CommonJS module under "moduleResolution": "nodenext").
import mg = require('metagrad');

const x: mg.Tensor = mg.randn([3, 2], { dtype: 'float32' });
const root = mg.diff.implicit.customRoot(
  (y: mg.Tensor, a: mg.Tensor) => y.square().sub(a),
  { argnums: 1, solve: mg.linearSolve.solveCg() },
)((y0: mg.Tensor, a: mg.Tensor) => a.sqrt());
const r: mg.Tensor = root(mg.onesLike(x), x.abs());
const info: { isa: string } = mg.backendInfo();
export = { r, info };
