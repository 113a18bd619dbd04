/**
 * Finds and loads the compiled addon: a prebuilt binary matching this platform first, then a
 * local build, otherwise an error that says how to build one.
 *
 * Prebuilds use node-gyp-build's layout: `prebuilds/<platform>-<arch>/<name>.<tags>.node`, where
 * the tags are `napi` (any Node.js with that N-API version), `abi<N>` (one Node.js ABI), a
 * runtime (`node`) and, on Linux, a C library (`glibc` or `musl`). `npm run build:prebuild` writes
 * `prebuilds/linux-x64/metagrad.napi.glibc.node`. A candidate that fails to load (an older C
 * library, say) is skipped and the next one tried, so a source build can stand in for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Package root: this file sits in `ts/tensor/` (sources) or `dist/tensor/` (compiled). */
const ROOT = path.resolve(__dirname, '..', '..');

/** The C library of this Linux system, as node-gyp-build decides it (LIBC overrides). */
function libc(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/** Orders the prebuilds of one folder that suit this process, most specific first. */
function matchingPrebuilds(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: { file: string; specificity: number }[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const parts = file.split('.');
    if (parts.pop() !== 'node') continue;
    let napi = false;
    let abi: string | undefined;
    let ok = true;
    let specificity = 0;
    for (const tag of parts.slice(1)) {
      if (tag === 'napi') napi = true;
      else if (tag.startsWith('abi')) abi = tag.slice(3);
      else if (tag === 'glibc' || tag === 'musl') ok &&= tag === libc();
      else if (tag === 'electron' || tag === 'node-webkit') ok = false;
      else if (tag !== 'node') continue;
      specificity++;
    }
    if (abi !== undefined && abi !== process.versions.modules) ok = false;
    if (!napi && abi === undefined) ok = false;
    if (ok) found.push({ file: path.join(dir, file), specificity });
  }
  return found.sort((a, b) => b.specificity - a.specificity).map((f) => f.file);
}

/** Files to try, in order; notes what was skipped into `tried`. */
function candidates(tried: string[]): string[] {
  // An explicit path wins (used by CI to test the node-gyp build, and by unusual installs).
  const explicit = process.env.METAGRAD_ADDON_PATH;
  if (explicit) return [path.resolve(explicit)];
  const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  const prebuilt = matchingPrebuilds(dir);
  if (prebuilt.length === 0) tried.push(`${dir} (no prebuilt addon for this platform)`);
  return [
    ...prebuilt,
    path.join(ROOT, 'build', 'Release', 'metagrad.node'),
    path.join(ROOT, 'build', 'Debug', 'metagrad.node'),
  ];
}

/** Loads the addon or throws an Error with build instructions. */
export function loadAddon(): unknown {
  const tried: string[] = [];
  for (const file of candidates(tried)) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (absent)`);
      continue;
    }
    try {
      return require(file) as unknown;
    } catch (err) {
      tried.push(`${file} (failed to load: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  const vendored = fs.existsSync(path.join(ROOT, 'native', 'vendor', 'eigen3', 'Eigen', 'Core'));
  throw new Error(
    `metagrad: no native addon could be loaded for ${process.platform}-${process.arch} ` +
      `(Node.js ${process.version}). Tried:\n  ${tried.join('\n  ')}\n` +
      'Build it from source: with a C++17 compiler, Python 3 and make (node-gyp needs them; ' +
      'Debian/Ubuntu: apt-get install build-essential python3)' +
      (vendored
        ? ''
        : ' and the Eigen 3.4 headers (Debian/Ubuntu: apt-get install libeigen3-dev)') +
      `, run\n  cd ${JSON.stringify(ROOT)} && npm run build:source\n` +
      'which writes build/Release/metagrad.node. A build elsewhere can be named with METAGRAD_ADDON_PATH.',
  );
}
