#!/usr/bin/env node
// `npm run build:prebuild`: writes the addon for this platform to
// prebuilds/<platform>-<arch>/metagrad.napi[.glibc|.musl].node (node-gyp-build's layout; N-API,
// so one file serves every Node.js version with N-API 8), stripped, for the npm tarball.
//
// It reuses build/Release/metagrad.node when that build is portable and current: Release, no
// -march=/-mtune=native/-mcpu= in its flags (the hot kernels are compiled per ISA with runtime
// dispatch; everything else targets the baseline ISA), and newer than every native source.
// Otherwise it compiles afresh with cmake-js in a temporary folder, with CFLAGS/CXXFLAGS cleared.
// Options: --from=<file.node> takes that binary as is (after the same load check);
// --rebuild always compiles afresh; --clean removes the prebuilds it writes (run by `postpack`).
//
// --arch=arm64 on linux-x64 cross-compiles prebuilds/linux-arm64/metagrad.napi.glibc.node with
// the aarch64-linux-gnu toolchain (scripts/toolchain-linux-arm64.cmake) and checks that it loads
// and computes on an arm64 Node.js under qemu-user, the Debian root that scripts/arm64-root.sh
// makes (METAGRAD_ARM64_ROOT, default ~/.cache/metagrad/arm64-root): a binary that could not be
// run is not written. With --if-possible a machine without that toolchain or root skips it, saying
// why, and exits 0 (`prepack`; CI has both and its package check insists on the arm64 binary).
//
// (Not named "prebuild": npm runs a "prebuild" script before every `npm run build`.)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const fromArg = args.find((a) => a.startsWith('--from='));
const rebuild = args.includes('--rebuild');
const archArg = (args.find((a) => a.startsWith('--arch=')) || '').slice('--arch='.length);
const cross = archArg !== '' && archArg !== process.arch;
const target = { platform: process.platform, arch: archArg || process.arch };
const arm64Root = process.env.METAGRAD_ARM64_ROOT || path.join(os.homedir(), '.cache', 'metagrad', 'arm64-root');

function log(msg) {
  console.log(`build:prebuild: ${msg}`);
}
function fail(msg) {
  process.stderr.write(`build:prebuild: ${msg}\n`);
  process.exit(1);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * How this machine builds and runs the target: the cmake-js arguments, the binutils prefix and
 * the command that runs Node.js for it; or why it cannot.
 */
function toolchain() {
  if (!cross) return { cmakeArgs: [], binutils: '', node: [process.execPath], env: {} };
  if (!(target.arch === 'arm64' && process.platform === 'linux' && process.arch === 'x64')) {
    return { why: `cross-compiling for ${target.arch} is supported on linux-x64 for arm64 only` };
  }
  if (!onPath('aarch64-linux-gnu-g++')) return { why: 'aarch64-linux-gnu-g++ is not installed (apt-get install g++-aarch64-linux-gnu)' };
  const node = path.join(arm64Root, 'usr', 'bin', 'node');
  if (!fs.existsSync(node)) return { why: `no arm64 Node.js at ${node} to test the binary with (bash scripts/arm64-root.sh makes it)` };
  if (!onPath('qemu-aarch64-static')) return { why: 'qemu-aarch64-static is not installed (apt-get install qemu-user-static)' };
  const eigen = spawnSync(process.execPath, [path.join(root, 'native', 'find-eigen.js')], { encoding: 'utf8' });
  if (eigen.status !== 0) return { why: eigen.stderr.trim() };
  return {
    cmakeArgs: [`--CDCMAKE_TOOLCHAIN_FILE=${path.join(root, 'scripts', 'toolchain-linux-arm64.cmake')}`, `--CDEIGEN3_INCLUDE_DIR=${eigen.stdout.trim()}`],
    binutils: 'aarch64-linux-gnu-',
    // qemu-user with the root's dynamic loader and libraries (QEMU_LD_PREFIX), not a chroot: the
    // emulated node sees this machine's files.
    node: ['qemu-aarch64-static', node],
    env: { QEMU_LD_PREFIX: arm64Root },
  };
}

function libcTag() {
  if (process.platform !== 'linux') return '';
  return (process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc'));
}

/** Newest modification time among the files the addon is built from. */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      // native/vendor and native/gyp are copies made at pack time, not sources.
      for (const e of fs.readdirSync(p)) if (e !== 'vendor' && e !== 'gyp') visit(path.join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  visit(path.join(root, 'native'));
  for (const f of ['CMakeLists.txt', 'binding.gyp']) visit(path.join(root, f));
  return newest;
}

/** Why the build in buildDir may not be shipped, or null if it may. */
function unportable(buildDir) {
  const files = [];
  const walk = (d, depth) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 4) walk(p, depth + 1);
      else if (/^(build\.ninja|flags\.make|CMakeCache\.txt|.*\.target\.mk|config\.gypi)$/.test(e.name)) files.push(p);
    }
  };
  walk(buildDir, 0);
  if (files.length === 0) return 'no build files to read its flags from';
  const cache = path.join(buildDir, 'CMakeCache.txt');
  if (fs.existsSync(cache)) {
    const type = (fs.readFileSync(cache, 'utf8').match(/^CMAKE_BUILD_TYPE:\w+=(.*)$/m) || [])[1];
    if (type !== 'Release') return `CMake build type is ${JSON.stringify(type)}, not Release`;
  }
  for (const f of files) {
    const m = fs.readFileSync(f, 'utf8').match(/-m(arch|tune|cpu)=\S+/);
    if (m) return `${path.relative(root, f)} has ${m[0]}`;
  }
  return null;
}

/**
 * Compiles with cmake-js in a temporary folder, or in `keep` (kept between runs, so that a cross
 * build, which has no local build to reuse, recompiles only what changed).
 */
function compileFresh(tools, keep) {
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    fail('cmake-js is not installed (npm ci installs it); or pass --from=<file.node>');
  }
  const out = keep || fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-prebuild-'));
  const cleanup = keep ? () => {} : () => fs.rmSync(out, { recursive: true, force: true });
  log(keep ? `compiling with cmake-js in ${path.relative(root, out)} (what changed)` : `compiling afresh with cmake-js in ${out}`);
  const env = { ...process.env };
  for (const k of ['CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS']) delete env[k];
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', out, '--config', 'Release', ...tools.cmakeArgs],
    { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const why = r.status !== 0 ? 'cmake-js failed' : unportable(out);
  if (why) {
    cleanup();
    fail(r.status !== 0 ? why : `the fresh build is not portable: ${why}`);
  }
  return { file: path.join(out, 'Release', 'metagrad.node'), cleanup };
}

if (args.includes('--clean')) {
  // `postpack`: drop what `prepack` wrote, so a checkout keeps loading its own build/.
  const dir = path.join(root, 'prebuilds', `${target.platform}-${target.arch}`);
  fs.rmSync(dir, { recursive: true, force: true });
  try { fs.rmdirSync(path.join(root, 'prebuilds')); } catch { /* other platforms' prebuilds stay */ }
  process.exit(0);
}

const tools = toolchain();
if (tools.why) {
  if (args.includes('--if-possible')) {
    log(`no ${target.platform}-${target.arch} prebuild: ${tools.why}`);
    process.exit(0);
  }
  fail(tools.why);
}

let source;
if (cross && !fromArg) {
  source = compileFresh(tools, path.join(root, 'build', `${target.platform}-${target.arch}`));
} else if (fromArg) {
  source = { file: path.resolve(fromArg.slice('--from='.length)), cleanup() {} };
  if (!fs.existsSync(source.file)) fail(`${source.file} does not exist`);
} else {
  const built = path.join(root, 'build', 'Release', 'metagrad.node');
  let why = null;
  if (rebuild) why = '--rebuild';
  else if (!fs.existsSync(built)) why = 'no build/Release/metagrad.node';
  else if (fs.statSync(built).mtimeMs < newestSource()) why = 'build/Release/metagrad.node is older than the native sources';
  else why = unportable(path.join(root, 'build'));
  if (why) {
    log(`not reusing the local build: ${why}`);
    source = compileFresh(tools);
  } else {
    log('reusing build/Release/metagrad.node (Release, portable flags, current)');
    source = { file: built, cleanup() {} };
  }
}

const tag = `${target.platform}-${target.arch}`;
const name = ['metagrad', 'napi', libcTag(), 'node'].filter(Boolean).join('.');
const dir = path.join(root, 'prebuilds', tag);
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const dest = path.join(dir, name);

// Strip a copy: symbols and debug sections go; the dynamic symbols Node.js needs stay.
const before = fs.statSync(source.file).size;
if (process.platform === 'linux') {
  execFileSync(`${tools.binutils}strip`, ['--strip-unneeded', '-o', dest, source.file]);
} else if (process.platform === 'darwin') {
  fs.copyFileSync(source.file, dest);
  execFileSync('strip', ['-x', dest]);
} else {
  fs.copyFileSync(source.file, dest);
}
source.cleanup();

// It must load, report its kernels and compute (a product through the GEMM kernel checked by
// hand); print what it needs from the C/C++ runtime.
const program = `const a = require(${JSON.stringify(dest)});
const x = new Float64Array([1, 2, 3, 4]), y = new Float64Array([5, 6, 7, 8]), out = new Float64Array(4);
a.matmul(x, y, out, 1, 2, 2, 2, false, false, 4, 4);
if (out.join() !== '19,22,43,50') throw new Error('[[1,2],[3,4]] @ [[5,6],[7,8]] gave ' + out.join());
console.log(JSON.stringify(a.backendInfo()));`;
const check = spawnSync(tools.node[0], [...tools.node.slice(1), '-e', program],
  { encoding: 'utf8', env: { ...process.env, ...tools.env, METAGRAD_ADDON_PATH: '' } });
if (check.status !== 0) {
  fs.rmSync(dir, { recursive: true, force: true });
  fail(`${dest} does not load and compute${cross ? ` on ${tools.node.join(' ')}` : ''}, so it is not kept:\n${check.stderr}`);
}
let needs = '';
if (process.platform === 'linux') {
  try {
    const syms = execFileSync(`${tools.binutils}objdump`, ['-T', dest], { encoding: 'utf8' });
    const max = (prefix) => [...syms.matchAll(new RegExp(`\\(?${prefix}_([0-9.]+)\\)?`, 'g'))]
      .map((m) => m[1]).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
    needs = `; needs GLIBC ${max('GLIBC')}, GLIBCXX ${max('GLIBCXX')}`;
  } catch { /* objdump missing: informational only */ }
}
log(`${path.relative(root, dest)}: ${(fs.statSync(dest).size / 1024).toFixed(0)} KiB ` +
  `(unstripped ${(before / 1024).toFixed(0)} KiB)${needs}; backendInfo ${check.stdout.trim()}`);
