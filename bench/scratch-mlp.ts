import * as mg from '../ts/index';
import { measure } from './stats';
for (const dtype of ['float32', 'float64'] as const) {
  mg.manualSeed(0);
  const x = mg.randn([256, 64], { dtype });
  const y = mg.randn([256, 1], { dtype });
  const params = [mg.randn([64, 128], { dtype }).mul(0.125), mg.zeros([128], { dtype }), mg.randn([128, 1], { dtype }).mul(0.09), mg.zeros([1], { dtype })];
  const v = params.map((p) => mg.randn(p.shape, { dtype }));
  const loss = (ps: mg.Tensor[]) => mg.tanh(x.matmul(ps[0]).add(ps[1])).matmul(ps[2]).add(ps[3]).sub(y).square().mean();
  const g = mg.func.valueAndGrad(loss);
  const tg = measure(() => g(params), { repeats: 7 });
  const th = measure(() => mg.func.hvp(loss, [params], [v]), { repeats: 7 });
  console.log(dtype, 'grad ms', tg.median.toFixed(3), 'hvp ms', th.median.toFixed(3));
}
