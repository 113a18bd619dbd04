/**
 * LR schedulers (mg.lrScheduler) and gradient clipping (mg.nn.utils) against PyTorch's values
 * (test/fixtures/torch_training_utils.json, written by scripts/fixtures/torch_training_utils.py).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';

const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_training_utils.json'), 'utf8')) as Record<string, number[][]> & {
  clip: { grads: number[][][] | number[][]; [k: string]: unknown };
};

/** An SGD with two groups (lr 0.1 and 0.03), as the fixture. */
function optimizer(): mg.SGD {
  const [a, b] = [mg.zeros([1]).requiresGrad_(true), mg.zeros([1]).requiresGrad_(true)];
  return new mg.SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.03 }], { lr: 0.1 });
}

describe('mg.lrScheduler against torch.optim.lr_scheduler (25 epochs, two groups)', () => {
  const cases: [string, (o: mg.SGD) => mg.lrScheduler.LRScheduler][] = [
    ['StepLR', (o) => new mg.lrScheduler.StepLR(o, { stepSize: 4, gamma: 0.5 })],
    ['ExponentialLR', (o) => new mg.lrScheduler.ExponentialLR(o, { gamma: 0.9 })],
    ['CosineAnnealingLR', (o) => new mg.lrScheduler.CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 })],
    ['LambdaLR', (o) => new mg.lrScheduler.LambdaLR(o, { lrLambda: [(e) => 1 / (1 + e), (e) => 0.95 ** e] })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: getLastLr() and the groups' lr equal PyTorch's at every epoch`, () => {
      const opt = optimizer();
      const s = make(opt);
      const got = [s.getLastLr()];
      for (let e = 0; e < 25; e++) {
        opt.step();
        s.step();
        got.push(s.getLastLr());
        assert.deepEqual(opt.paramGroups.map((g) => g.lr), s.getLastLr());
      }
      assertClose(got.flat(), REF[name].flat(), 1e-12, 1e-9);
    });
  }

  it('the optimizer steps with the scheduled learning rate', () => {
    const p = mg.tensor([1], { requiresGrad: true });
    const opt = new mg.SGD([p], { lr: 1 });
    const s = new mg.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const moves: number[] = [];
    for (let e = 0; e < 3; e++) {
      p.grad = mg.ones([1]);
      const before = p.item();
      opt.step();
      moves.push(before - p.item());
      s.step();
    }
    assert.deepEqual(moves, [1, 0.5, 0.25]);
  });

  it('bad arguments are named', () => {
    assert.throws(() => new mg.lrScheduler.StepLR(optimizer(), { stepSize: 0 }), /new StepLR: argument 'stepSize' must be a positive integer, got 0/);
    assert.throws(() => new mg.lrScheduler.ExponentialLR({} as never, { gamma: 0.5 }), /new ExponentialLR: argument 'optimizer' must be an optimizer/);
    assert.throws(() => new mg.lrScheduler.LambdaLR(optimizer(), { lrLambda: [(e) => e] }), /an array of 2 \(one per parameter group\)/);
  });
});

describe('mg.nn.utils.clipGradNorm_ / clipGradValue_ against torch.nn.utils', () => {
  const grads = REF.clip.grads as unknown as [number[][], number[]];
  const params = (): mg.Tensor[] => {
    const ps = [mg.zeros([2, 2], { dtype: 'float64' }).requiresGrad_(true), mg.zeros([2], { dtype: 'float64' }).requiresGrad_(true)];
    ps[0].grad = mg.tensor(grads[0], { dtype: 'float64' });
    ps[1].grad = mg.tensor(grads[1], { dtype: 'float64' });
    return ps;
  };
  for (const [normType, maxNorm, key] of [[2, 5, 'norm_2.0_5.0'], [1, 3, 'norm_1.0_3.0'], [Infinity, 2, 'norm_inf_2.0'], [3, 100, 'norm_3.0_100.0']] as const) {
    it(`normType ${normType}, maxNorm ${maxNorm}: the total norm and the clipped gradients equal PyTorch's`, () => {
      const ps = params();
      const ref = REF.clip[key] as { total: number; grads: [number[][], number[]] };
      const total = mg.nn.utils.clipGradNorm_(ps, maxNorm, { normType });
      assertClose(total, ref.total, 1e-12);
      assertClose(ps[0].grad as mg.Tensor, ref.grads[0].flat(), 1e-12);
      assertClose(ps[1].grad as mg.Tensor, ref.grads[1], 1e-12);
    });
  }

  it('clipGradValue_ clamps as PyTorch; a parameter without a gradient is skipped', () => {
    const ps = params();
    const idle = mg.zeros([3]).requiresGrad_(true);
    mg.nn.utils.clipGradValue_([...ps, idle], 1.5);
    const ref = REF.clip['value_1.5'] as [number[][], number[]];
    assertClose(ps[0].grad as mg.Tensor, ref[0].flat());
    assertClose(ps[1].grad as mg.Tensor, ref[1]);
    assert.equal(idle.grad, null);
  });

  it('a non-finite total norm raises with errorIfNonfinite', () => {
    const ps = params();
    (ps[1].grad as mg.Tensor).data[0] = Number.NaN;
    assert.throws(() => mg.nn.utils.clipGradNorm_(ps, 1, { errorIfNonfinite: true }), /total norm of the gradients is NaN/);
  });
});
