#!/usr/bin/env node
// Usage: node scripts/consumer-lock.cjs <consumer-dir> <tarball>...
// Writes package.json and package-lock.json for an empty project that depends on the packed
// tarballs (the library, and the CLI package when it is given), pinning their runtime
// dependencies to the versions in this repository's package-lock.json. `npm ci`, which CI runs
// first, has put exactly those tarballs in the npm cache, so `npm install --offline` in that
// project needs no network; without the pins npm would resolve the newest matching versions from
// cached metadata, whose tarballs may not be cached. A dependency of one tarball on another (the
// CLI on metagrad) is satisfied by that tarball, as npm would dedupe it.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const [dir, ...tarballs] = process.argv.slice(2).map((p) => path.resolve(p));
if (!dir || tarballs.length === 0) throw new Error('usage: consumer-lock.cjs <consumer-dir> <tarball>...');
const repoLock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package-lock.json'), 'utf8'));
// The lock's folder of each package of this repository (the root, the workspaces), by name.
const folderOf = new Map(Object.entries(repoLock.packages).filter(([k, v]) => !k.includes('node_modules/') && v.name).map(([k, v]) => [v.name, k]));

const packages = { '': { name: 'metagrad-consumer', version: '1.0.0', dependencies: {} } };
const queue = [];
for (const tarball of tarballs) {
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  const spec = `file:${path.relative(dir, tarball).split(path.sep).join('/')}`;
  packages[''].dependencies[pkg.name] = spec;
  packages[`node_modules/${pkg.name}`] = {
    version: pkg.version,
    resolved: spec,
    integrity: `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`,
    license: pkg.license,
    ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
    ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
    ...(pkg.peerDependenciesMeta ? { peerDependenciesMeta: pkg.peerDependenciesMeta } : {}),
    ...(pkg.bin ? { bin: pkg.bin } : {}),
    engines: pkg.engines,
  };
  if (!folderOf.has(pkg.name)) throw new Error(`consumer-lock: ${pkg.name} is not a package of this repository's lock`);
  for (const name of Object.keys(pkg.dependencies || {})) queue.push([folderOf.get(pkg.name), name, false, pkg.name]);
}
const given = new Set(Object.keys(packages[''].dependencies));

// Node's resolution over the repository's lock: from `from`, look in each ancestor's node_modules.
function resolve(from, name) {
  for (let at = from; ; ) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (repoLock.packages[key] && !repoLock.packages[key].link) return key;
    if (!at) return null;
    const i = at.lastIndexOf('/node_modules/');
    at = i < 0 ? '' : at.slice(0, i);
  }
}

while (queue.length) {
  const [from, name, optional, by] = queue.shift();
  if (given.has(name) && !from.includes('node_modules/')) continue; // one of the tarballs
  const key = resolve(from, name);
  if (!key) {
    if (optional) continue;
    throw new Error(`consumer-lock: ${name} (needed by ${by}) is not in package-lock.json; run npm install`);
  }
  // A workspace's own nested copy (cli/node_modules/x) goes to the consumer's top level.
  const at = key.replace(/^[^/]+\/(?=node_modules\/)/, '');
  if (packages[at]) continue;
  const entry = { ...repoLock.packages[key] };
  for (const flag of ['dev', 'devOptional', 'peer', 'extraneous']) delete entry[flag];
  packages[at] = entry;
  for (const [field, opt] of [['dependencies', false], ['optionalDependencies', true], ['peerDependencies', true]]) {
    for (const dep of Object.keys(entry[field] || {})) queue.push([key, dep, opt, name]);
  }
}

const dependencies = packages[''].dependencies;
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({
  name: 'metagrad-consumer', version: '1.0.0', private: true, dependencies,
}, null, 2)}\n`);
fs.writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify({
  name: 'metagrad-consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages,
}, null, 2)}\n`);
console.log(`consumer-lock: ${Object.keys(dependencies).join(' + ')} + ${Object.keys(packages).length - 1 - given.size} pinned runtime dependencies`);
