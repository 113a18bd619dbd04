/**
 * nn: module discovery (against PyTorch's names and order), Linear's initialisation against values
 * recorded from PyTorch, state dicts, initialisers, functional layers and losses (against closed
 * forms and finite differences), functional calls, TorchOpt's clone/state utilities and makeDot.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import * as nn from '../ts/nn/index';
import { moduleClone } from '../ts/nn/clone';
import { functionalCall, makeFunctional } from '../ts/nn/functional-call';
import { makeDot } from '../ts/nn/make-dot';
import { ModuleState, extractStateDict, recoverStateDict } from '../ts/nn/state-dict';
import { stopGradient } from '../ts/nn/stop-gradient';
import { assertClose, gradcheck, gradgradcheck, numericJacobian } from './helpers/check';

const F = nn.functional;
const t64 = (data: mg.NestedArray, requiresGrad = false): mg.Tensor => mg.tensor(data, { dtype: 'float64', requiresGrad });

/** A module with an own parameter assigned after a child, an array of heads and a buffer. */
class Net extends nn.Module {
  enc: nn.Linear;
  scale: mg.Tensor;
  heads: nn.Linear[];
  running!: mg.Tensor;

  constructor() {
    super();
    this.enc = new nn.Linear(2, 3, { dtype: 'float64' });
    this.scale = new nn.Parameter(t64([1.5]));
    this.heads = [new nn.Linear(3, 1, { dtype: 'float64' }), new nn.Linear(3, 1, { dtype: 'float64' })];
    this.registerBuffer('running', mg.zeros([3], { dtype: 'float64' }));
  }

  override forward(x: mg.Tensor): mg.Tensor {
    const h = this.enc.forward(x).tanh().mul(this.scale);
    return mg.cat(this.heads.map((m) => m.forward(h)), 1);
  }
}

describe('nn.Parameter', () => {
  it('is a leaf that requires grad and shares the data of the tensor it wraps', () => {
    const t = mg.tensor([1, 2]);
    const p = new nn.Parameter(t);
    assert.ok(p instanceof mg.Tensor && p.isLeaf && p.requiresGrad);
    assert.equal(p.data, t.data);
    assert.equal(new nn.Parameter(t, false).requiresGrad, false);
    assert.match(String(p), /^Parameter containing:\ntensor\(\[1\., 2\.\], requires_grad=True\)$/);
  });

  it('detaches a non-leaf', () => {
    const x = mg.tensor([1, 2], { requiresGrad: true });
    const p = new nn.Parameter(x.mul(2));
    assert.ok(p.isLeaf && p.gradFn === null && p.requiresGrad);
    assert.deepEqual(p.tolist(), [2, 4]);
  });

  it('rejects a non-tensor', () => {
    assert.throws(() => new nn.Parameter([1, 2] as unknown as mg.Tensor), /Parameter: argument 'data' must be a Tensor/);
  });
});

describe('nn.Module discovery', () => {
  it('names Sequential(Linear, ReLU, Sequential(Linear)) like PyTorch', () => {
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Sequential(new nn.Linear(3, 2)));
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '2.0.weight', '2.0.bias']);
    assert.deepEqual(m.namedModules().map(([n]) => n), ['', '0', '1', '2', '2.0']);
    assert.deepEqual(m.namedChildren().map(([n]) => n), ['0', '1', '2']);
    assert.equal(m.parameters().length, 4);
    assert.equal(m.length, 3);
    assert.ok(m[2] instanceof nn.Sequential);
  });

  it("yields a module's own parameters before its children's, arrays as name.i, buffers apart", () => {
    const net = new Net();
    // PyTorch: named_parameters visits each module's own _parameters before recursing.
    assert.deepEqual(net.namedParameters().map(([n]) => n), [
      'scale', 'enc.weight', 'enc.bias', 'heads.0.weight', 'heads.0.bias', 'heads.1.weight', 'heads.1.bias',
    ]);
    assert.deepEqual(net.namedModules().map(([n]) => n), ['', 'enc', 'heads.0', 'heads.1']);
    assert.deepEqual(net.namedBuffers().map(([n]) => n), ['running']);
    assert.equal(net.buffers()[0], net.running);
    assert.deepEqual(net.children(), [net.enc, ...net.heads]);
    assert.equal(net.modules().length, 4);
    assert.deepEqual(net.namedParameters({ recurse: false }).map(([n]) => n), ['scale']);
    assert.deepEqual(net.namedParameters({ prefix: 'net' }).map(([n]) => n)[1], 'net.enc.weight');
    assert.equal(net.getSubmodule('heads.1'), net.heads[1]);
    assert.equal(net.getParameter('heads.0.bias'), net.heads[0].bias);
    assert.throws(() => net.getParameter('enc.nope'), RangeError);
  });

  it('reports shared parameters and shared modules once (unless removeDuplicate is false)', () => {
    const lin = new nn.Linear(2, 2);
    const m = new nn.Sequential(lin, new nn.Tanh(), lin);
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['0.weight', '0.bias']);
    assert.deepEqual(m.namedParameters({ removeDuplicate: false }).map(([n]) => n), ['0.weight', '0.bias', '2.weight', '2.bias']);
    assert.deepEqual(m.namedModules().map(([n]) => n), ['', '0', '1']);
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    b.weight = a.weight; // tied weight
    const tied = new nn.Sequential(a, b);
    assert.deepEqual(tied.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '1.bias']);
  });

  it('keeps a parameter slot a parameter when a non-leaf tensor is assigned to it', () => {
    const lin = new nn.Linear(3, 2);
    const w0 = lin.weight;
    const updated = w0.mul(2); // what a differentiable optimizer step puts in place
    lin.weight = updated;
    assert.deepEqual(lin.namedParameters().map(([n]) => n), ['weight', 'bias']);
    assert.equal(lin.parameters()[0], updated);
    // A plain tensor under a name that never held a Parameter is an ordinary attribute.
    const m = lin as unknown as Record<string, unknown>;
    m.cache = mg.ones([2]);
    assert.equal(lin.parameters().length, 2);
    // setParameter swaps a slot by dotted name and returns the previous tensor.
    const s = new nn.Sequential(lin);
    assert.equal(s.setParameter('0.weight', w0), updated);
    assert.equal(lin.weight, w0);
    assert.throws(() => s.setParameter('0.cache', w0), /'0.cache' is not a parameter of Sequential/);
  });

  it('registerParameter makes a slot at once; non-persistent buffers stay out of the state dict', () => {
    class Scale extends nn.Module {
      constructor() {
        super();
        this.registerParameter('s', new nn.Parameter(t64([2])));
        this.registerBuffer('seen', t64([0]), false);
      }
    }
    const m = new Scale() as Scale & { s: mg.Tensor };
    m.s = m.s.mul(1); // replaced before the parameters were ever listed
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['s']);
    assert.deepEqual(m.namedBuffers().map(([n]) => n), ['seen']);
    assert.deepEqual(Object.keys(m.stateDict()), ['s']);
    assert.throws(() => m.registerBuffer('s', null), /'s' is already a parameter/);
    assert.throws(() => m.registerParameter('a.b', null), /argument 'name' must be a non-empty string without dots/);
  });

  it('raises on a module that contains itself', () => {
    const s = new nn.Sequential(new nn.ReLU());
    s.append(s);
    assert.throws(() => s.stateDict(), /contains itself/);
    assert.throws(() => s.namedModules({ removeDuplicate: false }), /contains itself/);
    assert.equal(s.modules().length, 2, 'deduplicated walks stop at the repeat');
  });

  it('Sequential accepts named modules, append and at; simple layers compute their functions', () => {
    const s = new nn.Sequential({ act: new nn.Tanh(), flat: new nn.Flatten() });
    assert.deepEqual(s.namedChildren().map(([n]) => n), ['act', 'flat']);
    assert.throws(() => s.append(new nn.Sigmoid()), /has named children/);
    s.registerModule('out', new nn.Identity());
    assert.ok(s.at(-1) instanceof nn.Identity && s.at(0) instanceof nn.Tanh && s.length === 3);
    assert.ok(new nn.Sequential().append(new nn.ReLU()).append(new nn.Tanh()).at(1) instanceof nn.Tanh);
    const x = t64([[[0.5, -1]], [[2, 0]]]);
    const y = new nn.Sequential(new nn.Tanh(), new nn.Flatten(), new nn.Sigmoid(), new nn.Identity(), new nn.ReLU()).forward(x);
    assert.deepEqual(y.shape, [2, 2]);
    assertClose(y, Array.from(x.data, (v) => 1 / (1 + Math.exp(-Math.tanh(v)))), 1e-15);
    assert.throws(() => new nn.Sequential(new nn.ReLU(), 3 as unknown as nn.Module), /Sequential: argument 'modules\[1\]' must be an nn.Module, got 3/);
  });

  it('has an empty bias slot for Linear(…, { bias: false })', () => {
    const lin = new nn.Linear(3, 2, { bias: false });
    assert.equal(lin.bias, null);
    assert.deepEqual(lin.namedParameters().map(([n]) => n), ['weight']);
    assert.deepEqual(Object.keys(lin.stateDict()), ['weight']);
    assert.equal(String(lin), 'Linear(in_features=3, out_features=2, bias=False)');
  });

  it('raises when forward is not overridden', () => {
    class Empty extends nn.Module {}
    assert.throws(() => new Empty().forward(mg.ones([1])), /Empty\.forward: module is missing the required forward/);
  });

  it('prints like PyTorch', () => {
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.Softplus({ beta: 2 }), new nn.Flatten());
    assert.equal(
      String(m),
      'Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): Softplus(beta=2, threshold=20)\n  (2): Flatten(start_dim=1, end_dim=-1)\n)',
    );
  });
});

describe('nn.Linear initialisation', () => {
  it("reproduces PyTorch's values after manualSeed (float32, bit for bit)", () => {
    // Produced from real PyTorch by scripts/fixtures/torch_reference.py.
    const ref = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_reference.json'), 'utf8')) as {
      cases: { seed: number; calls: { call: string; values: unknown }[] }[];
    };
    const c = ref.cases.find((k) => k.calls[0].call === 'new nn.Linear(7, 5) then new nn.Linear(5, 1)');
    assert.ok(c, 'reference case present');
    const expected = c.calls[0].values as Record<string, mg.NestedArray>;
    mg.manualSeed(c.seed);
    const l1 = new nn.Linear(7, 5);
    const l2 = new nn.Linear(5, 1);
    const got: Record<string, mg.NestedArray> = {
      'linear1.weight': l1.weight.tolist(), 'linear1.bias': (l1.bias as mg.Tensor).tolist(),
      'linear2.weight': l2.weight.tolist(), 'linear2.bias': (l2.bias as mg.Tensor).tolist(),
    };
    assert.deepEqual(got, expected);
    assert.equal(l1.weight.dtype, 'float32');
  });

  it('draws the weight from U(±1/√inFeatures), then the bias from the same bound', () => {
    mg.manualSeed(3);
    const lin = new nn.Linear(16, 5, { dtype: 'float64' });
    mg.manualSeed(3);
    const w = mg.zeros([5, 16], { dtype: 'float64' }).uniform_(-0.25, 0.25);
    const b = mg.zeros([5], { dtype: 'float64' }).uniform_(-0.25, 0.25);
    assertClose(lin.weight, w, 1e-15, 1e-14);
    assertClose(lin.bias as mg.Tensor, b, 1e-15, 1e-14);
  });

  it('computes x·Wᵀ + b', () => {
    const lin = new nn.Linear(2, 2, { dtype: 'float64' });
    lin.loadStateDict({ weight: t64([[1, 2], [3, 4]]), bias: t64([0.5, -1]) });
    assert.deepEqual(lin.forward(t64([[1, 1], [2, 0]])).tolist(), [[3.5, 6], [2.5, 5]]);
    assert.deepEqual(lin.forward(t64([1, -1])).tolist(), [-0.5, -2]);
    assert.throws(() => lin.forward(t64([[1, 2, 3]])), /linear: input of shape \[1, 3\] has 3 features, weight of shape \[2, 2\] expects 2/);
  });
});

describe('nn.Module state and modes', () => {
  it('round-trips a state dict (save → modify → load → equal)', () => {
    const net = new Net();
    const sd = net.stateDict();
    assert.deepEqual(Object.keys(sd), [
      'scale', 'running', 'enc.weight', 'enc.bias', 'heads.0.weight', 'heads.0.bias', 'heads.1.weight', 'heads.1.bias',
    ]);
    assert.ok(Object.values(sd).every((t) => !t.requiresGrad), 'detached');
    const saved = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.clone()]));
    const x = t64([[0.3, -0.7]]);
    const before = net.forward(x).tolist();
    mg.noGrad(() => {
      for (const p of net.parameters()) p.add_(1);
      net.running.fill_(7);
    });
    assert.notDeepEqual(net.forward(x).tolist(), before);
    const weightObj = net.enc.weight;
    const res = net.loadStateDict(saved);
    assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(net.forward(x).tolist(), before);
    assert.deepEqual(net.running.tolist(), [0, 0, 0]);
    assert.equal(net.enc.weight, weightObj, 'loaded in place');
  });

  it('reports missing, unexpected and mis-shaped entries, and loads nothing on error', () => {
    const lin = new nn.Linear(3, 2, { dtype: 'float64' });
    const w = lin.weight.tolist();
    assert.throws(
      () => lin.loadStateDict({ weight: mg.zeros([2, 3], { dtype: 'float64' }), extra: mg.zeros([1]) }),
      (e: Error) => e instanceof RangeError && /unexpected key\(s\): 'extra'/.test(e.message) && /missing key\(s\): 'bias'/.test(e.message),
    );
    assert.deepEqual(lin.weight.tolist(), w, 'nothing copied');
    assert.throws(
      () => lin.loadStateDict({ weight: mg.zeros([3, 2]), bias: mg.zeros([2]) }),
      /size mismatch for 'weight': copying a tensor of shape \[3, 2\] from the state dict, the shape in the current module is \[2, 3\]/,
    );
    assert.throws(() => lin.loadStateDict({ weight: [[1]] as unknown as mg.Tensor }), TypeError);
    assert.throws(() => lin.loadStateDict({ weight: mg.zeros([3, 2]) }, { strict: false }), /size mismatch/);
    const res = lin.loadStateDict({ bias: t64([1, 2]), other: mg.zeros([1]) }, { strict: false });
    assert.deepEqual(res, { missingKeys: ['weight'], unexpectedKeys: ['other'] });
    assert.deepEqual((lin.bias as mg.Tensor).tolist(), [1, 2]);
  });

  it('propagates train/eval to every descendant', () => {
    const net = new Net();
    assert.ok(net.modules().every((m) => m.training));
    assert.equal(net.eval(), net);
    assert.ok(net.modules().every((m) => !m.training));
    net.train();
    assert.ok(net.modules().every((m) => m.training));
    net.heads[1].train(false);
    assert.deepEqual(net.modules().map((m) => m.training), [true, true, true, false]);
  });

  it('zeroGrad clears gradients', () => {
    const net = new Net();
    net.forward(t64([[1, 2]])).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad !== null));
    net.zeroGrad(false);
    assert.ok(net.parameters().every((p) => p.grad !== null && p.grad.data.every((v) => v === 0)));
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
  });

  it('converts dtype with to()/double()', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 1));
    const before = m.parameters().map((p) => p.tolist());
    m.double();
    assert.ok(m.parameters().every((p) => p.dtype === 'float64' && p instanceof nn.Parameter && p.requiresGrad));
    assert.deepEqual(m.parameters().map((p) => p.tolist()), before);
  });
});

describe('nn.init', () => {
  it('fills constants', () => {
    const t = mg.zeros([2, 2], { requiresGrad: true });
    assert.deepEqual(nn.init.constant_(t, 3).tolist(), [[3, 3], [3, 3]]);
    assert.deepEqual(nn.init.ones_(t).tolist(), [[1, 1], [1, 1]]);
    assert.deepEqual(nn.init.zeros_(t).tolist(), [[0, 0], [0, 0]]);
    assert.ok(t.isLeaf && t.requiresGrad);
  });

  it("uses PyTorch's gains and fans", () => {
    assert.equal(nn.init.calculateGain('relu'), Math.SQRT2);
    assert.equal(nn.init.calculateGain('tanh'), 5 / 3);
    assert.equal(nn.init.calculateGain('sigmoid'), 1);
    assert.equal(nn.init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
    assert.equal(nn.init.calculateGain('selu'), 0.75);
    assert.deepEqual(nn.init.calculateFanInAndFanOut(mg.zeros([4, 3, 2, 5])), [30, 40]);
    assert.throws(() => nn.init.calculateFanInAndFanOut(mg.zeros([3])), /fewer than 2 dimensions/);
  });

  it('kaimingUniform_ and xavierUniform_ draw U(±bound) with the documented bounds', () => {
    const w = mg.zeros([50, 8], { dtype: 'float64' });
    mg.manualSeed(1);
    nn.init.kaimingUniform_(w, { nonlinearity: 'relu' });
    mg.manualSeed(1);
    const bound = Math.SQRT2 * Math.sqrt(3 / 8);
    assertClose(w, mg.zeros([50, 8], { dtype: 'float64' }).uniform_(-bound, bound), 1e-15, 1e-14);
    nn.init.kaimingUniform_(w, { mode: 'fanOut' });
    assert.ok(w.data.every((v) => Math.abs(v) <= Math.sqrt(2) * Math.sqrt(3 / 50)));
    nn.init.xavierUniform_(w, { gain: 2 });
    const a = 2 * Math.sqrt(6 / 58);
    assert.ok(w.data.every((v) => Math.abs(v) <= a));
    assert.ok(Math.max(...w.data) > 0.9 * a, 'spans the range');
    nn.init.normal_(w, 0, 0.1);
    const mean = Array.from(w.data).reduce((s, v) => s + v, 0) / w.numel;
    assert.ok(Math.abs(mean) < 0.03);
  });
});

describe('nn.functional', () => {
  it('linear, relu, tanh, sigmoid match closed forms and have correct gradients', () => {
    const x = t64([[0.5, -1.2, 2], [0.1, 0.3, -0.4]]);
    const w = t64([[0.2, -0.1, 0.4], [1, 0.5, -0.3]]);
    const b = t64([0.05, -0.2]);
    assertClose(F.linear(x, w, b), [0.05 + 0.1 + 0.12 + 0.8, -0.2 + 0.5 - 0.6 - 0.6, 0.05 + 0.02 - 0.03 - 0.16, -0.2 + 0.1 + 0.15 + 0.12], 1e-12);
    gradcheck((a, c, d) => F.linear(a, c, d), [x, w, b]);
    assert.deepEqual(F.relu(t64([-1, 0, 2])).tolist(), [0, 0, 2]);
    assertClose(F.tanh(t64([0.3])), [Math.tanh(0.3)], 1e-15);
    assertClose(F.sigmoid(t64([0.3])), [1 / (1 + Math.exp(-0.3))], 1e-15);
  });

  it('softplus follows beta and threshold like PyTorch', () => {
    const x = t64([-2, 0.5, 3, 12]);
    const ref = (v: number, beta: number, th: number): number => (beta * v > th ? v : Math.log1p(Math.exp(beta * v)) / beta);
    assertClose(F.softplus(x), Array.from(x.data, (v) => ref(v, 1, 20)), 1e-14);
    assertClose(F.softplus(x, { beta: 2, threshold: 5 }), Array.from(x.data, (v) => ref(v, 2, 5)), 1e-14);
    assertClose(new nn.Softplus(2, 5).forward(x), Array.from(x.data, (v) => ref(v, 2, 5)), 1e-14);
    gradcheck((a) => F.softplus(a, { beta: 2, threshold: 5 }), [t64([-2, 0.5, 1.3])]);
    gradgradcheck((a) => F.softplus(a, { beta: 3 }), [t64([-0.7, 0.4])]);
  });

  it('mseLoss: mean/sum/none against hand values, gradients, and shape checks', () => {
    const a = t64([[1, 2], [3, 4]]);
    const b = t64([[0, 2.5], [5, 4]]);
    assertClose(F.mseLoss(a, b), [(1 + 0.25 + 4 + 0) / 4], 1e-15);
    assertClose(F.mseLoss(a, b, { reduction: 'sum' }), [5.25], 1e-15);
    assert.deepEqual(F.mseLoss(a, b, { reduction: 'none' }).tolist(), [[1, 0.25], [4, 0]]);
    gradcheck((x, y) => F.mseLoss(x, y), [a, b]);
    gradgradcheck((x, y) => F.mseLoss(x, y, { reduction: 'sum' }), [a, b]);
    assert.throws(() => F.mseLoss(t64([1, 2, 3]), t64([[1], [2], [3]])), /mseLoss: target of shape \[3, 1\] does not match input of shape \[3\]/);
    assertClose(F.mseLoss(t64([1, 2, 3]), t64([1])), [(0 + 1 + 4) / 3], 1e-15); // broadcasts to exactly the input shape
    assert.throws(() => F.mseLoss(a, b, { reduction: 'avg' as 'mean' }), RangeError);
  });

  it('crossEntropy equals the mean of −log softmax at the targets', () => {
    const logits = t64([[1, 2, 0.5], [-1, 0, 3], [0.2, 0.2, 0.2], [5, -2, 1]]);
    const targets = [1, 2, 0, 0];
    const rows = logits.tolist() as number[][];
    const nll = rows.map((r, i) => {
      const m = Math.max(...r);
      return -(r[targets[i]] - m - Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0)));
    });
    const mean = nll.reduce((s, v) => s + v, 0) / nll.length;
    assertClose(F.crossEntropy(logits, targets), [mean], 1e-14);
    assertClose(F.crossEntropy(logits, mg.tensor(targets)), [mean], 1e-14);
    assertClose(F.crossEntropy(logits, targets, { reduction: 'none' }), nll, 1e-14);
    assertClose(F.crossEntropy(logits, targets, { reduction: 'sum' }), [nll.reduce((s, v) => s + v, 0)], 1e-13);
    assertClose(F.crossEntropy(logits, [1, -100, 0, 0]), [(nll[0] + nll[2] + nll[3]) / 3], 1e-14);
    assertClose(F.crossEntropy(logits.index(0), 1), [nll[0]], 1e-14);
    // Probability targets: one-hot rows give the same loss.
    const onehot = t64(targets.map((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0))));
    assertClose(F.crossEntropy(logits, onehot), [mean], 1e-14);
    gradcheck((l) => F.crossEntropy(l, targets), [logits]);
    gradgradcheck((l) => F.crossEntropy(l, targets), [logits]);
    assert.throws(() => F.crossEntropy(logits, [1, 2, 3, 0]), /crossEntropy: target 2 is 3; class indices must be integers in \[0, 3\)/);
    assert.throws(() => F.crossEntropy(logits, [1, 2]), /targets of shape \[2\] do not fit logits with 3 classes; expected class indices of shape \[4\]/);
  });

  it('crossEntropy takes the class dim 1 for [N, C, d] logits', () => {
    const logits = mg.randn([2, 3, 2], { dtype: 'float64' });
    const flat = logits.permute(0, 2, 1).reshape(4, 3);
    assertClose(F.crossEntropy(logits, mg.tensor([[0, 2], [1, 1]])), F.crossEntropy(flat, [0, 2, 1, 1]), 1e-14);
    assertClose(F.crossEntropy(logits, mg.tensor([[0, 2], [1, 1]]), { reduction: 'none' }), F.crossEntropy(flat, [0, 2, 1, 1], { reduction: 'none' }), 1e-14);
  });

  it('crossEntropy gradient is softmax − onehot over N', () => {
    const logits = t64([[0.3, -0.2], [1.1, 0.4]], true);
    F.crossEntropy(logits, [0, 1]).backward();
    const sm = F.softmax(logits.detach(), 1).tolist() as number[][];
    assertClose(logits.grad as mg.Tensor, [(sm[0][0] - 1) / 2, sm[0][1] / 2, sm[1][0] / 2, (sm[1][1] - 1) / 2], 1e-15);
  });

  it('binaryCrossEntropyWithLogits matches −[t log σ + (1 − t) log(1 − σ)] and stays finite for large logits', () => {
    const x = t64([-2, -0.3, 0, 0.8, 3]);
    const t = t64([0, 1, 0.5, 1, 0.2]);
    const naive = Array.from(x.data, (v, i) => {
      const s = 1 / (1 + Math.exp(-v));
      return -(t.data[i] * Math.log(s) + (1 - t.data[i]) * Math.log(1 - s));
    });
    assertClose(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' }), naive, 1e-14);
    assertClose(F.binaryCrossEntropyWithLogits(x, t), [naive.reduce((s, v) => s + v, 0) / 5], 1e-14);
    const pw = t64([3]);
    const weighted = Array.from(x.data, (v, i) => {
      const s = 1 / (1 + Math.exp(-v));
      return -(3 * t.data[i] * Math.log(s) + (1 - t.data[i]) * Math.log(1 - s));
    });
    assertClose(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none', posWeight: pw }), weighted, 1e-14);
    assertClose(F.binaryCrossEntropyWithLogits(t64([800, -800]), t64([0, 1]), { reduction: 'none' }), [800, 800], 1e-12);
    gradcheck((a, b) => F.binaryCrossEntropyWithLogits(a, b), [x, t]);
    gradgradcheck((a) => F.binaryCrossEntropyWithLogits(a, t, { reduction: 'sum' }), [x]);
    // d/dx = σ(x) − t, also at x = 0.
    const x0 = t64([0], true);
    F.binaryCrossEntropyWithLogits(x0, t64([0.25]), { reduction: 'sum' }).backward();
    assertClose(x0.grad as mg.Tensor, [0.25], 1e-15);
  });

  it('softmax and logSoftmax work along a dim', () => {
    const x = t64([[1, 2], [3, 5]]);
    const e = [Math.exp(1) / (Math.exp(1) + Math.exp(3)), Math.exp(3) / (Math.exp(1) + Math.exp(3))];
    assertClose(F.softmax(x, 0), [e[0], Math.exp(2) / (Math.exp(2) + Math.exp(5)), e[1], Math.exp(5) / (Math.exp(2) + Math.exp(5))], 1e-15);
    assertClose(F.logSoftmax(x), (F.softmax(x).tolist() as number[][]).flat().map(Math.log), 1e-14);
  });
});

describe('makeFunctional / functionalCall', () => {
  it('the member table behind the array form follows structural changes (replaced, added and tied parameters, arrays of modules)', () => {
    class Stack extends nn.Module {
      layers: nn.Module[] = [];
      scale = 1;
      override forward(x: mg.Tensor): mg.Tensor {
        let h = x;
        for (const l of this.layers) h = (l as nn.Linear).forward(h);
        return h.mul(this.scale);
      }
    }
    const withDefault = <T>(f: () => T): T => {
      const saved = mg.getDefaultDtype();
      mg.setDefaultDtype('float64');
      try {
        return f();
      } finally {
        mg.setDefaultDtype(saved);
      }
    };
    const net = new Stack();
    const a = withDefault(() => new nn.Linear(2, 2));
    net.layers.push(a);
    const x = t64([[0.2, -0.4]]);
    const call = (): number[] => Array.from(functionalCall(net, net.parameters().map((p) => p.add(1)), x).data);
    const direct = (): number[] => {
      const saved = net.parameters().map((p) => Array.from(p.data));
      mg.noGrad(() => net.parameters().forEach((p) => p.add_(1)));
      const out = Array.from(net.forward(x).data);
      mg.noGrad(() => net.parameters().forEach((p, i) => p.copy_(mg.tensor(saved[i], { dtype: 'float64', shape: [...p.shape] }))));
      return out;
    };
    assert.deepEqual(call(), direct());
    assert.equal(net.parameterSlots(), net.parameterSlots(), 'kept while nothing changed');
    // A module pushed onto an array of modules: two more parameters.
    net.layers.push(withDefault(() => new nn.Linear(2, 3)));
    assert.equal(net.parameterSlots().params.length, 4);
    assert.deepEqual(call(), direct());
    // A parameter replaced by another Parameter.
    (net.layers[1] as nn.Linear).weight = new nn.Parameter(mg.full([3, 2], 0.5, { dtype: 'float64' }));
    assert.deepEqual(call(), direct());
    assert.throws(() => functionalCall(net, net.parameters().slice(1), x), /got 3 parameter tensors for a module with 4 parameters/);
    // A new property holding a parameter, on a key that held a number.
    (net as unknown as { scale: unknown }).scale = new nn.Parameter(t64(2));
    assert.equal(net.parameterSlots().params.length, 5);
    assert.deepEqual(call(), direct());
    // Tied weights: one tensor, two slots, both swapped.
    (net.layers[1] as nn.Linear).bias = (net.layers[1] as nn.Linear).bias;
    const l0 = net.layers[0] as nn.Linear;
    const tied = withDefault(() => new nn.Linear(2, 2));
    tied.weight = l0.weight;
    net.layers.push(tied);
    net.layers.splice(1, 1);
    const slots = net.parameterSlots();
    const w = slots.params.indexOf(l0.weight);
    assert.equal(slots.slots[w].length, 2, 'the shared weight has two slots');
    assert.deepEqual(call(), direct());
    // Everything restored after each call.
    assert.equal((net.layers[1] as nn.Linear).weight, l0.weight);
  });

  it('functionalCall with the module’s own parameters equals forward', () => {
    const net = new Net();
    const x = t64([[0.2, -0.4], [1, 0.5]]);
    assert.deepEqual(functionalCall(net, net.parameters(), [x]).tolist(), net.forward(x).tolist());
    assert.deepEqual(functionalCall(net, net.parameters(), x).tolist(), net.forward(x).tolist());
    const [fmodel, params] = makeFunctional(net);
    assert.deepEqual(fmodel(params, x).tolist(), net.forward(x).tolist());
    assert.ok(params.every((p, i) => p.isLeaf && p.requiresGrad && p !== net.parameters()[i] && p.data !== net.parameters()[i].data));
  });

  it('differentiates with respect to the passed parameters (finite differences) and restores the module', () => {
    const net = new Net();
    const own = net.parameters();
    const ownValues = own.map((p) => Array.from(p.data));
    const [fmodel, params] = makeFunctional(net);
    const x = t64([[0.2, -0.4], [1, 0.5]]);
    const loss = (...ps: mg.Tensor[]): mg.Tensor => fmodel(ps, x).square().sum();
    const grads = mg.autograd.grad(loss(...params), params);
    params.forEach((p, k) => {
      const fd = numericJacobian(loss, params, k).flat();
      assertClose(grads[k] as mg.Tensor, fd, 1e-7, 1e-5, `d loss / d ${net.namedParameters()[k][0]}`);
    });
    assert.deepEqual(net.parameters(), own, 'same tensors in the slots');
    assert.deepEqual(own.map((p) => Array.from(p.data)), ownValues, 'values unchanged');
    assert.ok(own.every((p) => p.grad === null), 'no gradient reached the module');
  });

  it('restores the parameters when forward throws', () => {
    const lin = new nn.Linear(2, 2);
    const w = lin.weight;
    assert.throws(() => functionalCall(lin, [mg.zeros([2, 2]), mg.zeros([2])], [mg.zeros([1, 3])]), /linear: input of shape/);
    assert.equal(lin.weight, w);
  });

  it('accepts named subsets, buffers and ties shared weights', () => {
    const a = new nn.Linear(2, 2, { bias: false, dtype: 'float64' });
    const m = new nn.Sequential(a, new nn.Identity(), a);
    const w = t64([[1, 0], [0, 2]]);
    const x = t64([[1, 1]]);
    assert.deepEqual(functionalCall(m, { '0.weight': w }, x).tolist(), [[1, 4]]);
    assert.deepEqual(functionalCall(m, [w], x).tolist(), [[1, 4]]);
    const b = new nn.Linear(2, 2, { bias: false, dtype: 'float64' });
    b.weight = a.weight; // two modules sharing one weight tensor
    const m2 = new nn.Sequential(a, b);
    const viaOriginal = x.matmul(w.t()).matmul(a.weight.t());
    assert.deepEqual(functionalCall(m2, { '0.weight': w }, x, { tieWeights: false }).tolist(), viaOriginal.tolist());
    assert.deepEqual(functionalCall(m2, { '0.weight': w }, x).tolist(), [[1, 4]]);
    assert.throws(() => functionalCall(m, { '0.weight': w, '2.weight': t64([[0, 0], [0, 0]]) }, x), /tied/);
    const net = new Net();
    const out = functionalCall(net, { running: t64([1, 2, 3]) }, t64([[0, 0]]));
    assert.equal(out.shape.join(), '1,2');
    assert.deepEqual(net.running.tolist(), [0, 0, 0]);
    assert.throws(() => functionalCall(net, { nope: t64([1]) }, t64([[0, 0]])), /'nope' is not a parameter or buffer of Net/);
    assert.throws(() => functionalCall(net, [t64([1])], t64([[0, 0]])), /got 1 parameter tensors for a module with 7 parameters/);
    assert.throws(() => functionalCall(net, { scale: t64([1, 2]) }, t64([[0, 0]])), /'scale' has shape \[2\], the module's has shape \[1\]/);
  });
});

describe('TorchOpt utilities', () => {
  it("moduleClone by 'reference' shares the tensors but not the module objects", () => {
    const net = new Net();
    const c = moduleClone(net, { by: 'reference' });
    assert.ok(c instanceof Net && c !== net && c.enc !== net.enc && c.heads !== net.heads);
    assert.deepEqual(c.parameters(), net.parameters());
    assert.equal(c.running, net.running);
    c.heads.push(new nn.Linear(3, 1, { dtype: 'float64' }));
    assert.equal(net.heads.length, 2, 'structure is independent');
  });

  it("moduleClone by 'copy' gives graph-connected clones: gradients reach the original", () => {
    const lin = new nn.Linear(2, 1, { dtype: 'float64' });
    const c = moduleClone(lin, { by: 'copy' });
    assert.ok(c.weight !== lin.weight && !c.weight.isLeaf && c.weight.gradFn?.name === 'CloneBackward0');
    assert.deepEqual(c.namedParameters().map(([n]) => n), ['weight', 'bias']);
    const x = t64([[1, 2], [3, -1]]);
    c.forward(x).sum().backward();
    assert.deepEqual((lin.weight.grad as mg.Tensor).tolist(), [[4, 1]]);
    assert.deepEqual((lin.bias?.grad as mg.Tensor).tolist(), [2]);
  });

  it("moduleClone by 'deepcopy' gives an independent module with detached Parameters", () => {
    const net = new Net();
    const c = moduleClone(net, { by: 'deepcopy' });
    const x = t64([[0.5, 0.1]]);
    assert.deepEqual(c.forward(x).tolist(), net.forward(x).tolist());
    assert.ok(c.parameters().every((p, i) => p instanceof nn.Parameter && p.isLeaf && p.requiresGrad && p.data !== net.parameters()[i].data));
    assert.ok(c.running !== net.running && c.running.data !== net.running.data);
    c.forward(x).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad === null));
    mg.noGrad(() => c.enc.weight.add_(1));
    assert.notDeepEqual(c.enc.weight.tolist(), net.enc.weight.tolist());
  });

  it('moduleClone keeps tied weights tied', () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    b.weight = a.weight;
    for (const by of ['copy', 'deepcopy'] as const) {
      const c = moduleClone(new nn.Sequential(a, b), { by });
      assert.ok(c[0] instanceof nn.Linear && c[1] instanceof nn.Linear);
      assert.equal(c[0].weight, c[1].weight, by);
      assert.notEqual(c[0].weight, a.weight, by);
      assert.equal(c.parameters().length, 3, by);
    }
  });

  it('moduleClone of a tree replicates each tensor', () => {
    const a = t64([1, 2], true);
    const tree = { w: a, list: [a.mul(2)], n: 3 };
    const ref = moduleClone(tree);
    assert.equal(ref.w, a);
    const cp = moduleClone(tree, { by: 'copy' });
    assert.equal(cp.w.gradFn?.name, 'CloneBackward0');
    const dc = moduleClone(tree, { by: 'deepcopy' });
    assert.ok(dc.w.isLeaf && dc.w.requiresGrad && dc.list[0].isLeaf && dc.list[0].requiresGrad && dc.n === 3);
    assert.throws(() => moduleClone(tree, { by: 'shallow' as 'copy' }), /moduleClone: argument 'by'/);
  });

  it('extractStateDict / recoverStateDict restore parameters after differentiable updates', () => {
    const net = new Net();
    const orig = net.parameters();
    const state = extractStateDict(net);
    assert.ok(state instanceof ModuleState);
    assert.deepEqual(state.params.map((c) => Object.keys(c)), [['scale'], ['weight', 'bias'], ['weight', 'bias'], ['weight', 'bias']]);
    assert.deepEqual(state.buffers.map((c) => Object.keys(c)), [['running']]);
    // A MetaSGD-like step: slots now hold non-leaf tensors.
    const loss = net.forward(t64([[1, -1]])).sum();
    const grads = mg.autograd.grad(loss, orig, { createGraph: true });
    net.namedParameters().forEach(([name, p], i) => net.setParameter(name, p.sub((grads[i] as mg.Tensor).mul(0.1))));
    assert.ok(net.parameters().every((p) => !p.isLeaf));
    recoverStateDict(net, state);
    assert.deepEqual(net.parameters(), orig);
    const deep = extractStateDict(net, { by: 'deepcopy', withBuffers: false });
    assert.equal(deep.buffers.length, 0);
    assert.ok(deep.params[1].weight !== net.enc.weight && deep.params[1].weight instanceof nn.Parameter);
    assert.throws(() => recoverStateDict(new nn.Linear(2, 2), state), /the state holds parameters for 4 modules, the target has 1/);
  });

  it('stopGradient detaches in place and keeps requiresGrad', () => {
    const lin = new nn.Linear(2, 1, { dtype: 'float64' });
    const w0 = lin.weight;
    lin.weight = w0.mul(3);
    stopGradient(lin);
    assert.ok(lin.weight.isLeaf && lin.weight.requiresGrad);
    lin.forward(t64([[1, 1]])).sum().backward();
    assert.equal(w0.grad, null, 'no gradient flows past the stop');
    assert.deepEqual((lin.weight.grad as mg.Tensor).tolist(), [[1, 1]]);
    const t = t64([1], true).mul(2);
    stopGradient([t]);
    assert.ok(t.isLeaf && t.requiresGrad);
  });
});

describe('makeDot', () => {
  it('draws nodes, named leaves and one edge per graph connection', () => {
    const w = new nn.Parameter(t64([1, 2, 3]));
    const x = t64([0.5, 0.5, 0.5], true);
    const y = w.mul(x).sum();
    const dot = makeDot(y, { params: { w } });
    assert.match(dot, /^digraph \{\n/);
    for (const label of ['"MulBackward0"', '"SumBackward0"', '"AccumulateGrad"', '"w\\n(3)"', '"\\n(3)"', '"\\n()"']) {
      assert.ok(dot.includes(`label=${label}`), `label ${label} in\n${dot}`);
    }
    // Edges: Sum→y, Mul→Sum, 2× AccumulateGrad→Mul, 2× leaf→AccumulateGrad.
    assert.equal(dot.match(/ -> /g)?.length, 6);
    assert.equal(dot.match(/\[label=/g)?.length, 7);
  });

  it('names non-leaf parameters on the node that produced them (ModuleState visual contents)', () => {
    const lin = new nn.Linear(2, 1, { dtype: 'float64' });
    lin.weight = lin.weight.mul(1);
    const state = extractStateDict(lin, { enableVisual: true, visualPrefix: 'step1.' });
    const dot = makeDot(lin.forward(t64([[1, 2]])), { params: state });
    assert.ok(dot.includes('label="MulBackward0\\nstep1.weight\\n(1, 2)" fillcolor=lightblue'), dot);
    assert.ok(dot.includes('label="step1.bias\\n(1)" fillcolor=lightblue'), dot);
  });
});
