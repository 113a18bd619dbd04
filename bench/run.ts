/**
 * `npm run bench`: runs the benchmark groups and prints their markdown tables to stdout
 * (progress goes to stderr).
 *
 *   npm run bench                               # everything (a few minutes)
 *   npm run bench -- --only mlp,meta            # some groups: peers, batching, solvers, distributed, overhead, matmul, mlp, meta, unrolled, dispatch, steady
 *   npm run bench -- --repeats 15               # more repeats per median (default 7)
 *   npm run bench -- --write-readme             # also replace README.md's "## Benchmarks" section
 */
import { measuredBuild } from './use-dist';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import * as mg from '../ts/index';
import type { BenchContext, BenchGroup } from './context';
import { dispatch } from './dispatch';
import { matmul } from './matmul';
import { meta } from './meta';
import { mlp } from './mlp';
import { overhead } from './overhead';
import { steady } from './steady-loops';
import { sideBySide } from './side-by-side';
import { unrolledGroup } from './unrolled';
import { batching } from './batching';
import { solversGroup } from './solvers';
import { distributedGroup } from './distributed';
import { renderTable } from './table';

const GROUPS: Record<string, BenchGroup> = { peers: sideBySide, batching, solvers: solversGroup, distributed: distributedGroup, overhead, matmul, mlp, meta, unrolled: unrolledGroup, dispatch, steady };

interface Args {
  only: string[];
  repeats: number;
  writeReadme: boolean;
}

function usage(): never {
  process.stderr.write(`usage: npm run bench -- [--only ${Object.keys(GROUPS).join(',')}] [--repeats N] [--write-readme]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: [], repeats: 7, writeReadme: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      // Accept both "--flag value" and "--flag=value".
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage();
      return argv[++i];
    };
    const flag = a.split('=')[0];
    if (flag === '--only') args.only.push(...value().split(',').filter(Boolean));
    else if (flag === '--repeats') {
      args.repeats = Number(value());
      if (!Number.isInteger(args.repeats) || args.repeats < 1) usage();
    } else if (flag === '--write-readme') args.writeReadme = true;
    else usage();
  }
  for (const g of args.only) if (!(g in GROUPS)) usage();
  return args;
}

/** Machine and build facts printed above the tables, so numbers are never read without them. */
function header(args: Args): string {
  const info = mg.backendInfo();
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  const cmd = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  return [
    `- Date: ${new Date().toISOString().slice(0, 10)}; machine: ${cpu}, \`nproc\` = ${availableParallelism()}, Node ${process.version}.`,
    `- metagrad native backend (\`mg.backendInfo()\`): active ISA **${info.isa}** (compiled: ${info.compiledIsas.join(', ')}), Eigen ${info.eigen}, ${info.threads} threads, ${info.compiler}.`,
    `- Command: \`${cmd}\` (medians of ${args.repeats} repeats); measures ${measuredBuild}.`,
  ].join('\n');
}

/** Fixed text above the generated tables in README.md. */
const README_PREFACE = `\`npm run bench\` builds \`dist/\` and prints the tables below as markdown (progress goes to
stderr); \`--only peers,batching,solvers,distributed,overhead,matmul,mlp,meta,unrolled,dispatch,steady\` runs some groups,
\`--repeats N\` sets the repeats per median and \`--write-readme\` replaces this section with the
run's tables. It times the compiled library, as users run it (the TypeScript sources through tsx
are about twice as slow per op; \`METAGRAD_BENCH_SOURCE=1\` times them instead).

The "peers", "batching" and "solvers" groups compare with PyTorch/TorchOpt and JAX/JAXopt, each in a long-lived Python
process (bench/python/peer.py) driven over stdin/stdout: install them outside the repository
(\`python3 -m venv ../peers && ../peers/bin/pip install torch torchopt jax jaxopt optax\`; the
interpreter is \`$METAGRAD_BENCH_PYTHON\`, else \`../peers/bin/python\`, else \`python3\`). Without
them the group prints its metagrad column and says why the others are empty. The other groups'
JavaScript peers are devDependencies: TensorFlow.js with its pure-JavaScript CPU backend
(\`@tensorflow/tfjs\`, not tfjs-node) and jax-js on its WebAssembly device (\`@jax-js/jax\`). The
Eigen reference is bench/native-gemm.cc, compiled at bench time with \`g++ -O3 -march=native
-fopenmp\` (its columns are skipped, with a note, when g++ or Eigen is missing).

Every number is a median over repeats, each repeat averaging enough calls to last ≥ 5–50 ms
after a warm-up; contenders of one row run interleaved, round by round, so background load hits
them alike. The reference machine is a shared 2-core VM with other jobs running, so single numbers
move by tens of percent between runs; ratios measured in the same run are the reliable part. The
native dispatch thresholds in \`ts/tensor/kernels/dispatch.ts\` are set from the "Dispatch" table.`;

function writeReadme(markdown: string): void {
  const path = join(__dirname, '..', 'README.md');
  const readme = readFileSync(path, 'utf8');
  const section = `## Benchmarks\n\n${README_PREFACE}\n\n${markdown.trim()}\n`;
  const start = readme.search(/^## Benchmarks\s*$/m);
  let next: string;
  if (start < 0) next = `${readme.trimEnd()}\n\n${section}`;
  else {
    // Replace our section only, up to the next level-2 heading.
    const rest = readme.slice(start + 1);
    const end = rest.search(/^## /m);
    next = readme.slice(0, start) + section + (end < 0 ? '' : `\n${rest.slice(end)}`);
  }
  writeFileSync(path, next);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const names = args.only.length > 0 ? args.only : Object.keys(GROUPS);
  const targets: string[][] = [];
  const ctx: BenchContext = {
    repeats: args.repeats,
    log: (m) => process.stderr.write(`[bench] ${m}\n`),
    target: (goal, measured, met) => targets.push([goal, measured, met ? '✓ met' : '✗ missed']),
  };
  const parts: string[] = [header(args)];
  process.stdout.write(`${parts[0]}\n\n`);
  const t0 = performance.now();
  for (const name of names) {
    ctx.log(`group ${name}`);
    for (const table of await GROUPS[name](ctx)) {
      const md = renderTable(table);
      parts.push(md);
      process.stdout.write(`${md}\n\n`);
    }
  }
  if (targets.length > 0) {
    const md = renderTable({
      title: 'Targets (from the issue), this run',
      headers: ['target', 'measured', ''],
      rows: targets,
      align: ['left', 'left', 'left'],
    });
    parts.push(md);
    process.stdout.write(`${md}\n\n`);
  }
  ctx.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (args.writeReadme) {
    writeReadme(parts.join('\n\n'));
    ctx.log('README.md "## Benchmarks" section updated');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
