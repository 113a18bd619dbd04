// Smoke test of the installed tarball through require(): run by scripts/check-package.sh in an
// empty project. SMOKE_ADDON=prebuild|source says which addon file must have been loaded.
'use strict';
const assert = require('node:assert/strict');
const mg = require('metagrad');

// The README's implicit-function example: y² = x³, dy/dx at x = 5 is 1.5·√5.
const root = mg.diff.implicit.customRoot(
  (y, x) => y.square().sub(x.pow(3)),
  { argnums: 1, solve: mg.linearSolve.solveCg() },
)((y0, x) => x.pow(1.5));
const x5 = mg.tensor(5, { dtype: 'float64', requiresGrad: true });
const [dy] = mg.autograd.grad(root(mg.tensor(1, { dtype: 'float64' }), x5), x5);
assert.ok(Math.abs(dy.item() - 1.5 * Math.sqrt(5)) < 1e-9, `dy/dx = ${dy.item()}`);

// A matmul large enough to go through the native kernels, checked against a plain loop.
const n = 64;
const a = mg.randn([n, n], { dtype: 'float64' });
const b = mg.randn([n, n], { dtype: 'float64' });
const c = mg.matmul(a, b).data;
const A = a.data, B = b.data;
let err = 0;
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let k = 0; k < n; k++) s += A[i * n + k] * B[k * n + j];
  err = Math.max(err, Math.abs(s - c[i * n + j]));
}
assert.ok(err < 1e-10, `matmul error ${err}`);

const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
const want = { prebuild: /[\\/]prebuilds[\\/]/, source: /[\\/]build[\\/]Release[\\/]metagrad\.node$/ }[process.env.SMOKE_ADDON];
assert.equal(addons.length, 1, `addons loaded: ${addons}`);
if (want) assert.match(addons[0], want);
console.log(`require ok: ${JSON.stringify(mg.backendInfo())} from ${addons[0]}`);
