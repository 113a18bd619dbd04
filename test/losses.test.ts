/**
 * crossEntropy / nllLoss (class weights, ignoreIndex, label smoothing, reductions, probability
 * targets, spatial inputs) and the loss modules against PyTorch: values, gradients and second
 * derivatives (test/fixtures/torch_losses.json, written by scripts/fixtures/torch_losses.py);
 * ModuleList and ModuleDict.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose, gradgradcheck } from './helpers/check';

interface Case {
  x: number[][]; targets: number[] | number[][] | null; y: number[]; shape: number[]; w: number[]; g: number[]; v: number[]; gg: number[];
  opts: { weight?: boolean; weight3?: boolean; labelSmoothing?: number; reduction?: 'sum' | 'none'; probs?: boolean; nll?: boolean; raw?: boolean };
}
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_losses.json'), 'utf8')) as { weight: number[]; probs: number[][]; cases: Record<string, Case> };
const f64 = { dtype: 'float64' as const };
type T = mg.Tensor;
const F = mg.nn.functional;

/** The case's loss as metagrad computes it. */
function lossOf(c: Case): (x: T) => T {
  const weight = c.opts.weight ? mg.tensor(REF.weight, f64) : c.opts.weight3 ? mg.tensor(REF.weight.slice(0, 3), f64) : undefined;
  const o = { weight, labelSmoothing: c.opts.labelSmoothing, reduction: c.opts.reduction };
  const targets = c.opts.probs ? mg.tensor(REF.probs, f64) : mg.tensor(c.targets as number[], f64);
  if (c.opts.nll) return (x) => F.nllLoss(c.opts.raw ? x : F.logSoftmax(x, 1), targets, { weight, reduction: c.opts.reduction });
  return (x) => F.crossEntropy(x, targets, o);
}

describe('crossEntropy and nllLoss against PyTorch', () => {
  for (const [name, c] of Object.entries(REF.cases)) {
    it(`${name}: value, gradient and grad of grad`, () => {
      const x = mg.tensor(c.x, { ...f64, requiresGrad: true });
      const y = lossOf(c)(x);
      assert.deepEqual(y.shape, c.shape);
      assertClose(y, c.y, 1e-12, 1e-10);
      const [g] = mg.autograd.grad(y.mul(mg.tensor(c.w, f64).reshape(c.shape)).sum(), x, { createGraph: true }) as T[];
      assertClose(g, c.g, 1e-12, 1e-10, 'gradient');
      // nll of raw inputs is linear: its gradient has no graph and its second derivative is 0.
      const gg = g.requiresGrad ? (mg.autograd.grad(g.mul(mg.tensor(c.v, f64).reshape(x.shape)).sum(), x) as T[])[0] : mg.zerosLike(x);
      assertClose(gg, c.gg, 1e-12, 1e-9, 'grad of grad');
    });
  }

  it('finite differences of the smoothed, weighted loss agree to second order', () => {
    const c = REF.cases.ce_weight_smooth_ignore;
    gradgradcheck(lossOf(c), [mg.tensor(c.x, f64)], 1e-6, 1e-4);
  });

  it('the loss modules give the functional values', () => {
    const c = REF.cases.ce_weight_smooth_ignore;
    const x = mg.tensor(c.x, f64);
    const ce = new mg.nn.CrossEntropyLoss({ weight: mg.tensor(REF.weight, f64), labelSmoothing: 0.2 });
    assertClose(ce.forward(x, c.targets as number[]), c.y, 1e-12);
    const n = REF.cases.nll_sum;
    assertClose(new mg.nn.NLLLoss({ reduction: 'sum' }).forward(mg.tensor(n.x, f64), n.targets as number[]), n.y, 1e-12);
    const a = mg.tensor([[0.5, -1], [2, 0]], f64);
    const b = mg.tensor([[1, 0], [0.3, 1]], f64);
    assertClose(new mg.nn.MSELoss({ reduction: 'sum' }).forward(a, b), F.mseLoss(a, b, { reduction: 'sum' }));
    assertClose(new mg.nn.BCEWithLogitsLoss().forward(a, b), F.binaryCrossEntropyWithLogits(a, b));
    assert.deepEqual(ce.parameters(), []);
  });

  it('bad options are named', () => {
    const x = mg.tensor(REF.cases.ce.x, f64);
    assert.throws(() => F.crossEntropy(x, [0, 1, 2, 3, 0], { labelSmoothing: 1.5 }), /crossEntropy: argument 'labelSmoothing' must be a number in \[0, 1\], got 1\.5/);
    assert.throws(() => F.crossEntropy(x, [0, 1, 2, 3, 0], { weight: mg.ones([3], f64) }), /crossEntropy: weight must have shape \[4\] \(one per class\), got \[3\]/);
    assert.throws(() => F.nllLoss(x, [0, 1, 2]), /nllLoss: targets of shape \[3\] do not fit an input with 4 classes/);
  });
});

describe('nn.ModuleList and nn.ModuleDict', () => {
  it("register their modules: parameters and state dict under PyTorch's names, in order", () => {
    mg.manualSeed(0);
    const list = new mg.nn.ModuleList([new mg.nn.Linear(2, 3), new mg.nn.Linear(3, 1)]);
    list.append(new mg.nn.Tanh());
    assert.equal(list.length, 3);
    assert.deepEqual(Object.keys(list.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias']);
    assert.equal(list.at(-2), list[1]);
    assert.equal([...list].length, 3);
    const dict = new mg.nn.ModuleDict({ encoder: new mg.nn.Linear(2, 2), head: list });
    assert.deepEqual(dict.keys(), ['encoder', 'head']);
    assert.deepEqual(Object.keys(dict.stateDict()), ['encoder.weight', 'encoder.bias', 'head.0.weight', 'head.0.bias', 'head.1.weight', 'head.1.bias']);
    assert.equal(dict.get('head'), list);
    assert.equal(dict.parameters().length, 6);
    assert.throws(() => dict.get('decoder'), /ModuleDict\.get: no module named 'decoder' \(has encoder, head\)/);
    assert.throws(() => dict.set('keys', new mg.nn.Tanh()), /'keys' is the name of a ModuleDict method/);
    assert.throws(() => list.forward(), /a ModuleList has no forward/);
    assert.throws(() => new mg.nn.ModuleList([3 as never]), /ModuleList: argument 'modules\[0\]' must be an nn\.Module/);
  });
});
