/**
 * The issue's comparison table: metagrad against PyTorch/TorchOpt and JAX/JAXopt (under
 * `jax.jit`), measured in the same run. The Python libraries run in long-lived processes
 * (bench/python/peer.py) whose timing rounds interleave with metagrad's; each gets the same data
 * and its results are checked against metagrad's before it is timed. Rows at one thread and at the
 * default thread count.
 */
import * as mg from '../ts/index';
import { convLogits, initConvNet } from '../cli/ts/fewshot/model';
import type { BenchContext } from './context';
import { clone, type FModel, innerSolver, NORMAL_CG_5, tutorialProblem } from './meta';
import { BATCH, type DT, HIDDEN, IN, metagradImpl, problem, relErr, SHAPES } from './mlp';
import { type PeerTensor, type PythonFramework, PythonPeer } from './python-peer';
import { type AsyncSampler, compareSamplers, fmt, fmtRatio, sampler, type Timing } from './stats';
import type { Table } from './table';

/** One row: a metagrad function and the data/config the peers rebuild it from. */
interface Workload {
  label: string;
  /** Peer workload name in peer.py. */
  kind: string;
  dtype: DT;
  tensors: Record<string, PeerTensor>;
  config?: Record<string, unknown>;
  /** metagrad's call, as timed. */
  run: () => unknown;
  /** metagrad's outputs flattened in the peers' order (for the check). */
  result: () => number[];
  /** Agreement tolerance (largest difference ÷ largest magnitude). */
  tol: number;
  /** Magnitude below which differences are judged absolutely (results that are rounding noise). */
  floor?: number;
  /** Fewer repeats for calls that take seconds in a peer. */
  slow?: boolean;
  /** The same call through `mg.jit` (made fresh by `make`; its first call records). */
  jit?: { make: () => () => unknown };
}

/** A fresh jitted call of `fn` on `args`. */
function jitted<A extends unknown[]>(fn: (...a: A) => unknown, ...args: A): { make: () => () => unknown } {
  return {
    make: () => {
      const j = mg.jit(fn);
      return () => j(...args);
    },
  };
}

/** The jitted call's cost at its first call (the recording), median of 3 fresh ones, in ms. */
function captureMs(make: () => () => unknown): number {
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const call = make();
    const t0 = process.hrtime.bigint();
    call();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms.sort((a, b) => a - b)[1];
}

const flat = (ts: readonly mg.Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data));
const peerTensor = (t: mg.Tensor): PeerTensor => ({ shape: t.shape, values: t.data });
const peerTensors = (ts: Record<string, mg.Tensor>): Record<string, PeerTensor> =>
  Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, peerTensor(t)]));

function mlpWorkloads(dtype: DT): Workload[] {
  const p = problem();
  const m = metagradImpl(p, dtype);
  const t64 = (a: Float64Array, shape: readonly number[]): PeerTensor => ({ shape, values: a });
  const base = { x: t64(p.x, [BATCH, IN]), y: t64(p.y, [BATCH, 1]), W1: t64(p.params[0], SHAPES[0]), b1: t64(p.params[1], SHAPES[1]), W2: t64(p.params[2], SHAPES[2]), b2: t64(p.params[3], SHAPES[3]) };
  const vs = Object.fromEntries(p.v.map((a, i) => [`v${i + 1}`, t64(a, SHAPES[i])]));
  const tol = dtype === 'float32' ? 1e-3 : 1e-6;
  const name = `MLP ${IN}→${HIDDEN}→1 tanh, batch ${BATCH}`;
  return [
    { label: `${name}, loss + grad, ${dtype}`, kind: 'mlp_grad', dtype, tensors: base, tol, run: m.grad, result: () => m.results().grad, jit: { make: () => mg.jit(m.grad) } },
    { label: `${name}, HVP, ${dtype}`, kind: 'mlp_hvp', dtype, tensors: { ...base, ...vs }, tol, run: m.hvp, result: () => m.results().hvp, jit: { make: () => mg.jit(m.hvp) } },
  ];
}

function unrolledWorkload(K: number): Workload {
  mg.manualSeed(0);
  const x = mg.randn([20, 4]);
  const y = mg.randn([20, 1]);
  const init = new mg.nn.Linear(4, 1);
  const [W, b] = init.parameters().map((q) => q.detach());
  const run = (): number[] => {
    const net = new mg.nn.Linear(4, 1);
    mg.noGrad(() => {
      net.weight.copy_(W);
      (net.bias as mg.Tensor).copy_(b);
    });
    const theta = net.parameters();
    const opt = new mg.MetaSGD(net, { lr: 0.02 });
    for (let k = 0; k < K; k++) opt.step(mg.nn.functional.mseLoss(net.forward(x), y));
    return flat(mg.autograd.grad(mg.nn.functional.mseLoss(net.forward(x), y), theta));
  };
  return { label: `unrolled MetaSGD, Linear(4→1), ${K} steps`, kind: 'unrolled', dtype: 'float32', tensors: peerTensors({ x, y, W, b }), config: { steps: K, lr: 0.02 }, run, result: run, tol: 1e-3, slow: K >= 1000,
    // After 1000 steps the gradient has contracted to ~1e-15 (float32 rounding noise, ~1e-17 in
    // float64): differences are then judged against the scale of the first step's gradient (~1).
    floor: 1e-6 };
}

function tutorialWorkload(): Workload {
  const { x: xs, y: ys, fmodel, meta, solver } = tutorialProblem('float32');
  const metaGrad = (m: mg.Tensor[], x: mg.Tensor, y: mg.Tensor): mg.Tensor[] => mg.autograd.grad(fmodel(solver(clone(m), m, x, y), x).mean(), m);
  const run = (): number[] => flat(metaGrad(meta, xs, ys));
  const [W, b] = meta.map((q) => q.detach());
  return { label: 'TorchOpt tutorial meta-gradient (100 SGD steps + 5 normal CG)', kind: 'tutorial', dtype: 'float32', tensors: peerTensors({ xs, ys, W, b }), run, result: run, tol: 1e-3, jit: jitted(metaGrad, meta, xs, ys) };
}

function imamlWorkload(dtype: DT): Workload {
  const saved = mg.getDefaultDtype();
  mg.setDefaultDtype(dtype);
  try {
    return imamlWorkloadOf(dtype);
  } finally {
    mg.setDefaultDtype(saved);
  }
}

function imamlWorkloadOf(dtype: DT): Workload {
  mg.manualSeed(1);
  const amp = 0.1 + 4.9 * mg.rand([1], { dtype: 'float64' }).item();
  const phase = Math.PI * mg.rand([1], { dtype: 'float64' }).item();
  const task = (n: number): [mg.Tensor, mg.Tensor] => {
    const xx = mg.rand([n, 1]).mul(10).sub(5);
    return [xx, xx.sub(phase).sin().mul(amp)];
  };
  const [xs, ys] = task(10);
  const [xq, yq] = task(10);
  const net = new mg.nn.Sequential(new mg.nn.Linear(1, 40), new mg.nn.ReLU(), new mg.nn.Linear(40, 40), new mg.nn.ReLU(), new mg.nn.Linear(40, 1));
  const [fm, meta] = mg.func.makeFunctional(net);
  const fmodel: FModel = (ps, xx) => fm(ps, xx) as mg.Tensor;
  const solver = innerSolver(fmodel, 10, 1e-2, 2, NORMAL_CG_5());
  const metaGrad = (m: mg.Tensor[]): mg.Tensor[] => mg.autograd.grad(mg.nn.functional.mseLoss(fmodel(solver(clone(m), m, xs, ys), xq), yq), m);
  const run = (): number[] => flat(metaGrad(meta));
  const names = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'];
  const params = Object.fromEntries(meta.map((q: mg.Tensor, i: number) => [names[i], q.detach()]));
  // In float32 the five normal-CG iterations on this ill-conditioned system amplify rounding: runs
  // that differ only in kernels (metagrad eager, its jit, PyTorch, JAX) land up to ~20 % apart, so
  // that row is checked loosely; the float64 row checks the same program strictly.
  return { label: `iMAML task 1→40→40→1, 10 inner steps, 5 normal CG, ${dtype}`, kind: 'imaml', dtype, tensors: peerTensors({ xs, ys, xq, yq, ...params }), run, result: run, tol: dtype === 'float32' ? 0.3 : 1e-6, jit: jitted(metaGrad, meta) };
}

/** The few-shot net of `metagrad fewshot` (4 × conv3x3(16) → batch norm → ReLU → max pool, linear head) on a 5-way 5-shot batch of 28×28 images. */
function convWorkloads(): Workload[] {
  const blocks = 4;
  const ps = initConvNet(16, 5, new mg.Generator().manualSeed(4));
  const labels = mg.tensor(Array.from({ length: 25 }, (_, i) => i % 5));
  const gen = new mg.Generator().manualSeed(5);
  const x = mg.randn([25, 1, 28, 28], { generator: gen });
  const xq = mg.randn([25, 1, 28, 28], { generator: gen });
  const F = mg.nn.functional;
  const lead = ps.map((p) => p.clone().requiresGrad_(true));
  const grad = (): number[] => {
    const loss = F.crossEntropy(convLogits(lead, x), labels);
    return [loss.item(), ...flat(mg.autograd.grad(loss, lead) as mg.Tensor[])];
  };
  const maml = (): number[] => {
    const g = mg.autograd.grad(F.crossEntropy(convLogits(lead, x), labels), lead, { createGraph: true }) as mg.Tensor[];
    const adapted = lead.map((p, i) => p.sub(g[i].mul(0.1)));
    return flat(mg.autograd.grad(F.crossEntropy(convLogits(adapted, xq), labels), lead) as mg.Tensor[]);
  };
  const names = [...Array.from({ length: blocks }, (_, b) => ['W', 'b', 'g', 'h'].map((p) => `${p}${b + 1}`)).flat(), 'Wf', 'bf'];
  const tensors = peerTensors({ x, xq, y: labels, yq: labels, ...Object.fromEntries(ps.map((p, i) => [names[i], p])) });
  const base = 'few-shot conv net of `metagrad fewshot`, 4×(conv3x3(16), BN, ReLU, maxpool) + linear, 5-way 5-shot 28×28, float32';
  return [
    { label: `${base}: loss + gradient`, kind: 'conv_grad', dtype: 'float32', tensors, config: { blocks }, run: grad, result: grad, tol: 1e-3, slow: true },
    { label: `${base}: MAML meta-gradient (second order)`, kind: 'conv_maml', dtype: 'float32', tensors, config: { blocks, lr: 0.1 }, run: maml, result: maml, tol: 1e-3, slow: true },
  ];
}

function matmulWorkload(n: number): Workload {
  mg.manualSeed(3);
  const a = mg.randn([n, n]);
  const b = mg.randn([n, n]);
  return { label: `float32 matmul ${n}`, kind: 'matmul', dtype: 'float32', tensors: peerTensors({ a, b }), run: () => mg.matmul(a, b), result: () => Array.from(mg.matmul(a, b).data), tol: 1e-4 };
}

function workloads(): Workload[] {
  return [
    ...mlpWorkloads('float32'),
    ...mlpWorkloads('float64'),
    ...[10, 100, 1000].map(unrolledWorkload),
    tutorialWorkload(),
    imamlWorkload('float32'),
    imamlWorkload('float64'),
    matmulWorkload(1024),
    ...convWorkloads(),
  ];
}

const FRAMEWORKS: { id: PythonFramework; title: string }[] = [
  { id: 'torch', title: 'PyTorch / TorchOpt' },
  { id: 'jax', title: 'JAX / JAXopt jit' },
];

export async function sideBySide(ctx: BenchContext): Promise<Table[]> {
  const defaultThreads = mg.backendInfo().threads;
  const tables: Table[] = [];
  const versions: string[] = [];
  const unavailable: string[] = [];
  const list = workloads();
  // Silence the expected "did not converge" warning of the 5-iteration CG budgets.
  const onWarning = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'METAGRAD_SOLVE_NOT_CONVERGED') for (const l of onWarning) l(w);
  });
  try {
    for (const threads of [1, 'default'] as const) {
      mg.setNumThreads(threads === 1 ? 1 : defaultThreads);
      const peers = await Promise.all(FRAMEWORKS.map((f) => PythonPeer.start(f.id, threads)));
      peers.forEach((p, i) => {
        if (typeof p === 'string') unavailable.push(`${FRAMEWORKS[i].title} (${threads === 1 ? 'one thread' : 'default threads'}): ${p}`);
        else if (threads === 1) versions.push(`${FRAMEWORKS[i].title}: ${Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      });
      const rows: string[][] = [];
      for (const w of list) {
        ctx.log(`side-by-side (${threads === 1 ? 'one thread' : 'default threads'}): ${w.label}`);
        const ref = w.result();
        const name = `${w.kind}.${w.dtype}.${String(w.config?.steps ?? '')}`;
        const checks: string[] = [];
        const samplers: (AsyncSampler | null)[] = [sampler(w.run, { warmupMs: w.slow ? 0 : 500, minRepeatMs: w.slow ? 0 : 50 })];
        // The jitted call: checked against eager (rounding: it runs native kernels), timed in the same rounds.
        let capture: number | null = null;
        if (w.jit) {
          const call = w.jit.make();
          const e = relErr(flat(mg.tree.leaves(call())), ref);
          checks.push(`jit ${e <= w.tol ? '✓' : `✗ (${e.toExponential(1)})`}`);
          capture = threads === 1 ? captureMs(w.jit.make) : null;
          samplers.push(sampler(call, { warmupMs: 500, minRepeatMs: 50 }));
        } else {
          samplers.push(null);
        }
        for (let i = 0; i < peers.length; i++) {
          const p = peers[i];
          if (typeof p === 'string') {
            samplers.push(null);
            continue;
          }
          try {
            const got = await p.setup(name, w.kind, w.dtype, w.tensors, w.config);
            const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const e = relErr(got, ref) * Math.min(1, scale / (w.floor ?? 0));
            checks.push(`${FRAMEWORKS[i].id} ${e <= w.tol ? '✓' : `✗ (${e.toExponential(1)})`}`);
            samplers.push(await p.sampler(name, w.slow ? 0 : 500, w.slow ? 0 : 50));
          } catch (e) {
            checks.push(`${FRAMEWORKS[i].id} fails: ${(e as Error).message.split('\n')[0]}`);
            samplers.push(null);
          }
        }
        const times = await compareSamplers(samplers, w.slow ? Math.min(3, ctx.repeats) : ctx.repeats);
        for (const p of peers) if (typeof p !== 'string') await p.drop(name).catch(() => undefined);
        const m = (times[0] as Timing).median;
        const j = times[1];
        const cell = (t: Timing | null): string => (t ? fmt(t.median) : '—');
        const ratio = (t: Timing | null, base: Timing | null = times[0]): string => (t && base ? fmtRatio(t.median / base.median) : '—');
        rows.push([w.label, fmt(m), cell(j), capture === null ? '—' : fmt(capture), cell(times[2]), ratio(times[2]), ratio(times[2], j), cell(times[3]), ratio(times[3]), ratio(times[3], j), checks.join(', ')]);
        if (threads === 1) recordTargets(ctx, w, m, times[2], j, times[3], capture);
      }
      for (const p of peers) if (typeof p !== 'string') p.close();
      tables.push({
        title: `Side by side with PyTorch/TorchOpt and JAX/JAXopt, ${threads === 1 ? 'one thread' : `default threads (${defaultThreads})`} (ms, lower is better)`,
        headers: ['workload', 'metagrad', 'metagrad jit', 'jit first call', 'PyTorch / TorchOpt', '÷ metagrad', '÷ jit', 'JAX / JAXopt jit', '÷ metagrad', '÷ jit', 'agrees'],
        rows,
        align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
        notes:
          threads === 1
            ? [
                'Median ms per call; "÷ metagrad" = peer time ÷ metagrad time (> 1: metagrad faster). Each peer runs in its own long-lived Python process (bench/python/peer.py, driven over stdin/stdout); rounds interleave with metagrad\'s and each side times its own calls. Every peer result is checked against metagrad\'s before timing ("agrees": largest difference ÷ largest magnitude within 1e-3 for float32, 1e-6 for float64, 1e-4 for matmul; the float32 iMAML row only within 0.3: its five normal-CG iterations amplify rounding, so runs that differ only in kernels land up to ~20 % apart, and the float64 row checks the same program strictly).',
                'PyTorch: `torch.autograd.grad` (HVP reverse-over-reverse with `create_graph`), `torchopt.MetaSGD`, and the TorchOpt tutorial\'s `torchopt.diff.implicit.custom_root(torch.func.grad(objective), argnums=1, solve=torchopt.linear_solve.solve_normal_cg(maxiter=5, atol=0))` with `torchopt.sgd` inner steps. JAX: `jax.jit` of `value_and_grad`, of `jvp(grad)` (forward-over-reverse HVP), of `grad` through a `lax.fori_loop` of SGD steps, and of `grad` through `jaxopt.implicit_diff.custom_root(jax.grad(objective), solve=partial(jaxopt.linear_solve.solve_normal_cg, maxiter=5, tol=0))` with `optax.sgd`; compiled once before timing.',
                '"metagrad jit": the same call through `mg.jit` (replays of its recorded kernels, one native call each); "jit first call": the recording call of a fresh jit (median of 3), which runs the function eagerly with native kernels while recording. Peers compile once before timing, not shown.',
                'One thread: `mg.setNumThreads(1)`, `torch.set_num_threads(1)`, XLA flags `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`.',
                ...versions,
                ...unavailable.map((u) => `Unavailable: ${u}.`),
              ]
            : ['Same workloads with each library\'s default thread count (PyTorch: `torch.get_num_threads()`; JAX: XLA\'s default pool).'],
      });
    }
  } finally {
    mg.setNumThreads(defaultThreads);
    await new Promise((r) => setImmediate(r));
    process.removeAllListeners('warning');
    for (const l of onWarning) process.on('warning', l);
  }
  return tables;
}

/** The issue's targets that are measured against PyTorch/TorchOpt (one thread). */
function recordTargets(ctx: BenchContext, w: Workload, m: number, torch: Timing | null, jit: Timing | null, jax: Timing | null, capture: number | null): void {
  if (w.kind === 'tutorial' && jit && jax) ctx.target('jit: TorchOpt tutorial meta-gradient within 3× of JAXopt jit', fmtRatio(jax.median / jit.median), jit.median <= 3 * jax.median);
  if (jit && capture !== null && (w.kind === 'tutorial' || (w.kind === 'imaml' && w.dtype === 'float32'))) ctx.target(`jit: ${w.label}: first call (recording) below 3 eager calls`, `${fmt(capture / m)} eager calls`, capture < 3 * m);
  if (!torch) return;
  const r = torch.median / m;
  if (w.kind === 'mlp_grad' || w.kind === 'mlp_hvp') ctx.target(`${w.label}: at least as fast as PyTorch`, fmtRatio(r), r >= 1);
  if (w.kind === 'unrolled') ctx.target(`${w.label}: faster than TorchOpt`, fmtRatio(r), r > 1);
  if (w.kind === 'tutorial') ctx.target('TorchOpt tutorial meta-gradient ≥ 15× faster than TorchOpt', fmtRatio(r), r >= 15);
  if (w.kind === 'imaml' && w.dtype === 'float32') ctx.target('iMAML task ≥ 10× faster than TorchOpt', fmtRatio(r), r >= 10);
}
