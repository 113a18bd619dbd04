/**
 * Forward solvers on the DEQ of `metagrad deq` (z = tanh(z Wᵀ + x Uᵀ + b), width 24, 256 samples,
 * ‖W‖_F = 0.9, float64, tol 1e-5): iterations and time to tolerance of FixedPointIteration,
 * AndersonAcceleration (history 5) and Broyden (fixed-point form, full steps) in metagrad and in
 * JAXopt (the same solvers, `jax.jit` of `run`), measured in the same run, solutions checked.
 */
import * as mg from '../ts/index';
import type { BenchContext } from './context';
import { type PeerTensor, PythonPeer } from './python-peer';
import { type AsyncSampler, compareSamplers, fmt, fmtRatio, sampler } from './stats';
import type { Table } from './table';

const WIDTH = 24;
const N = 256;
const TOL = 1e-5;
const MAXITER = 200;

/** The DEQ layer's data, drawn once. */
function deqProblem(): Record<string, mg.Tensor> {
  const g = new mg.Generator().manualSeed(0);
  const f64 = { generator: g, dtype: 'float64' } as const;
  let W = mg.randn([WIDTH, WIDTH], f64);
  W = W.mul(0.9 / W.square().sum().sqrt().item());
  return {
    W,
    U: mg.randn([WIDTH, 2], f64).mul(1 / Math.sqrt(2)),
    b: mg.randn([WIDTH], f64).mul(0.1),
    x: mg.rand([N, 2], f64).mul(4).sub(2),
  };
}

const SOLVERS = [
  { id: 'fixed_point', label: 'FixedPointIteration', make: (T: mg.solvers.SolverFn<mg.Tensor>) => new mg.solvers.FixedPointIteration({ fixedPointFun: T, maxiter: MAXITER, tol: TOL }) },
  { id: 'anderson', label: 'AndersonAcceleration (m = 5)', make: (T: mg.solvers.SolverFn<mg.Tensor>) => new mg.solvers.AndersonAcceleration({ fixedPointFun: T, maxiter: MAXITER, tol: TOL, historySize: 5 }) },
  { id: 'broyden', label: 'Broyden (γ = −1, full steps)', make: (T: mg.solvers.SolverFn<mg.Tensor>) => new mg.solvers.Broyden({ fixedPointFun: T, maxiter: MAXITER, tol: TOL }) },
] as const;

/** The group: one table. */
export async function solversGroup(ctx: BenchContext): Promise<Table[]> {
  const p = deqProblem();
  const T = (z: mg.Tensor, W: mg.Tensor, U: mg.Tensor, b: mg.Tensor, x: mg.Tensor): mg.Tensor =>
    mg.nn.functional.linear(z, W).add(mg.nn.functional.linear(x, U, b)).tanh();
  const z0 = mg.zeros([N, WIDTH], { dtype: 'float64' });
  const tensors: Record<string, PeerTensor> = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, { shape: t.shape, values: t.data }]));
  const peer = await PythonPeer.start('jax', 1);
  mg.setNumThreads(1);
  const rows: string[][] = [];
  const notes: string[] = [];
  try {
    for (const s of SOLVERS) {
      ctx.log(`solvers: ${s.label}`);
      const solver = s.make(T as never);
      const run = () => solver.run(z0, p.W, p.U, p.b, p.x);
      const mine = run();
      const samplers: (AsyncSampler | null)[] = [sampler(run, { warmupMs: 300, minRepeatMs: 50 })];
      let peerIts = '—';
      let check = '—';
      if (typeof peer !== 'string') {
        try {
          const got = await peer.setup(`deq.${s.id}`, 'deq_forward', 'float64', tensors, { solver: s.id, tol: TOL, maxiter: MAXITER });
          peerIts = String(got[0]);
          const sol = got.slice(1);
          const ref = Array.from(mine.params.data);
          const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          const err = sol.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0) / scale;
          // Both stop at ‖T(z) − z‖ ≤ 1e-5 of a contraction: the solutions agree to ~1e-4.
          check = err <= 1e-3 ? '✓' : `✗ (${err.toExponential(1)})`;
          samplers.push(await peer.sampler(`deq.${s.id}`, 300, 50));
        } catch (e) {
          check = `fails: ${(e as Error).message.split('\n')[0]}`;
          samplers.push(null);
        }
      } else {
        samplers.push(null);
      }
      const [m, j] = await compareSamplers(samplers, ctx.repeats);
      rows.push([s.label, String(mine.state.iterNum), m ? fmt(m.median) : '—', peerIts, j ? fmt(j.median) : '—', m && j ? fmtRatio(j.median / m.median) : '—', check]);
      if (typeof peer !== 'string') await peer.drop(`deq.${s.id}`).catch(() => undefined);
    }
  } finally {
    if (typeof peer !== 'string') {
      notes.push(`JAX: ${Object.entries(peer.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
      peer.close();
    } else {
      notes.push(`Unavailable: JAX / JAXopt: ${peer}.`);
    }
    mg.setNumThreads(mg.backendInfo().threads);
  }
  return [{
    title: `Forward solvers on the DEQ of \`metagrad deq\` (width ${WIDTH}, ${N} samples, float64, tol ${TOL}), one thread (ms per solve, lower is better)`,
    headers: ['solver', 'metagrad iterations', 'metagrad ms', 'JAXopt iterations', 'JAXopt jit ms', '÷ metagrad', 'agrees'],
    rows,
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    notes: [
      'The fixed point z* = tanh(z* Wᵀ + x Uᵀ + b) of the DEQ layer with ‖W‖_F = 0.9 from z = 0; both libraries stop when their error (‖T(z) − z‖ at the evaluated point; ‖F(z)‖ for Broyden) is at most tol. JAXopt: `jax.jit(solver.run)` of `FixedPointIteration`, `AndersonAcceleration(history_size=5)` and `Broyden(fun=T(z) − z, gamma=−1, stepsize=1)`, compiled before timing; "÷ metagrad" = JAXopt time ÷ metagrad time (> 1: metagrad faster).',
      'Anderson differs in its regularisation: JAXopt adds ridge 1e-5 to the Gram matrix as is; metagrad scales the Gram matrix to unit largest diagonal first (a relative ridge), so iteration counts can differ.',
      'float64 on both sides: JAXopt 0.8.5 AndersonAcceleration fails on float32 inputs when `jax_enable_x64` is on (its Gram matrix is created float64, and `lax.cond` refuses the mixed branch types), and the peer process runs with x64 on for the other float64 rows.',
      ...notes,
    ],
  }];
}
