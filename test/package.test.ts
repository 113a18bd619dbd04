/** The package entry points: CommonJS require and ESM import of the built dist/, and loading in a worker thread. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('package entry points', () => {
  it('loads with require() and computes a gradient', () => {
    const out = run(['-e', "const mg = require('metagrad'); const x = mg.tensor([1, 2, 3], { requiresGrad: true }); x.square().sum().backward(); console.log(JSON.stringify(x.grad.tolist()))"]);
    assert.deepEqual(JSON.parse(out), [2, 4, 6]);
  });

  it('loads with import and exposes the same names as require', () => {
    const out = run([
      '--input-type=module',
      '-e',
      "import * as mg from 'metagrad'; import { createRequire } from 'node:module'; const cjs = createRequire(import.meta.url)('metagrad'); " +
        "const missing = Object.keys(cjs).filter((k) => !(k in mg)); const x = mg.tensor([[1, 2], [3, 4]]); console.log(JSON.stringify({ missing, v: mg.matmul(x, x).tolist() }))",
    ]);
    const r = JSON.parse(out) as { missing: string[]; v: number[][] };
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.v, [[7, 10], [15, 22]]);
  });

  it('runs in a worker thread', () => {
    const code =
      "const { Worker } = require('node:worker_threads');" +
      "const w = new Worker(\"const mg = require('metagrad'); const { parentPort } = require('node:worker_threads'); const a = mg.ones(64, 64); parentPort.postMessage(mg.matmul(a, a).sum().item());\", { eval: true });" +
      'w.on("message", (m) => { console.log(m); w.terminate(); });';
    assert.equal(Number(run(['-e', code])), 64 * 64 * 64);
  });
});
