/**
 * LayerNorm, GroupNorm, BatchNorm1d/2d, Embedding and Dropout against PyTorch (outputs, input and
 * parameter gradients, second derivatives, running statistics and the default draw;
 * test/fixtures/torch_layers.json from scripts/fixtures/torch_layers.py), and finite differences.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradgradcheck } from './helpers/check';

interface Run { x: number[]; xShape: number[]; y: number[]; w: number[]; gx: number[]; gParams: number[][]; v: number[]; gg: number[] }
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_layers.json'), 'utf8')) as {
  layerNorm: Run & { weight: number[]; bias: number[] };
  groupNorm: Run & { weight: number[]; bias: number[] };
  batchNorm2d: { weight: number[]; bias: number[]; train: Run; x2: number[]; stats: { runningMean: number[]; runningVar: number[]; numBatchesTracked: number }; eval: Run };
  batchNorm1dNoStats: Run;
  embedding: { seed: number; weight: number[]; indices: number[][]; y: number[] };
  dropout: { seed: number; p: number; dtype: string; shape: number[]; x: number[]; y: number[]; y2: number[]; after: number[] }[];
};
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;

/** Compares a layer's run with PyTorch's. */
function check(layer: mg.nn.Module, r: Run): void {
  const x = mg.tensor(r.x, { ...f64, requiresGrad: true }).reshape(r.xShape);
  const y = layer.forward(x) as T;
  assertClose(y, r.y, 1e-12, 1e-10, 'output');
  const ps = layer.parameters();
  const grads = mg.autograd.grad(y.mul(mg.tensor(r.w, f64).reshape(y.shape)).sum(), [x, ...ps], { createGraph: true }) as T[];
  assertClose(grads[0], r.gx, 1e-12, 1e-10, 'input gradient');
  r.gParams.forEach((g, i) => assertClose(grads[i + 1], g, 1e-12, 1e-10, `parameter ${i} gradient`));
  const gg = grads[0].requiresGrad ? (mg.autograd.grad(grads[0].mul(mg.tensor(r.v, f64).reshape(r.xShape)).sum(), x, { allowUnused: true, materializeGrads: true }) as T[])[0] : mg.zerosLike(x);
  assertClose(gg, r.gg, 1e-11, 1e-9, 'grad of grad');
}

describe('normalisation layers against PyTorch', () => {
  it('LayerNorm([3, 5]) with a set weight and bias', () => {
    const ln = new mg.nn.LayerNorm([3, 5], { dtype: 'float64' });
    mg.noGrad(() => {
      (ln.weight as T).copy_(mg.tensor(REF.layerNorm.weight, f64).reshape(3, 5));
      (ln.bias as T).copy_(mg.tensor(REF.layerNorm.bias, f64).reshape(3, 5));
    });
    check(ln, REF.layerNorm);
    assert.deepEqual(Object.keys(ln.stateDict()), ['weight', 'bias']);
  });

  it('GroupNorm(2, 4)', () => {
    const gn = new mg.nn.GroupNorm(2, 4, { dtype: 'float64' });
    mg.noGrad(() => {
      (gn.weight as T).copy_(mg.tensor(REF.groupNorm.weight, f64));
      (gn.bias as T).copy_(mg.tensor(REF.groupNorm.bias, f64));
    });
    check(gn, REF.groupNorm);
  });

  it('BatchNorm2d: training batches update the running statistics as PyTorch; eval uses them', () => {
    const bn = new mg.nn.BatchNorm2d(4, { dtype: 'float64' });
    mg.noGrad(() => {
      (bn.weight as T).copy_(mg.tensor(REF.batchNorm2d.weight, f64));
      (bn.bias as T).copy_(mg.tensor(REF.batchNorm2d.bias, f64));
    });
    check(bn, REF.batchNorm2d.train);
    bn.forward(mg.tensor(REF.batchNorm2d.x2, f64).reshape(3, 4, 2, 3));
    // check() ran one training batch (twice through forward: output and gradients), PyTorch one: compare after a fresh replay.
    const fresh = new mg.nn.BatchNorm2d(4, { dtype: 'float64' });
    fresh.forward(mg.tensor(REF.batchNorm2d.train.x, f64).reshape(REF.batchNorm2d.train.xShape));
    fresh.forward(mg.tensor(REF.batchNorm2d.x2, f64).reshape(3, 4, 2, 3));
    assertClose(fresh.running_mean as T, REF.batchNorm2d.stats.runningMean, 1e-14);
    assertClose(fresh.running_var as T, REF.batchNorm2d.stats.runningVar, 1e-14);
    assert.equal((fresh.num_batches_tracked as T).item(), REF.batchNorm2d.stats.numBatchesTracked);
    assert.deepEqual(Object.keys(fresh.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    fresh.loadStateDict({ ...fresh.stateDict(), weight: mg.tensor(REF.batchNorm2d.weight, f64), bias: mg.tensor(REF.batchNorm2d.bias, f64) });
    fresh.eval();
    check(fresh, REF.batchNorm2d.eval);
  });

  it('BatchNorm1d with trackRunningStats false normalises by the batch even in eval mode (MAML’s per-task statistics)', () => {
    const bn = new mg.nn.BatchNorm1d(3, { trackRunningStats: false, dtype: 'float64' });
    bn.eval();
    check(bn, REF.batchNorm1dNoStats);
    assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias']);
  });

  it('second derivatives by finite differences (LayerNorm, BatchNorm in training)', () => {
    const x = mg.tensor(REF.layerNorm.x, f64).reshape(4, 3, 5);
    gradgradcheck((t: T) => mg.nn.functional.layerNorm(t, [5]), [x], 1e-5, 1e-4);
    gradgradcheck((t: T) => mg.nn.functional.batchNorm(t, null, null, { training: true }), [x], 1e-5, 1e-4);
  });

  it('bad shapes are named', () => {
    assert.throws(() => new mg.nn.BatchNorm2d(4).forward(mg.ones([2, 4])), /BatchNorm2d: expected a 4-d input, got shape \[2, 4\]/);
    assert.throws(() => new mg.nn.BatchNorm1d(3).forward(mg.ones([2, 4])), /BatchNorm1d: expected 3 channels in dim 1, got shape \[2, 4\]/);
    assert.throws(() => new mg.nn.GroupNorm(3, 4), /numChannels \(4\) must be divisible by numGroups \(3\)/);
    assert.throws(() => mg.nn.functional.layerNorm(mg.ones([2, 3]), [2]), /normalizedShape \[2\] must be the trailing dims of the input's shape \[2, 3\]/);
  });
});

describe('Embedding and Dropout', () => {
  it("Embedding's default initialisation is PyTorch's draw, and the lookup and its gradient are the rows", () => {
    mg.manualSeed(REF.embedding.seed);
    const emb = new mg.nn.Embedding(6, 3);
    assertClose(emb.weight, REF.embedding.weight, 1e-7);
    const y = emb.forward(mg.tensor(REF.embedding.indices));
    assert.deepEqual(y.shape, [2, 3, 3]);
    assertClose(y, REF.embedding.y, 1e-7);
    const [g] = mg.autograd.grad(y.sum(), emb.weight) as T[];
    // Row counts of the indices [[0, 5, 2], [2, 2, 1]]: 0 once, 1 once, 2 three times, 5 once.
    assertClose(g, [1, 1, 1, 1, 1, 1, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    assert.throws(() => emb.forward([0, 6]), /embedding: index 1 is 6; indices must be integers in \[0, 6\)/);
  });

  it("dropout's masks are PyTorch's draw for draw (float32 and float64, functional and module), and the generator ends where PyTorch's does", () => {
    for (const c of REF.dropout) {
      const dtype = c.dtype as mg.DType;
      const x = mg.tensor(c.x, { dtype }).reshape(c.shape);
      mg.manualSeed(c.seed);
      const y = mg.nn.functional.dropout(x, c.p);
      const y2 = new mg.nn.Dropout(c.p).forward(x);
      assert.equal(y.dtype, dtype);
      // Exact: the same elements dropped and the same rounding of the kept ones.
      assert.deepEqual(Array.from(y.data), c.y, `F.dropout seed ${c.seed}`);
      assert.deepEqual(Array.from(y2.data), c.y2, `nn.Dropout seed ${c.seed}`);
      assert.deepEqual(Array.from(mg.rand([3], f64).data), c.after, `the draw after seed ${c.seed}`);
    }
  });

  it('Dropout: in training, kept elements are scaled by 1/(1 − p) and about p are dropped; eval is the identity', () => {
    const d = new mg.nn.Dropout(0.25, { generator: new mg.Generator().manualSeed(3) });
    const x = mg.ones([20000], f64);
    const y = d.forward(x);
    const values = new Set(Array.from(y.data));
    assert.deepEqual([...values].sort(), [0, 1 / 0.75]);
    const dropped = Array.from(y.data).filter((v) => v === 0).length / 20000;
    assert.ok(Math.abs(dropped - 0.25) < 0.015, `dropped ${dropped}`);
    d.eval();
    assert.equal(d.forward(x), x);
    assert.throws(() => new mg.nn.Dropout(1.5), /Dropout: argument 'p' must be a probability in \[0, 1\], got 1\.5/);
  });
});
