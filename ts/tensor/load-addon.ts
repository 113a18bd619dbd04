/**
 * Finds and loads the compiled addon: a prebuilt binary matching this platform first, then a
 * local build, otherwise an error that says how to build one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Package root: this file sits in `ts/tensor/` (sources) or `dist/tensor/` (compiled). */
const ROOT = path.resolve(__dirname, '..', '..');

function candidates(): string[] {
  const tag = `${process.platform}-${process.arch}`;
  const out: string[] = [];
  // An explicit path wins (used by CI to test the node-gyp build, and by unusual installs).
  const explicit = process.env.METAGRAD_ADDON_PATH;
  if (explicit) return [path.resolve(explicit)];
  const pre = path.join(ROOT, 'prebuilds', tag);
  if (fs.existsSync(pre)) {
    for (const f of fs.readdirSync(pre).sort()) if (f.endsWith('.node')) out.push(path.join(pre, f));
  }
  out.push(path.join(ROOT, 'build', 'Release', 'metagrad.node'));
  out.push(path.join(ROOT, 'build', 'Debug', 'metagrad.node'));
  return out;
}

/** Loads the addon or throws an Error with build instructions. */
export function loadAddon(): unknown {
  const tried = candidates();
  for (const file of tried) {
    if (fs.existsSync(file)) return require(file) as unknown;
  }
  throw new Error(
    `metagrad: no native addon for ${process.platform}-${process.arch} (looked in: ${tried.join(', ')}). ` +
      'Build it from source: install a C++17 compiler, CMake >= 3.15 and Eigen 3.4 ' +
      '(Debian/Ubuntu: apt-get install build-essential cmake libeigen3-dev), then run `npm run build:native` in the package folder.',
  );
}
