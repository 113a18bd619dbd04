#!/usr/bin/env bash
# `npm run check:package`: packs the two npm tarballs, the library (prepack makes the prebuild and
# vendors Eigen) and the command line (cli/, which depends on the library), checks what is in
# them, lints the library's (publint, arethetypeswrong), installs the library alone into an empty
# project with no compiler, no CMake, no make on PATH (CC=false CXX=false) and no network (npm
# --offline; runtime dependencies come from the npm cache that `npm ci` filled) and counts what it
# brought, runs a smoke program through import and through require and type-checks a TypeScript
# consumer there; installs the CLI package the same way into a second project and runs a short
# job with its `metagrad` executable; then builds the addon from the library tarball's sources
# with the vendored Eigen and runs the smoke programs and the native tests on that build.
# Everything happens in a temporary folder; the checkout is left as it was.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
smoke="$root/scripts/package-smoke"
work="$(mktemp -d)"
# CHECK_PACKAGE_KEEP=1 keeps the folder for a look after a failure.
[ -n "${CHECK_PACKAGE_KEEP:-}" ] && echo "check:package: working in $work" || trap 'rm -rf "$work"' EXIT
cd "$root"

t_start=$(date +%s.%N)
t_last=$t_start
calc() { awk "BEGIN { print $* }"; }
phase() { # prints how long the phase that just ended took
  local now; now=$(date +%s.%N)
  printf 'check:package: %-46s %6.1f s\n' "$1" "$(calc "$now - $t_last")"
  t_last=$now
}
fail() { echo "check:package: FAILED: $*" >&2; exit 1; }

# --- 1. Pack ---------------------------------------------------------------------------------
npm pack --pack-destination "$work" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail 'npm pack'; }
tgz="$(ls "$work"/metagrad-[0-9]*.tgz)"
tag="$(node -p 'process.platform + "-" + process.arch')"
for d in native/vendor native/gyp "prebuilds/$tag"; do
  [ ! -e "$root/$d" ] || fail "postpack left $d in the checkout"
done
phase 'npm pack (prepack: prebuild, vendor Eigen)'

tar -tzf "$tgz" | sort >"$work/files.txt"
required=(package/package.json package/LICENSE package/README.md
  package/dist/index.js package/dist/index.mjs package/dist/index.d.ts package/dist/index.d.mts
  package/CMakeLists.txt package/native/gyp/binding.gyp package/native/binding.cc package/native/find-eigen.js
  package/native/exports.map package/native/vendor/eigen3/Eigen/Core package/examples/imaml-functional.ts
  package/native/vendor/eigen3/COPYING.MPL2 package/native/vendor/eigen3/COPYRIGHT
  package/scripts/build-from-source.cjs)
for f in "${required[@]}"; do grep -qxF "$f" "$work/files.txt" || fail "the tarball lacks $f"; done
prebuild="$(grep -E "^package/prebuilds/$tag/metagrad\.napi(\.[a-z]+)?\.node$" "$work/files.txt" || true)"
[ -n "$prebuild" ] || fail "the tarball has no prebuilds/$tag/metagrad.napi*.node"
# The cross-compiled linux-arm64 addon is packed when this machine can build and run it (see
# scripts/arm64-root.sh); METAGRAD_REQUIRE_ARM64=1 (CI) insists on it.
arm64_prebuild="$(grep -xF package/prebuilds/linux-arm64/metagrad.napi.glibc.node "$work/files.txt" || true)"
[ -n "$arm64_prebuild" ] || [ "${METAGRAD_REQUIRE_ARM64:-}" != 1 ] || fail 'the tarball has no prebuilds/linux-arm64/metagrad.napi.glibc.node'
echo "check:package: prebuilds: $(grep -oE '^package/prebuilds/[^/]+/' "$work/files.txt" | sort -u | sed 's#package/prebuilds/##; s#/$##' | tr '\n' ' ')"
# No tests, benchmarks, build intermediates or repository tooling (examples/ is shipped: the README points at it).
# No binding.gyp at the root either: npm would run `node-gyp rebuild` on lockfile installs.
bad="$(grep -E '^package/binding\.gyp$|^package/(test|bench|build|docs|node_modules|\.ci|\.github)/|\.(o|obj|a|lib|tgz|log|tsbuildinfo)$|\.test\.[cm]?[jt]s$|CMakeFiles|CMakeCache|\.ninja|^package/tsconfig' "$work/files.txt" || true)
$(grep '^package/scripts/' "$work/files.txt" | grep -vxF package/scripts/build-from-source.cjs || true)"
[ -z "${bad//[$'\n ']/}" ] || fail "the tarball holds files it should not: $bad"
tar -xzf "$tgz" -C "$work" package/package.json "$prebuild"
node -e '
  const p = require(process.argv[1]);
  const s = p.scripts || {};
  // prepare too: it never runs for a tarball install, but npm lists it for install-script review.
  for (const k of ["preinstall", "install", "postinstall", "prepare"]) if (s[k]) throw new Error(`install script ${k}: ${s[k]}`);
  if (p.gypfile !== false) throw new Error("gypfile must be false: npm would run node-gyp on install");
' "$work/package/package.json" || fail 'the packed package.json would compile on install'
if command -v readelf >/dev/null && [ "$(uname -s)" = Linux ]; then
  ! readelf -S "$work/$prebuild" | grep -q '\.symtab' || fail "$prebuild is not stripped"
  if [ -n "$arm64_prebuild" ]; then
    tar -xzf "$tgz" -C "$work" "$arm64_prebuild"
    readelf -h "$work/$arm64_prebuild" | grep -q 'Machine: *AArch64' || fail "$arm64_prebuild is not an AArch64 binary"
    ! readelf -S "$work/$arm64_prebuild" | grep -q '\.symtab' || fail "$arm64_prebuild is not stripped"
  fi
fi
size=$(stat -c %s "$tgz")
unpacked=$(tar -tvzf "$tgz" | awk '{s += $3} END {print s}')
printf 'check:package: tarball %s: %d bytes (%.0f KiB), %d files, %.1f MiB unpacked; prebuild %s (%.0f KiB)\n' \
  "$(basename "$tgz")" "$size" "$(calc "$size / 1024")" "$(wc -l <"$work/files.txt")" \
  "$(calc "$unpacked / 1048576")" "${prebuild#package/}" "$(calc "$(stat -c %s "$work/$prebuild") / 1024")"
phase 'tarball contents'

npm pack --workspace cli --pack-destination "$work" >"$work/pack-cli.log" 2>&1 || { cat "$work/pack-cli.log"; fail 'npm pack --workspace cli'; }
cli_tgz="$(ls "$work"/metagrad-cli-*.tgz)"
[ ! -e "$root/cli/package.json.orig" ] && [ ! -e "$root/cli/LICENSE" ] || fail 'postpack left cli/package.json.orig or cli/LICENSE in the checkout'
tar -tzf "$cli_tgz" | sort >"$work/cli-files.txt"
for f in package/package.json package/LICENSE package/README.md package/dist/main.js package/dist/imaml/worker.js; do
  grep -qxF "$f" "$work/cli-files.txt" || fail "the CLI tarball lacks $f"
done
bad="$(grep -vE '^package/(package\.json|LICENSE|README\.md|dist/.*\.js(\.map)?)$' "$work/cli-files.txt" || true)"
[ -z "$bad" ] || fail "the CLI tarball holds files it should not: $bad"
mkdir -p "$work/cli-pkg"
tar -xzf "$cli_tgz" -C "$work/cli-pkg" package/package.json
node -e '
  const [p, lib] = [require(process.argv[1]), require(process.argv[2])];
  const s = p.scripts || {};
  for (const k of ["preinstall", "install", "postinstall", "prepare"]) if (s[k]) throw new Error(`install script ${k}: ${s[k]}`);
  if (p.dependencies.metagrad !== `^${lib.version}`) throw new Error(`depends on metagrad ${p.dependencies.metagrad}, not ^${lib.version}`);
  if (p.bin?.metagrad !== "./dist/main.js") throw new Error("no metagrad executable");
' "$work/cli-pkg/package/package.json" "$work/package/package.json" || fail 'the packed CLI package.json'
printf 'check:package: tarball %s: %.0f KiB, %d files\n' "$(basename "$cli_tgz")" "$(calc "$(stat -c %s "$cli_tgz") / 1024")" "$(wc -l <"$work/cli-files.txt")"
phase 'npm pack --workspace cli + contents'

# --- 2. Lint ---------------------------------------------------------------------------------
npx --no-install publint run "$tgz" --strict
npx --no-install attw "$tgz" --no-definitely-typed --format table-flipped
phase 'publint + arethetypeswrong'

# --- 3. Install into an empty project: no compilers, no network -----------------------------
consumer="$work/consumer"
node scripts/consumer-lock.cjs "$consumer" "$tgz"
cp "$smoke"/* "$consumer/"
sandbox="$work/bin"   # the only folder on PATH: node and a shell, nothing to compile with
mkdir -p "$sandbox"
ln -s "$(command -v node)" "$sandbox/node"
ln -s "$(command -v sh)" "$sandbox/sh"
for t in cc gcc g++ c++ clang cmake make python3 npx; do
  ! env PATH="$sandbox" /bin/sh -c "command -v $t" >/dev/null || fail "$t is on the sandbox PATH"
done
npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
[ -f "$npm_cli" ] || fail "npm-cli.js not found beside $(command -v npm)"
cache="$(npm config get cache)"
run_sandboxed() { env -i HOME="$HOME" PATH="$sandbox" CC=false CXX=false LANG=C.UTF-8 "$@"; }
phase 'consumer project'
# npm install --offline in a consumer project, sandboxed; prints npm's output and sets install_s.
sandboxed_install() { # <consumer> <log>
  local t0; t0=$(date +%s.%N)
  (cd "$1" && run_sandboxed node "$npm_cli" install --offline --cache="$cache" --no-audit --no-fund) \
    >"$2" 2>&1 || { cat "$2"; fail "npm install --offline in $1 failed (is the npm cache filled by npm ci?)"; }
  cat "$2"
  install_s=$(calc "$(date +%s.%N) - $t0")
}
sandboxed_install "$consumer" "$work/install.log"
! grep -q 'install-scripts' "$work/install.log" || fail 'npm reports install scripts'
lib_install_s=$install_s
# What an install brought: the packages in node_modules (each folder with a package.json whose
# parent is a node_modules folder, scoped ones included) and their size on disk.
installed_packages() { find "$1/node_modules" -name package.json | grep -E '/node_modules/(@[^/]+/)?[^/@]+/package\.json$' | sed -E 's#.*/node_modules/((@[^/]+/)?[^/]+)/package\.json$#\1#' | sort -u; }
report_install() { # <consumer> <what> <seconds>; names the packages when they are few
  local n; n=$(installed_packages "$1" | wc -l)
  printf 'check:package: npm install --offline of %s: %.1f s, %d packages, %s in node_modules%s\n' "$2" "$3" "$n" \
    "$(du -sh "$1/node_modules" | cut -f1)" "$( [ "$n" -gt 10 ] || echo " ($(installed_packages "$1" | tr '\n' ' ' | sed 's/ $//'))")"
}
report_install "$consumer" 'the library' "$lib_install_s"
# The library brings only what it needs at run time: the job dependencies belong to metagrad-cli,
# BullMQ and ioredis are optional peers (installed by those who use mg.distributed).
extra="$(installed_packages "$consumer" | grep -vxE 'metagrad|node-addon-api' || true)"
[ -z "$extra" ] || fail "npm install metagrad brought more than the library needs: $(echo $extra)"
installed="$consumer/node_modules/metagrad"
[ ! -e "$installed/build" ] || fail 'installing compiled something (node_modules/metagrad/build exists)'
phase 'npm install --offline (sandboxed)'

(cd "$consumer" && run_sandboxed SMOKE_ADDON=prebuild node smoke.cjs && run_sandboxed SMOKE_ADDON=prebuild node smoke.mjs)
(cd "$consumer" && run_sandboxed SMOKE_ADDON=prebuild METAGRAD_ISA=baseline node smoke.cjs)
phase 'smoke: require + import (prebuild)'
# The README's examples run from the install as it says (with tsx, which a TypeScript user has;
# the repository's copy here, since the sandbox has no network).
(cd "$consumer" && run_sandboxed node --import "$root/node_modules/tsx/dist/loader.mjs" node_modules/metagrad/examples/imaml-functional.ts) >"$work/example.log" 2>&1 \
  || { cat "$work/example.log"; fail 'examples/imaml-functional.ts does not run from the installed package'; }
grep -q 'meta-gradient (normal CG, 5 iterations)' "$work/example.log" || { cat "$work/example.log"; fail 'the installed example printed no meta-gradient'; }
echo "check:package: node_modules/metagrad/examples/imaml-functional.ts runs from the install: $(head -1 "$work/example.log" | cut -c1-100)"
phase 'shipped example'
node "$root/node_modules/typescript/bin/tsc" -p "$consumer/tsconfig.json"
echo 'check:package: the TypeScript consumer type-checks against the shipped declarations'
phase 'type-check consumer (nodenext, ESM + CJS)'

# --- 3b. The command line: metagrad-cli with the library tarball, the same way ----------------
cli_consumer="$work/cli-consumer"
node scripts/consumer-lock.cjs "$cli_consumer" "$tgz" "$cli_tgz"
sandboxed_install "$cli_consumer" "$work/cli-install.log"
# bullmq's msgpackr brings msgpackr-extract, an optional native speed-up with an install script
# that npm lists (and does not run unapproved); msgpackr works without it. Ours must list none.
! grep -qE 'install-scripts +metagrad(-cli)?@' "$work/cli-install.log" || fail 'npm reports install scripts of metagrad or metagrad-cli'
report_install "$cli_consumer" 'metagrad-cli + the library' "$install_s"
[ ! -e "$cli_consumer/node_modules/metagrad-cli/node_modules/metagrad" ] || fail 'metagrad-cli got its own copy of metagrad'
(cd "$cli_consumer" && run_sandboxed node_modules/.bin/metagrad imaml --iterations 2 --meta-batch 2 --inner-steps 2 --eval-tasks 2 --eval-every 2 \
  --workers 1 --json --out run) >"$work/cli-run.log" 2>&1 || { cat "$work/cli-run.log"; fail 'the installed metagrad executable'; }
[ -s "$cli_consumer/run/model.safetensors" ] || { cat "$work/cli-run.log"; fail 'metagrad imaml wrote no run/model.safetensors'; }
echo "check:package: node_modules/.bin/metagrad imaml (2 iterations, 1 worker thread) ran from the install: $(ls "$cli_consumer/run" | tr '\n' ' ')"
phase 'metagrad-cli: install + a short job'

# --- 4. From source, with the vendored Eigen only -------------------------------------------
mv "$installed/prebuilds" "$work/prebuilds.aside"
if (cd "$consumer" && run_sandboxed node -e "require('metagrad')") 2>"$work/noaddon.txt"; then
  fail 'metagrad loaded without any addon'
fi
grep -q 'npm run build:source' "$work/noaddon.txt" || { cat "$work/noaddon.txt"; fail 'no build instructions in the error'; }
(cd "$installed" && env -u EIGEN3_INCLUDE_DIR npm run build:source >"$work/source.log" 2>&1) \
  || { cat "$work/source.log"; fail 'npm run build:source in the installed package'; }
# The only Eigen folder on the compiler's include path must be the vendored one (make's .d files
# can't tell: Eigen comes in through -isystem, and -MMD leaves system headers out).
eigen_dirs="$(grep -ohE "[^ \"']*eigen3[^ \"']*" "$installed"/build/*.mk | sort -u)"
[ -n "$eigen_dirs" ] || fail 'no Eigen include folder in the node-gyp makefiles'
echo "check:package: Eigen include folders of the source build: $(echo $eigen_dirs)"
! echo "$eigen_dirs" | grep -vq '/native/vendor/eigen3$' || fail 'the source build used an Eigen outside native/vendor'
[ ! -e "$installed/binding.gyp" ] || fail 'build:source left binding.gyp at the package root'
phase 'npm run build:source (node-gyp, vendored Eigen)'
(cd "$consumer" && run_sandboxed SMOKE_ADDON=source node smoke.cjs && run_sandboxed SMOKE_ADDON=source node smoke.mjs)
METAGRAD_ADDON_PATH="$installed/build/Release/metagrad.node" npx --no-install mocha test/native.test.ts
phase 'smoke + native tests on the source build'
# The CMake route must pick the vendored copy too (configure only: the build is the same).
cp -r "$installed" "$work/cmake-src"
rm -rf "$work/cmake-src/build"
ln -s "$consumer/node_modules" "$work/cmake-src/node_modules"
(cd "$work/cmake-src" && env -u EIGEN3_INCLUDE_DIR node "$root/node_modules/cmake-js/bin/cmake-js" configure --out "$work/cmake-build" >"$work/cmake.log" 2>&1) \
  || { cat "$work/cmake.log"; fail 'cmake-js configure of the tarball sources'; }
grep -F "metagrad: Eigen 3.4" "$work/cmake.log" | grep -qF "$work/cmake-src/native/vendor/eigen3" \
  || { grep -F 'metagrad: Eigen' "$work/cmake.log"; fail 'CMake did not pick the vendored Eigen'; }
phase 'cmake-js configure (vendored Eigen)'

printf 'check:package: all checks passed in %.0f s (tarball %d KiB, install %.1f s)\n' \
  "$(calc "$(date +%s.%N) - $t_start")" "$((size / 1024))" "$lib_install_s"
