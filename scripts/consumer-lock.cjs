#!/usr/bin/env node
// Usage: node scripts/consumer-lock.cjs <tarball> <consumer-dir>
// Writes package.json and package-lock.json for an empty project that depends on the packed
// tarball, pinning the tarball's runtime dependencies to the versions in this repository's
// package-lock.json. `npm ci`, which CI runs first, has put exactly those tarballs in the npm
// cache, so `npm install --offline` in that project needs no network; without the pins npm would
// resolve the newest matching versions from cached metadata, whose tarballs may not be cached.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const [tarball, dir] = process.argv.slice(2).map((p) => path.resolve(p));
const repoLock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package-lock.json'), 'utf8'));
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const spec = `file:${path.relative(dir, tarball).split(path.sep).join('/')}`;
const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;

const packages = {
  '': { name: 'metagrad-consumer', version: '1.0.0', dependencies: { metagrad: spec } },
  'node_modules/metagrad': {
    version: pkg.version,
    resolved: spec,
    integrity,
    license: pkg.license,
    dependencies: pkg.dependencies,
    engines: pkg.engines,
  },
};

// Node's resolution over the repository's lock: from `from`, look in each ancestor's node_modules.
function resolve(from, name) {
  for (let at = from; ; ) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (repoLock.packages[key]) return key;
    if (!at) return null;
    const i = at.lastIndexOf('/node_modules/');
    at = i < 0 ? '' : at.slice(0, i);
  }
}

const queue = Object.keys(pkg.dependencies || {}).map((name) => ['', name, false]);
while (queue.length) {
  const [from, name, optional] = queue.shift();
  const key = resolve(from, name);
  if (!key) {
    if (optional) continue;
    throw new Error(`consumer-lock: ${name} (needed from ${from || 'metagrad'}) is not in package-lock.json; run npm install`);
  }
  if (packages[key]) continue;
  const entry = { ...repoLock.packages[key] };
  for (const flag of ['dev', 'devOptional', 'peer', 'extraneous']) delete entry[flag];
  packages[key] = entry;
  for (const [field, opt] of [['dependencies', false], ['optionalDependencies', true], ['peerDependencies', true]]) {
    for (const dep of Object.keys(entry[field] || {})) queue.push([key, dep, opt]);
  }
}

fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({
  name: 'metagrad-consumer', version: '1.0.0', private: true, dependencies: { metagrad: spec },
}, null, 2)}\n`);
fs.writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify({
  name: 'metagrad-consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages,
}, null, 2)}\n`);
console.log(`consumer-lock: metagrad + ${Object.keys(packages).length - 2} pinned runtime dependencies`);
