/**
 * Unrolled meta-gradients (MAML-style): K differentiable MetaSGD steps on Linear(4→1), x [20, 4],
 * then the gradient of the final loss with respect to the initial parameters. Each step
 * differentiates with respect to the current, non-leaf parameters; the cost of a step must not
 * grow with the history behind it, so the total should grow linearly in K.
 */
import * as mg from '../ts/index';
import type { BenchContext } from './context';
import { fmt, measure } from './stats';
import type { Table } from './table';

function unrolled(K: number, x: mg.Tensor, y: mg.Tensor): number {
  mg.manualSeed(1);
  const net = new mg.nn.Linear(4, 1);
  const theta = net.parameters();
  const opt = new mg.MetaSGD(net, { lr: 0.02 });
  for (let k = 0; k < K; k++) opt.step(mg.nn.functional.mseLoss(net.forward(x), y));
  const [g] = mg.autograd.grad(mg.nn.functional.mseLoss(net.forward(x), y), theta);
  return g.data[0];
}

export async function unrolledGroup(ctx: BenchContext): Promise<Table[]> {
  mg.manualSeed(0);
  const x = mg.randn([20, 4]);
  const y = mg.randn([20, 1]);
  const rows: string[][] = [];
  const ms: number[] = [];
  for (const K of [10, 100, 1000]) {
    ctx.log(`unrolled: ${K} steps`);
    const t = measure(() => unrolled(K, x, y), { repeats: K >= 1000 ? Math.min(ctx.repeats, 3) : ctx.repeats, minRepeatMs: 50, warmupMs: 300 });
    ms.push(t.median);
    rows.push([`${K}`, fmt(t.median), K === 10 ? '—' : `${fmt(t.median / ms[ms.length - 2])}×`]);
  }
  ctx.target('unrolled: 100 steps ≤ 12× the 10-step time', `${fmt(ms[1] / ms[0])}×`, ms[1] <= 12 * ms[0]);
  ctx.target('unrolled: 1000 steps ≤ 12× the 100-step time', `${fmt(ms[2] / ms[1])}×`, ms[2] <= 12 * ms[1]);
  return [
    {
      title: 'Unrolled meta-gradient: K MetaSGD steps + the gradient to the initial parameters (ms, lower is better)',
      headers: ['inner steps K', 'metagrad', 'vs K/10'],
      rows,
      notes: ['Linear(4→1), x [20, 4], MSE, `mg.MetaSGD(net, { lr: 0.02 })`, float32; median per meta-gradient. Linear growth is 10× per row.'],
    },
  ];
}
