#!/usr/bin/env bash
# `npm run check:arm64 [-- <test files>]`: cross-compiles the linux-arm64 addon (npm run
# build:prebuild -- --arch=arm64) and runs the test suite with it on an arm64 Node.js 20 under
# qemu-user (scripts/arm64-root.sh makes what that needs, once). The tests run in a copy of this
# checkout (its tracked and untracked files, the built dist/ folders) whose node_modules is
# installed for linux-arm64 (npm ci --cpu=arm64: esbuild, which tsx runs, is a native binary) and
# whose only addon is the arm64 prebuild, loaded the way an installed package loads it. Without
# arguments every test file runs; emulation makes that take a while (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
root="${METAGRAD_ARM64_ROOT:-$HOME/.cache/metagrad/arm64-root}"
export METAGRAD_ARM64_ROOT="$root"
bash scripts/arm64-root.sh
[ -f dist/index.js ] && [ -f cli/dist/main.js ] || npm run build:ts
node scripts/prebuild.cjs --arch=arm64

tmp=$(mktemp -d /tmp/metagrad-arm64.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
copy="$tmp/metagrad"
mkdir -p "$copy"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy"
cp -a dist "$copy/"
cp -a cli/dist "$copy/cli/"
mkdir -p "$copy/prebuilds"
mv prebuilds/linux-arm64 "$copy/prebuilds/"
rmdir prebuilds 2>/dev/null || true
(cd "$copy" && npm ci --ignore-scripts --cpu=arm64 --os=linux --libc=glibc --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 \
  || { cat "$tmp/npm.log"; echo 'check:arm64: npm ci for linux-arm64 failed' >&2; exit 1; }
[ -d "$copy/node_modules/@esbuild/linux-arm64" ] || { echo 'check:arm64: npm ci did not install @esbuild/linux-arm64' >&2; exit 1; }

node=("$root/usr/bin/node")
export QEMU_LD_PREFIX="$root"
cd "$copy"
echo "check:arm64: $("${node[@]}" -p 'process.version + " " + process.arch') under $(qemu-aarch64-static --version | head -1)"
"${node[@]}" -e '
  const mg = require("./dist/index.js");
  const addons = Object.keys(require.cache).filter((f) => f.endsWith(".node"));
  if (process.arch !== "arm64" || addons.length !== 1 || !addons[0].includes("/prebuilds/linux-arm64/")) throw new Error(`not the arm64 prebuild: ${addons}`);
  console.log(`check:arm64: ${addons[0].replace(process.cwd() + "/", "")}: ${JSON.stringify(mg.backendInfo())}`);
'
t0=$(date +%s)
# Arguments go to mocha: test files, and options such as --reporter spec; no file: all of them.
args=("$@")
{ [ ${#args[@]} -gt 0 ] && printf '%s\n' "${args[@]}" | grep -qv '^-'; } || args+=('test/**/*.test.ts')
"${node[@]}" node_modules/mocha/bin/mocha.js --require ./scripts/emulated-timeouts.cjs "${args[@]}"
echo "check:arm64: ${args[*]} passed on linux-arm64 (emulated) in $(( $(date +%s) - t0 )) s"
