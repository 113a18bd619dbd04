/**
 * Makes the benchmark measure the compiled library (`dist/`, what `require('metagrad')` loads)
 * while its files import `../ts/…` for types. Imported first by bench/run.ts.
 *
 * Why: run through tsx, the sources are about twice as slow per op as tsc's output (esbuild's
 * CommonJS output reaches every imported binding through a getter), so timing `ts/` would
 * charge metagrad for the benchmark's loader. `METAGRAD_BENCH_SOURCE=1` times the sources instead.
 */
import { existsSync } from 'node:fs';
import Module from 'node:module';
import { join, relative, sep } from 'node:path';

const root = join(__dirname, '..');
const src = join(root, 'ts') + sep;
const dist = join(root, 'dist') + sep;

if (!process.env.METAGRAD_BENCH_SOURCE) {
  if (!existsSync(join(dist, 'index.js'))) {
    process.stderr.write('bench: dist/ is missing; run `npm run build:ts` (npm run bench does) or set METAGRAD_BENCH_SOURCE=1\n');
    process.exit(2);
  }
  type Resolve = (request: string, parent: unknown, ...rest: unknown[]) => string;
  const mod = Module as unknown as { _resolveFilename: Resolve };
  const resolve = mod._resolveFilename;
  mod._resolveFilename = function (request, parent, ...rest) {
    const file = resolve.call(this, request, parent, ...rest);
    if (!file.startsWith(src) || !file.endsWith('.ts')) return file;
    return join(dist, relative(src, file).replace(/\.ts$/, '.js'));
  };
}

/** Which build the run measures, for the header. */
export const measuredBuild = process.env.METAGRAD_BENCH_SOURCE ? 'the TypeScript sources through tsx (METAGRAD_BENCH_SOURCE=1)' : 'the compiled library (dist/, tsc output)';
