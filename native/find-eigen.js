#!/usr/bin/env node
// Prints the Eigen 3.4 include folder for binding.gyp, searched like CMakeLists.txt does:
// the vendored copy (native/vendor/eigen3), then $EIGEN3_INCLUDE_DIR, then the usual install
// locations. Exits non-zero with instructions when none has Eigen/Core.
'use strict';
const fs = require('fs');
const path = require('path');

/** Where an installed (non-vendored) Eigen may live, in search order. */
function systemCandidates() {
  return [process.env.EIGEN3_INCLUDE_DIR, '/usr/include/eigen3', '/usr/local/include/eigen3', '/opt/homebrew/include/eigen3'].filter(Boolean);
}

/** The first folder holding Eigen/Core among `dirs`, or undefined. */
function findEigen(dirs) {
  return dirs.find((dir) => fs.existsSync(path.join(dir, 'Eigen', 'Core')));
}

module.exports = { systemCandidates, findEigen };

if (require.main === module) {
  const candidates = [path.join(__dirname, 'vendor', 'eigen3'), ...systemCandidates()];
  const found = findEigen(candidates);
  if (!found) {
    process.stderr.write(
      'metagrad needs the Eigen 3.4 headers, which were not found in:\n  ' +
        candidates.join('\n  ') +
        '\nDebian/Ubuntu: apt-get install libeigen3-dev; Fedora: dnf install eigen3-devel; ' +
        'macOS: brew install eigen; or set EIGEN3_INCLUDE_DIR to the folder holding Eigen/Core.\n',
    );
    process.exit(1);
  }
  process.stdout.write(found);
}
