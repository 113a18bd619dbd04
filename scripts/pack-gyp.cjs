#!/usr/bin/env node
// Pack time (`prepack`): copies binding.gyp to native/gyp/binding.gyp for the tarball, which
// ships it there instead of at its root. npm treats any package with a root binding.gyp as having
// an implicit `node-gyp rebuild` install script whenever the install comes from a lockfile
// (`npm ci`, a repeat `npm install`: the lockfile does not record "gypfile": false), so the
// package would compile on install, or fail without a compiler, and npm would flag it for
// install-script review. `npm run build:source` puts it back at the root for the build.
// `--clean` (`postpack`) removes the copy again.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'native', 'gyp');
fs.rmSync(dir, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  console.log('pack-gyp: binding.gyp -> native/gyp/binding.gyp');
}
