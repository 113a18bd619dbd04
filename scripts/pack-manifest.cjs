#!/usr/bin/env node
// Pack time (`prepack` of the library and of the CLI package, run in the package's folder): the
// published package.json
// - drops the `prepare` script: it builds the addon and dist/ for a clone of the repository
//   (`npm ci`), but the tarball ships both prebuilt, and npm lists any lifecycle script of an
//   installed package for review (npm 11: "install scripts not yet covered by allowScripts")
//   although none would run;
// - depends on the version of a package of this repository that it names by folder (`file:..`,
//   how the CLI workspace links the library in a checkout) instead of the folder;
// - carries the repository's LICENSE (copied into a workspace that has none of its own).
// The package's own package.json is kept as package.json.orig and put back by `--restore`
// (`postpack`), which also removes the copied LICENSE.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.cwd();
const file = path.join(dir, 'package.json');
const orig = path.join(dir, 'package.json.orig');
const license = path.join(dir, 'LICENSE');
const copiedMark = path.join(dir, '.LICENSE.copied');
const repoLicense = path.join(__dirname, '..', 'LICENSE');

function restore() {
  if (fs.existsSync(orig)) fs.renameSync(orig, file);
  if (fs.existsSync(copiedMark)) {
    fs.rmSync(license, { force: true });
    fs.rmSync(copiedMark);
  }
}

restore(); // also undoes a pack that died before postpack
if (!process.argv.includes('--restore')) {
  const text = fs.readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  if (pkg.scripts) delete pkg.scripts.prepare;
  const pinned = [];
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, spec] of Object.entries(pkg[field] || {})) {
      if (!spec.startsWith('file:')) continue;
      const linked = JSON.parse(fs.readFileSync(path.join(dir, spec.slice(5), 'package.json'), 'utf8'));
      if (linked.name !== name) throw new Error(`pack-manifest: ${field}.${name} is ${spec}, which holds ${linked.name}`);
      pkg[field][name] = `^${linked.version}`;
      pinned.push(`${name}@^${linked.version}`);
    }
  }
  fs.writeFileSync(orig, text);
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  if (!fs.existsSync(license)) {
    fs.copyFileSync(repoLicense, license);
    fs.writeFileSync(copiedMark, '');
  }
  console.log(`pack-manifest: ${pkg.name}: no prepare script${pinned.length ? `; depends on ${pinned.join(', ')}` : ''}`);
}
