#!/usr/bin/env node
// `npm run build:source`: builds build/Release/metagrad.node from the shipped sources with
// node-gyp, for platforms without a prebuilt addon. It fetches nothing: node-gyp is the copy that
// comes with npm (or a local one), the Node.js headers are those installed beside `node` when
// present (official Node.js builds have them in <prefix>/include/node), and Eigen is the copy in
// native/vendor/eigen3 (in the npm package) or the system's (native/find-eigen.js).
// Needs a C++17 compiler, make and Python 3 (node-gyp's requirements).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');

function fail(msg) {
  process.stderr.write(`build:source: ${msg}\n`);
  process.exit(1);
}

// Eigen first: its error says how to get it.
const eigen = spawnSync(process.execPath, [path.join(root, 'native', 'find-eigen.js')], { encoding: 'utf8' });
if (eigen.status !== 0) fail(eigen.stderr.trim());

function findNodeGyp() {
  const tries = [];
  // npm tells its scripts where its own node-gyp is.
  if (process.env.npm_config_node_gyp) tries.push(process.env.npm_config_node_gyp);
  try { tries.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })); } catch { /* not installed */ }
  // npm's bundled copy, found from the node binary (Unix layout, then Windows layout).
  const prefix = path.dirname(path.dirname(process.execPath));
  tries.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  tries.push(path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return tries.find((p) => fs.existsSync(p));
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found: install it (npm install -g node-gyp) and run this again');

const args = [nodeGyp, 'rebuild', '-j', 'max'];
const prefix = path.dirname(path.dirname(process.execPath));
if (process.env.npm_config_nodedir) {
  args.push(`--nodedir=${process.env.npm_config_nodedir}`);
} else if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && process.platform !== 'win32') {
  args.push(`--nodedir=${prefix}`);
} else {
  console.log('build:source: no Node.js headers beside node; node-gyp will use its cache or download them');
}
// node-gyp reads ./binding.gyp. The npm package ships it as native/gyp/binding.gyp (see
// scripts/pack-gyp.cjs), so it is put at the root for the build only.
const gyp = path.join(root, 'binding.gyp');
const shipped = path.join(root, 'native', 'gyp', 'binding.gyp');
const temporary = !fs.existsSync(gyp);
if (temporary) {
  if (!fs.existsSync(shipped)) fail('neither binding.gyp nor native/gyp/binding.gyp exists');
  fs.copyFileSync(shipped, gyp);
}
console.log(`build:source: Eigen from ${eigen.stdout.trim()}; node ${args.slice(1).join(' ')}`);
let r;
try {
  r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
} finally {
  if (temporary) fs.rmSync(gyp, { force: true });
}
if (r.status !== 0) fail('node-gyp failed (see above)');

const out = path.join(root, 'build', 'Release', 'metagrad.node');
const check = spawnSync(process.execPath, ['-e',
  `console.log(JSON.stringify(require(${JSON.stringify(out)}).backendInfo()))`], { encoding: 'utf8' });
if (check.status !== 0) fail(`the build does not load:\n${check.stderr}`);
console.log(`build:source: built ${path.relative(root, out)}: ${check.stdout.trim()}`);
