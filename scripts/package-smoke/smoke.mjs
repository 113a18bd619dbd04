// Smoke test of the installed tarball through import (see smoke.cjs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as mg from 'metagrad';
import mgDefault from 'metagrad';

const require = createRequire(import.meta.url);
// One module instance for both entry points: no dual-package hazard.
assert.equal(require('metagrad').tensor, mg.tensor);
assert.equal(mgDefault.tensor, mg.tensor);

const f = (x) => x.tanh().mul(x).sum();
const x = mg.tensor([0.5, -1, 2], { dtype: 'float64' });
const g = mg.func.grad(f)(x).tolist();
const want = x.tolist().map((v) => Math.tanh(v) + v * (1 - Math.tanh(v) ** 2));
g.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `grad[${i}] = ${v}, want ${want[i]}`));

const model = new mg.nn.Sequential(new mg.nn.Linear(4, 8), new mg.nn.ReLU(), new mg.nn.Linear(8, 1));
const opt = new mg.Adam(model.parameters(), { lr: 1e-2 });
const xs = mg.randn([32, 4]);
const ys = xs.sum(1, true);
let first;
let last;
for (let i = 0; i < 50; i++) {
  opt.zeroGrad();
  const loss = mg.nn.functional.mseLoss(model.forward(xs), ys);
  loss.backward();
  opt.step();
  first ??= loss.item();
  last = loss.item();
}
assert.ok(last < first, `loss ${first} -> ${last}`);

const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
const expected = { prebuild: /[\\/]prebuilds[\\/]/, source: /[\\/]build[\\/]Release[\\/]metagrad\.node$/ }[process.env.SMOKE_ADDON];
assert.equal(addons.length, 1, `addons loaded: ${addons}`);
if (expected) assert.match(addons[0], expected);
console.log(`import ok: isa ${mg.backendInfo().isa}, loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
