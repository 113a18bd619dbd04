/**
 * Long synchronous loops as server jobs run them, and their heap growth per step after warm-up.
 * A job that runs for days must stay flat: a few hundred bytes a step is gigabytes a week. Used by
 * `npm run bench` (10⁴ steps) and by test/steady-state.test.ts (fewer steps).
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import * as mg from '../ts/index';

/** One step of a loop; returns a number so the work cannot be optimised away. */
export type Step = () => number;

/** A named loop: `make()` builds its state and returns its step. */
export interface SteadyLoop {
  name: string;
  make: () => Step;
}

let gcFn: (() => void) | null = null;

/** A full garbage collection (V8's gc(), reached without the --expose-gc flag). */
export function collectGarbage(): void {
  if (gcFn === null) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** Heap bytes retained per step over `steps` steps, after `warmup` steps. */
export function heapGrowthPerStep(loop: SteadyLoop, steps: number, warmup = Math.min(500, steps)): number {
  const step = loop.make();
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += step();
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < steps; i++) sink += step();
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  if (!Number.isFinite(sink)) throw new Error(`${loop.name}: the loop produced a non-finite value`);
  return (after - before) / steps;
}

/**
 * An iMAML-style module (TorchOpt's tutorial, on Linear(8, 4)) whose backward budget does not
 * converge (normal CG with maxiter 5 and atol 0 on 36 unknowns): the case that warned on every
 * solve when the module built a wrapper per solve.
 */
class Inner extends mg.diff.implicit.ImplicitMetaGradientModule {
  static override linearSolve = mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 });
  static override implicitOptions = { checkRoot: false as const };
  declare net: mg.nn.Linear;
  declare metaNet: mg.nn.Linear;

  constructor(metaNet: mg.nn.Linear) {
    super(metaNet);
    this.metaNet = metaNet;
    this.net = mg.moduleClone(metaNet, { by: 'deepcopy' }) as mg.nn.Linear;
  }

  override objective(x: mg.Tensor, y: mg.Tensor): mg.Tensor {
    const meta = this.metaParameters();
    let reg = mg.nn.functional.mseLoss(this.net.forward(x), y);
    this.parameters().forEach((p, i) => {
      reg = reg.add(p.sub(meta[i]).square().sum().mul(0.5));
    });
    return reg;
  }

  solve(x: mg.Tensor, y: mg.Tensor): this {
    const params = this.parameters();
    const opt = new mg.SGD(params, { lr: 0.05 });
    mg.enableGrad(() => {
      for (let i = 0; i < 5; i++) {
        opt.zeroGrad();
        this.objective(x, y).backward({ inputs: params });
        opt.step();
      }
    });
    return this;
  }
}

function data(): { x: mg.Tensor; y: mg.Tensor } {
  mg.manualSeed(0);
  return { x: mg.randn([16, 8]), y: mg.randn([16, 4]) };
}

/** The three loops of the steady-state check. */
export const STEADY_LOOPS: SteadyLoop[] = [
  {
    name: 'ImplicitMetaGradientModule meta-step (normal CG, maxiter 5, atol 0)',
    make: () => {
      const { x, y } = data();
      const metaNet = new mg.nn.Linear(8, 4);
      const metaOpt = new mg.Adam(metaNet.parameters(), { lr: 1e-3 });
      const inner = new Inner(metaNet);
      return () => {
        inner.solve(x, y);
        const loss = inner.net.forward(x).mean();
        metaOpt.zeroGrad();
        loss.backward();
        metaOpt.step();
        return loss.item();
      };
    },
  },
  {
    name: 'customRoot solve + meta-gradient (normal CG, maxiter 5, atol 0)',
    make: () => {
      const { x, y } = data();
      const F = (w: mg.Tensor, th: mg.Tensor) => x.t().matmul(x.matmul(w).sub(y)).div(16).add(w.sub(th));
      const solver = mg.diff.implicit.customRoot(F, {
        argnums: 1,
        solve: mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 }),
        warnNotConverged: false,
      })((w0: mg.Tensor, th: mg.Tensor) => {
        let w = w0;
        for (let i = 0; i < 60; i++) w = w.sub(F(w, th).mul(0.4));
        return w;
      });
      const theta = mg.zeros([8, 4], { requiresGrad: true });
      return () => {
        const w = solver(mg.zerosLike(theta), theta);
        const [g] = mg.autograd.grad(w.square().sum(), theta);
        mg.noGrad(() => theta.sub_(g, 1e-3));
        return g.sum().item();
      };
    },
  },
  {
    name: 'plain training step (Linear + MSE + Adam)',
    make: () => {
      const { x, y } = data();
      const net = new mg.nn.Linear(8, 4);
      const opt = new mg.Adam(net.parameters(), { lr: 1e-3 });
      return () => {
        opt.zeroGrad();
        const loss = mg.nn.functional.mseLoss(net.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      };
    },
  },
];

/** The benchmark group: heap growth per step of each loop over 10⁴ steps. */
export async function steady(ctx: import('./context').BenchContext): Promise<import('./table').Table[]> {
  const steps = 10_000;
  const rows: string[][] = [];
  for (const loop of STEADY_LOOPS) {
    ctx.log(`steady: ${loop.name} (${steps} steps)`);
    const t0 = performance.now();
    const bytes = heapGrowthPerStep(loop, steps, 1000);
    const ms = (performance.now() - t0) / (steps + 1000);
    rows.push([loop.name, bytes.toFixed(1), (ms * 1000).toFixed(0)]);
    ctx.target(`${loop.name}: heap growth < 1 KB/step over 10⁴ steps`, `${bytes.toFixed(1)} B/step`, bytes < 1024);
  }
  return [
    {
      title: 'Steady state: heap growth of long synchronous loops',
      headers: ['loop', 'heap bytes retained / step', 'µs / step'],
      rows,
      notes: [`${steps} steps after 1000 warm-up steps; heapUsed after a full GC, before and after.`],
    },
  ];
}
