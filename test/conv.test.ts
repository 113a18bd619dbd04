/**
 * conv2d / conv1d / pooling / unfold / fold and the Conv layers' initialisation against PyTorch:
 * outputs, gradients and second derivatives (test/fixtures/torch_conv.json, written by
 * scripts/fixtures/torch_conv.py), and finite differences.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradgradcheck } from './helpers/check';
import { type TorchCase, checkTorchCase } from './helpers/torch-case';

const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_conv.json'), 'utf8')) as {
  cases: Record<string, TorchCase>;
  init: { seed: number; conv2dWeight: number[]; conv2dBias: number[]; conv1dWeight: number[]; conv1dBias: number[] };
};
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;
const F = mg.nn.functional;

const OPS: Record<string, (...xs: T[]) => T> = {
  conv2d_basic: (a, w, b) => F.conv2d(a, w, b),
  conv2d_stride_pad_dil: (a, w) => F.conv2d(a, w, null, { stride: [2, 1], padding: [1, 2], dilation: [1, 2] }),
  conv2d_same_groups: (a, w, b) => F.conv2d(a, w, b, { padding: 'same', groups: 2 }),
  conv1d: (a, w, b) => F.conv1d(a, w, b, { stride: 2, padding: 1 }),
  maxpool: (a) => F.maxPool2d(a, 2),
  maxpool_stride_pad: (a) => F.maxPool2d(a, 3, { stride: 2, padding: 1 }),
  avgpool: (a) => F.avgPool2d(a, [2, 3], { stride: [1, 2], padding: 1 }),
  adaptive: (a) => F.adaptiveAvgPool2d(a, [3, 4]),
  adaptive1: (a) => F.adaptiveAvgPool2d(a, 1),
  unfold: (a) => F.unfold(a, [2, 3], { padding: 1, stride: 2 }),
  fold: (c) => F.fold(c, [7, 6], [2, 3], { padding: 1, stride: 2 }),
  conv_tanh: (a, w) => F.conv2d(a, w, null, { padding: 1 }).tanh(),
};

describe('convolution and pooling against PyTorch: output, gradients, grad of grad', () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => checkTorchCase(op, REF.cases[name]));
  }

  it('finite differences agree to second order (conv with tanh, in input and weight)', () => {
    const x = mg.randn([1, 2, 5, 4], f64);
    const w = mg.randn([2, 2, 3, 3], f64);
    gradgradcheck((a: T, k: T) => F.conv2d(a, k, null, { padding: 1, stride: [2, 1] }).tanh(), [x, w], 1e-5, 1e-4);
  });

  it("Conv2d and Conv1d initialise with PyTorch's draws", () => {
    mg.manualSeed(REF.init.seed);
    const c2 = new mg.nn.Conv2d(4, 3, 3);
    const c1 = new mg.nn.Conv1d(2, 5, 4);
    assertClose(c2.weight, REF.init.conv2dWeight, 1e-7);
    assertClose(c2.bias as T, REF.init.conv2dBias, 1e-7);
    assertClose(c1.weight, REF.init.conv1dWeight, 1e-7);
    assertClose(c1.bias as T, REF.init.conv1dBias, 1e-7);
    assert.deepEqual(Object.keys(c2.stateDict()), ['weight', 'bias']);
  });

  it('layers: a 4-block MAML-style net runs and its shapes are right; vmap over the input equals a loop', () => {
    mg.manualSeed(0);
    const block = (cin: number) => new mg.nn.Sequential(new mg.nn.Conv2d(cin, 8, 3, { padding: 1 }), new mg.nn.BatchNorm2d(8, { trackRunningStats: false }), new mg.nn.ReLU(), new mg.nn.MaxPool2d(2));
    const net = new mg.nn.Sequential(block(1), block(8), new mg.nn.AdaptiveAvgPool2d(1), new mg.nn.Flatten(), new mg.nn.Linear(8, 5));
    const x = mg.randn([3, 1, 12, 12]);
    assert.deepEqual((net.forward(x) as T).shape, [3, 5]);
    const conv = new mg.nn.Conv2d(1, 2, 3);
    const xs = mg.randn([4, 2, 1, 6, 6]);
    assertClose(mg.func.vmap((t: T) => conv.forward(t))(xs), mg.stack([0, 1, 2, 3].map((i) => conv.forward(xs.select(0, i)))), 1e-6);
    assert.deepEqual(new mg.nn.Unflatten(1, [2, 4]).forward(mg.ones([3, 8])).shape, [3, 2, 4]);
  });

  it('vmap with a weight per member (per-task weights) equals a loop, gradients included', () => {
    const xs = mg.randn([3, 2, 2, 6, 5], f64);
    const ws = mg.randn([3, 4, 2, 3, 3], f64).requiresGrad_(true);
    const bs = mg.randn([3, 4], f64);
    const conv = (x: T, w: T, b: T) => F.conv2d(x, w, b, { padding: 1 }).tanh();
    const batched = mg.func.vmap(conv)(xs, ws, bs);
    const loop = mg.stack([0, 1, 2].map((i) => conv(xs.select(0, i), ws.select(0, i), bs.select(0, i))));
    assertClose(batched, loop, 1e-12);
    const [g1] = mg.autograd.grad(batched.square().sum(), ws) as T[];
    const [g2] = mg.autograd.grad(loop.square().sum(), ws) as T[];
    assertClose(g1, g2, 1e-12);
    // A weight shared by the members (not batched) with batched inputs also works.
    const shared = ws.select(0, 0).detach();
    assertClose(mg.func.vmap((x: T) => F.conv2d(x, shared, null))(xs), mg.stack([0, 1, 2].map((i) => F.conv2d(xs.select(0, i), shared, null))), 1e-12);
  });

  it('bad shapes and options are named', () => {
    const x = mg.ones([1, 3, 5, 5]);
    assert.throws(() => F.conv2d(x, mg.ones([2, 2, 3, 3])), /conv2d: the input has 3 channels and weight \[2, 2, 3, 3\] with groups 1 expects 2/);
    assert.throws(() => F.conv2d(x, mg.ones([2, 3, 7, 7])), /a 7×7 window .* does not fit the padded input/);
    assert.throws(() => F.conv2d(x, mg.ones([2, 3, 3, 3]), null, { padding: 'same', stride: 2 }), /'same' only with stride 1/);
    assert.throws(() => new mg.nn.Conv2d(3, 4, 3, { groups: 2 }), /must be divisible by groups/);
    assert.throws(() => F.maxPool2d(mg.ones([3, 5, 5]), 2), /maxPool2d: expected a 4-d input/);
  });
});
