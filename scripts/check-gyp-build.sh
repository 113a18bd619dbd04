#!/usr/bin/env bash
# Builds the addon with node-gyp (the from-source fallback) in a scratch copy, so the cmake-js
# build in build/ stays, then runs the native tests against the node-gyp binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/native" "$root/binding.gyp" "$root/package.json" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
nodedir="$(dirname "$(dirname "$(command -v node)")")"
(cd "$work" && npx --no-install node-gyp rebuild --nodedir="$nodedir" -j max >/dev/null)
METAGRAD_ADDON_PATH="$work/build/Release/metagrad.node" npx mocha test/native.test.ts
