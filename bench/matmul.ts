/**
 * float32 matmul throughput (GFLOP/s) at n = 128, 512, 1024, against Eigen compiled with
 * -march=native and called directly from C++ (bench/native-gemm.cc): if metagrad's dispatch picks
 * the right kernel variant, a large product should be within ~15% of that.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mg from '../ts/index';
import type { BenchContext } from './context';
import { loadJax, loadTf } from './peers';
import { compare, compareSamplers, fmt, sampler, type Sampler, type Timing } from './stats';
import { matmulInto } from '../ts/tensor/kernels/matmul';
import type { Table } from './table';

const SIZES = [128, 512, 1024];
const EIGEN_INCLUDE = '/usr/include/eigen3';

/** Compiles bench/native-gemm.cc into a temporary directory (once per run). */
function compileEigen(ctx: BenchContext): { ok: true; exe: string; dir: string } | { ok: false; reason: string } {
  if (!existsSync(join(EIGEN_INCLUDE, 'Eigen', 'Core'))) return { ok: false, reason: `Eigen headers not found in ${EIGEN_INCLUDE}` };
  const dir = mkdtempSync(join(tmpdir(), 'metagrad-bench-'));
  const exe = join(dir, 'native-gemm');
  try {
    ctx.log('matmul: compiling bench/native-gemm.cc with g++ -O3 -march=native -fopenmp');
    // -fopenmp: Eigen parallelises its GEMM only through OpenMP.
    execFileSync('g++', ['-O3', '-march=native', '-fopenmp', `-I${EIGEN_INCLUDE}`, join(__dirname, 'native-gemm.cc'), '-o', exe], { stdio: 'pipe' });
    return { ok: true, exe, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { code?: string; stderr?: Buffer };
    return { ok: false, reason: err.code === 'ENOENT' ? 'g++ not found' : `g++ failed: ${String(err.stderr ?? e).split('\n')[0]}` };
  }
}

/**
 * A sampler running the reference once per repeat (it warms up for 100 ms itself), so its
 * repeats interleave with metagrad's and both see the same background load.
 */
function eigenSampler(exe: string, threads: number, n: number): Sampler {
  return () => {
    // OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning, which on a shared
    // 2-core machine would steal the core the other thread needs.
    const out = execFileSync(exe, [String(threads), '1', String(n)], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
    const ms = /median_ms=([\d.]+)/.exec(out);
    if (!ms) throw new Error(`unexpected output of native-gemm: ${out}`);
    return Number(ms[1]);
  };
}

const gflops = (n: number, t: Timing | null): number => (t ? (2 * n ** 3) / (t.median * 1e6) : NaN);

export async function matmul(ctx: BenchContext): Promise<Table[]> {
  const tfp = await loadTf();
  const jxp = await loadJax();
  const info = mg.backendInfo();
  const compiled = compileEigen(ctx);
  const rows: string[][] = [];
  mg.manualSeed(1);
  try {
    for (const n of SIZES) {
      ctx.log(`matmul: n=${n}`);
      const a = mg.randn([n, n]);
      const b = mg.randn([n, n]);
      const opts = { minRepeatMs: 20, warmupMs: 100 };
      const out = new Float32Array(n * n);
      // Thread count is a global setting, so the 1- and 2-thread runs are separate rounds. Three
      // contenders: the op (allocating its result, as users call it), the kernel behind it
      // (ts/tensor/kernels/matmul.ts, whose dispatch picks the native path) into a preallocated
      // buffer, as the C++ reference does, and Eigen itself.
      const byThreads: (Timing | null)[][] = [];
      for (const threads of [1, 2]) {
        mg.setNumThreads(threads);
        const opS = sampler(() => mg.matmul(a, b), opts);
        const kernelS = sampler(() => matmulInto(a.data as Float32Array, b.data as Float32Array, out, 1, n, n, n, false, false, 0, 0), opts);
        const eigS = compiled.ok ? eigenSampler(compiled.exe, threads, n) : null;
        byThreads.push(await compareSamplers([opS, kernelS, eigS], ctx.repeats));
      }
      mg.setNumThreads(info.threads);
      let tfFn: (() => unknown) | null = null;
      if (tfp.ok) {
        const tf = tfp.lib;
        const [ta, tb] = [tf.tensor2d(a.data as Float32Array, [n, n]), tf.tensor2d(b.data as Float32Array, [n, n])];
        tfFn = () => {
          const c = tf.matMul(ta, tb);
          c.dataSync();
          c.dispose();
        };
      }
      let jaxFn: (() => unknown) | null = null;
      if (jxp.ok) {
        const np = jxp.lib.numpy;
        const [ja, jb] = [np.array(a.data as Float32Array).reshape([n, n]), np.array(b.data as Float32Array).reshape([n, n])];
        // `.ref` keeps the inputs alive; dataSync() forces and consumes the result.
        jaxFn = () => np.matmul(ja.ref, jb.ref).dataSync();
      }
      // tfjs's JavaScript GEMM takes seconds at n = 1024: one timed call after one warm-up call.
      const slow = n >= 1024;
      const [tt, tj] = await compare([tfFn, jaxFn], { repeats: slow ? 1 : ctx.repeats, minRepeatMs: slow ? 0 : 20, warmupMs: slow ? 0 : 100 });
      const pct = (x: number, y: number): string => (Number.isFinite(y) ? `${fmt((x / y) * 100, 3)}%` : 'n/a');
      const num = (x: number): string => (Number.isFinite(x) ? fmt(x) : 'n/a');
      byThreads.forEach(([op, kernel, eig], i) => {
        const [gOp, gK, gE] = [gflops(n, op), gflops(n, kernel), gflops(n, eig)];
        const peers = i === 0 ? [tfp.ok ? num(gflops(n, tt)) : 'n/a', jxp.ok ? num(gflops(n, tj)) : 'n/a'] : ['—', '—'];
        rows.push([String(n), String(i + 1), num(gOp), num(gK), compiled.ok ? num(gE) : 'n/a', pct(gK, gE), pct(gOp, gE), ...peers]);
        // "Large" matmuls: the target is about the dispatch reaching Eigen's speed, not small-n overheads.
        if (n >= 512 && Number.isFinite(gE)) {
          ctx.target(`float32 matmul n = ${n}, ${i + 1} thread(s): kernel within 15% of Eigen -march=native`, `${pct(gK, gE)} of Eigen`, gK / gE >= 0.85);
          ctx.target(`float32 matmul n = ${n}, ${i + 1} thread(s): \`mg.matmul\` (allocating its result) within 15%`, `${pct(gOp, gE)} of Eigen`, gOp / gE >= 0.85);
        }
      });
    }
  } finally {
    mg.setNumThreads(info.threads);
    if (compiled.ok) rmSync(compiled.dir, { recursive: true, force: true });
  }
  const notes = [
    `metagrad: \`mg.matmul(a, b)\` on [n, n] float32 tensors (allocating a fresh result each call, as users call it); "kernel" is \`matmulInto\` from ts/tensor/kernels/matmul.ts (size dispatch → native Eigen GEMM, ISA variant **${info.isa}**) writing into a preallocated buffer, like the C++ reference. Threads set with \`mg.setNumThreads\`.`,
    'The gap between the two metagrad columns is the cost of a fresh zero-filled ArrayBuffer per call (page faults, V8 external-memory GC pressure), largest relative to the work at small n.',
    compiled.ok
      ? 'Eigen: bench/native-gemm.cc built with `g++ -O3 -march=native -fopenmp`, `c.noalias() = a * b` on row-major matrices into a preallocated c; one process per repeat, interleaved with metagrad\'s repeats (same protocol: ≥ 20 ms per repeat, median).'
      : `Eigen columns skipped: ${compiled.reason}.`,
    '"% of Eigen" is metagrad ÷ Eigen at the same thread count. On a shared, loaded 2-core machine the 2-thread numbers are the noisiest, Eigen\'s OpenMP ones especially (a thread that loses its core stalls the other).',
    tfp.ok ? `tfjs: ${tfp.note}, single-threaded; at n = 1024 one timed call.` : `tfjs n/a: ${tfp.reason}`,
    jxp.ok ? `jax-js: ${jxp.note}; at n = 1024 one timed call.` : `jax-js n/a: ${jxp.reason}`,
  ];
  return [
    {
      title: 'float32 matmul throughput (GFLOP/s, higher is better)',
      headers: ['n', 'threads', '`mg.matmul`', 'kernel', 'Eigen', 'kernel % of Eigen', '`mg.matmul` % of Eigen', 'tfjs (cpu)', 'jax-js (wasm)'],
      rows,
      notes,
    },
  ];
}
