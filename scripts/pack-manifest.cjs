#!/usr/bin/env node
// Pack time (`prepack`): the published package.json drops the `prepare` script. It builds the
// addon and dist/ for a clone of the repository (`npm ci`), but the tarball ships both prebuilt,
// and npm lists any lifecycle script of an installed package for review (npm 11: "install scripts
// not yet covered by allowScripts") although none would run. The repository's package.json is
// kept as package.json.orig and put back by `--restore` (`postpack`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const file = path.join(root, 'package.json');
const orig = path.join(root, 'package.json.orig');
if (process.argv.includes('--restore')) {
  if (fs.existsSync(orig)) fs.renameSync(orig, file);
} else {
  if (fs.existsSync(orig)) fs.renameSync(orig, file); // a pack that died before postpack
  const text = fs.readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  fs.writeFileSync(orig, text);
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  console.log('pack-manifest: the published package.json has no prepare script');
}
