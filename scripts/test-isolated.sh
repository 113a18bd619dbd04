#!/usr/bin/env bash
# Runs the test suite in a clone of this repository in an unrelated temporary folder, with none of
# this checkout's surroundings (sibling folders) beside it: the suite must read only files of the
# repository. The built addon, dist/ and node_modules are linked in, not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d /tmp/metagrad-isolated.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
git clone -q --no-local "$root" "$tmp/metagrad"
# Uncommitted changes of a working copy are tested too (a CI checkout has none).
git diff HEAD --binary > "$tmp/changes.patch"
if [ -s "$tmp/changes.patch" ]; then (cd "$tmp/metagrad" && git apply "$tmp/changes.patch"); fi
git ls-files --others --exclude-standard -z | xargs -0 -r cp --parents -t "$tmp/metagrad"
cp -al node_modules "$tmp/metagrad/node_modules"
cp -a build dist "$tmp/metagrad/"
cp -a cli/dist "$tmp/metagrad/cli/"
if [ -e "$tmp/shared" ]; then echo "test-isolated: $tmp/shared exists" >&2; exit 1; fi
cd "$tmp/metagrad"
echo "test-isolated: running npm test in $tmp/metagrad"
npm test
