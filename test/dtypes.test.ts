/**
 * Integer and bool dtypes against PyTorch (test/fixtures/torch_dtypes.json from
 * scripts/fixtures/torch_dtypes.py): promotion of every pair of dtypes and with numbers, casts,
 * integer and bool arithmetic, comparisons, logical ops, where, reductions with indices, printing;
 * then gradients through bool masks, refusals, save/load and mg.jit with int and bool tensors.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';

interface Rec { dtype: mg.DType; shape: number[]; values: number[] }
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_dtypes.json'), 'utf8')) as {
  promote: { a: mg.DType; b: mg.DType; add: mg.DType; mul: mg.DType; div: mg.DType; gt: mg.DType; maximum: mg.DType }[];
  scalars: { a: mg.DType; addInt: mg.DType; addFloat: mg.DType; mulInt: mg.DType; sum: mg.DType; cumsum: mg.DType; argmax: mg.DType | null; exp: mg.DType; neg: mg.DType | null; abs: mg.DType | null }[];
  casts: { from: number[]; int32: Rec; int64: Rec; bool: Rec; nan_bool: Rec };
  operands: Record<'a' | 'b' | 'm' | 'n' | 'f', Rec>;
  values: Record<string, Rec>;
  repr: Record<string, string>;
};

const of = (r: Rec): mg.Tensor => mg.tensor(r.values, { dtype: r.dtype, shape: r.shape });

function sample(d: mg.DType): mg.Tensor {
  return d === 'bool' ? mg.tensor([true, false, true]) : mg.tensor([3, -2, 5], { dtype: d });
}

function assertRec(t: mg.Tensor, r: Rec, what: string): void {
  assert.equal(t.dtype, r.dtype, `${what}: dtype`);
  assert.deepEqual(t.shape, r.shape, `${what}: shape`);
  if (r.dtype === 'float32') assertClose(t, r.values, 1e-6, 1e-6, what);
  else if (r.dtype === 'float64') assertClose(t, r.values, 1e-15, 1e-15, what);
  else assert.deepEqual(Array.from(t.data), r.values, `${what}: values`);
}

describe('dtypes: promotion as in PyTorch', () => {
  it('every pair of dtypes: add, mul, div, gt, maximum', () => {
    for (const row of REF.promote) {
      const [x, y] = [sample(row.a), sample(row.b)];
      const where = `${row.a} with ${row.b}`;
      if (row.a === 'bool' && row.b === 'bool') assert.throws(() => mg.sub(x, y), /sub: subtracting bool tensors is not supported/);
      assert.equal(mg.add(x, y).dtype, row.add, `add, ${where}`);
      assert.equal(mg.mul(x, y).dtype, row.mul, `mul, ${where}`);
      assert.equal(mg.div(x, y).dtype, row.div, `div, ${where}`);
      assert.equal(mg.gt(x, y).dtype, row.gt, `gt, ${where}`);
      assert.equal(mg.maximum(x, y).dtype, row.maximum, `maximum, ${where}`);
    }
  });

  it('with numbers, and the result dtypes of sum, cumsum, argmax, exp, neg, abs', () => {
    for (const row of REF.scalars) {
      const x = sample(row.a);
      assert.equal(x.add(2).dtype, row.addInt, `${row.a} + 2`);
      assert.equal(x.add(2.5).dtype, row.addFloat, `${row.a} + 2.5`);
      assert.equal(x.mul(3).dtype, row.mulInt, `${row.a} * 3`);
      assert.equal(x.sum().dtype, row.sum, `sum of ${row.a}`);
      assert.equal(mg.cumsum(x, 0).dtype, row.cumsum, `cumsum of ${row.a}`);
      if (row.argmax !== null) assert.equal(mg.argmax(x).dtype, row.argmax, `argmax of ${row.a}`);
      assert.equal(x.exp().dtype, row.exp, `exp of ${row.a}`);
      if (row.neg !== null) assert.equal(x.neg().dtype, row.neg, `neg of ${row.a}`);
      if (row.abs !== null) assert.equal(x.abs().dtype, row.abs, `abs of ${row.a}`);
    }
  });
});

describe('dtypes: values as in PyTorch', () => {
  it('casts truncate toward zero; bool is "nonzero" (NaN included)', () => {
    const v = mg.tensor(REF.casts.from, { dtype: 'float64' });
    assertRec(v.to('int32'), REF.casts.int32, 'to int32');
    assertRec(v.long(), REF.casts.int64, 'to int64');
    assertRec(v.bool(), REF.casts.bool, 'to bool');
    assertRec(mg.tensor([Number.NaN, Number.POSITIVE_INFINITY, 0]).bool(), REF.casts.nan_bool, 'NaN, inf, 0 to bool');
    assert.ok(!Object.is(v.long().data[2], -0), 'no −0 in an integer tensor');
    // Exact round trips through float64.
    assert.deepEqual(Array.from(mg.tensor([2 ** 53 - 1, -(2 ** 53 - 1)], { dtype: 'int64' }).double().data), [2 ** 53 - 1, -(2 ** 53 - 1)]);
  });

  it('arithmetic, comparisons, logical ops, where, reductions and indices', () => {
    const env: Record<string, mg.Tensor> = {};
    for (const [k, r] of Object.entries(REF.operands)) env[k] = of(r);
    const { a, b, m, n, f } = env;
    const ours: Record<string, () => mg.Tensor> = {
      'a+b': () => a.add(b), 'a-b': () => a.sub(b), 'a*b': () => a.mul(b), 'a/b': () => a.div(b), 'a+2': () => a.add(2),
      'a*1.5': () => a.mul(1.5), '-a': () => a.neg(), 'abs(a)': () => a.abs(), 'maximum(a,b)': () => mg.maximum(a, b),
      'a**2': () => a.pow(2), 'a+f': () => a.add(f), 'a.int()+b': () => a.int().add(b),
      'a<b': () => a.lt(b), 'a==b': () => a.eq(b), 'a!=b': () => a.ne(b), 'a>=f': () => a.ge(f), 'f<=0.5': () => f.le(0.5),
      'm&n': () => m.logicalAnd(n), 'm|n': () => m.logicalOr(n), 'm^n': () => m.logicalXor(n), '~m': () => m.logicalNot(),
      'm+n': () => m.add(n), 'm*n': () => m.mul(n), 'm+1': () => m.add(1), 'm*f': () => m.mul(f),
      'where(m,a,b)': () => mg.where(m, a, b), 'where(m,f,0)': () => mg.where(m, f, 0), 'where(m,a,2.5)': () => mg.where(m, a, 2.5),
      'sum(a)': () => a.sum(), 'sum(a,1)': () => a.sum(1), 'sum(m)': () => m.sum(), 'sum(m,0)': () => m.sum(0),
      'cumsum(a,1)': () => mg.cumsum(a, 1), 'cumsum(m,1)': () => mg.cumsum(m, 1),
      'max(a,1).values': () => a.max(1).values, 'max(a,1).indices': () => a.max(1).indices,
      'min(a)': () => a.min(), 'argmax(a)': () => mg.argmax(a), 'argmin(a,0)': () => mg.argmin(a, 0),
      'argmax(f,1)': () => mg.argmax(f, 1), 'topk(f,2).indices': () => mg.topk(f, 2).indices,
      'exp(a)': () => a.exp(), 'sqrt(abs(a))': () => a.abs().sqrt(),
      'gather(f,1,idx)': () => mg.gather(f, 1, mg.tensor([[2, 0], [1, 1]], { dtype: 'int64' })),
    };
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(REF.values).sort(), 'every fixture case is checked');
    for (const [k, run] of Object.entries(ours)) assertRec(run(), REF.values[k], k);
  });

  it('prints int and bool tensors as PyTorch does', () => {
    assert.equal(mg.tensor([1, -20, 300], { dtype: 'int64' }).toString(), REF.repr['int64']);
    assert.equal(mg.tensor([[1, 2], [-3, 40]], { dtype: 'int64' }).toString(), REF.repr['int64 2d']);
    assert.equal(mg.tensor([7, -8], { dtype: 'int32' }).toString(), REF.repr['int32']);
    assert.equal(mg.tensor([true, false, true]).toString(), REF.repr['bool']);
    assert.equal(mg.tensor([[true], [false]]).toString(), REF.repr['bool 2d']);
    assert.equal(mg.tensor(5, { dtype: 'int64' }).toString(), REF.repr['int64 scalar']);
    assert.equal(mg.tensor(false).toString(), REF.repr['bool scalar']);
  });
});

describe('dtypes: creation, storage and shape ops', () => {
  it('typed arrays and booleans give their dtype; int64 is an Int64Array of numbers', () => {
    assert.equal(mg.tensor(new Int32Array([1, 2])).dtype, 'int32');
    assert.equal(mg.tensor(new Uint8Array([1, 0]), { dtype: 'bool' }).dtype, 'bool');
    assert.throws(() => mg.tensor(new Uint8Array([2])), /tensor: a Uint8Array is read as bool values, which are 0 or 1; got 2 at index 0/);
    const i = mg.tensor([1.9, -1.9], { dtype: 'int64' });
    assert.ok(i.data instanceof mg.Int64Array && i.data instanceof Float64Array);
    assert.deepEqual(i.tolist(), [1, -1]);
    assert.equal(typeof i.data[0], 'number');
    assert.deepEqual(mg.zeros(2, { dtype: 'bool' }).tolist(), [0, 0]);
    assert.deepEqual(mg.full([2], 2.7, { dtype: 'int32' }).tolist(), [2, 2]);
    assert.deepEqual(mg.arange(3, { dtype: 'int64' }).tolist(), [0, 1, 2]);
    assert.equal(mg.eye(2, { dtype: 'bool' }).toString(), 'tensor([[ True, False],\n        [False,  True]])');
  });

  it('shape and indexing ops keep the dtype', () => {
    const a = mg.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int64' });
    const m = a.gt(2);
    for (const [what, t, d] of [
      ['reshape', a.reshape(3, 2), 'int64'], ['transpose', a.t(), 'int64'], ['expand', m.unsqueeze(0).expand(2, 2, 3), 'bool'],
      ['cat', mg.cat([a, a], 0), 'int64'], ['stack', mg.stack([m, m], 0), 'bool'], ['index', a.index(1), 'int64'],
      ['indexSelect', a.indexSelect(1, [2, 0]), 'int64'], ['clone', m.clone(), 'bool'],
    ] as const) assert.equal(t.dtype, d, what);
    assert.deepEqual(a.t().tolist(), [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(m.unsqueeze(0).expand(2, 2, 3).sum().item(), 8);
    const z = mg.zeros([2, 3], { dtype: 'int32' });
    z.copy_(mg.tensor([7.9, -1.5, 3]));
    assert.deepEqual(z.tolist(), [[7, -1, 3], [7, -1, 3]]);
    z.fill_(4.6);
    assert.deepEqual(z.tolist(), [[4, 4, 4], [4, 4, 4]]);
  });
});

describe('dtypes: autograd through masks, and refusals', () => {
  it('where with a bool mask, products with masks: exact first and second derivatives', () => {
    const x = mg.tensor([-1.5, 0.5, 2], { dtype: 'float64', requiresGrad: true });
    const y = mg.where(x.gt(0), x.pow(3), x.mul(2)).add(x.mul(x.lt(1))).sum();
    const [g] = mg.autograd.grad(y, x, { createGraph: true });
    // d/dx: x > 0 ? 3x² : 2, plus [x < 1].
    assertClose(g, [2 + 1, 3 * 0.25 + 1, 12], 1e-15, 1e-15, 'gradient');
    const [gg] = mg.autograd.grad(g.sum(), x);
    assertClose(gg, [0, 6 * 0.5, 12], 1e-15, 1e-15, 'second derivative');
  });

  it('integer and bool tensors never require grad; float-only ops say how to cast', () => {
    assert.throws(() => mg.tensor([1], { dtype: 'int64', requiresGrad: true }), /only floating-point tensors can require gradients, got a tensor of dtype int64/);
    assert.throws(() => mg.tensor([true]).requiresGrad_(), /only floating-point tensors can require gradients/);
    const x = mg.tensor([0.5], { requiresGrad: true });
    assert.equal(x.to('int64').requiresGrad, false, 'a cast to an integer dtype is a constant');
    assert.equal(x.gt(0).gradFn, null);
    const i = mg.tensor([1, 2], { dtype: 'int64' });
    assert.throws(() => i.mean(), /mean: argument 'input' must be a floating-point tensor \(float32 or float64\), got int64; cast it with \.to\('float32'\)/);
    assert.throws(() => mg.matmul(i, i), /matmul: argument 'input' must be a floating-point tensor/);
    assert.throws(() => mg.softmax(i), /softmax: argument 'input' must be a floating-point tensor/);
    assert.throws(() => i.pow(-1), /pow: integers to negative integer powers are not allowed/);
    assert.throws(() => i.add_(1), /add_: in-place arithmetic needs floating-point tensors, got int64/);
    assert.throws(() => mg.randn([2], { dtype: 'int64' as mg.FloatDType }), /randn: argument 'dtype' must be 'float32' or 'float64'/);
    assert.throws(() => new mg.nn.Linear(2, 2, { dtype: 'int32' as mg.FloatDType }), /Linear: argument 'dtype' must be 'float32' or 'float64'/);
    assert.throws(() => mg.tensor([Number.NaN], { dtype: 'int64' }), /tensor: cannot convert NaN to int64/);
    assert.throws(() => mg.tensor([2 ** 31], { dtype: 'int32' }), /tensor: 2147483648 is out of range for int32/);
    assert.throws(() => mg.tensor([2 ** 60], { dtype: 'int64' }), /out of range for int64 \(metagrad holds int64 values exactly within/);
    assert.throws(() => mg.gather(mg.tensor([1, 2]), 0, mg.tensor([true, false])), /gather: argument 'index' must be an int64 or int32 tensor/);
  });
});

describe('dtypes: func.vmap and distributed payloads', () => {
  it('vmap of comparisons, masks, counts, argmax, casts and int64 class targets equals the loop', () => {
    mg.manualSeed(7);
    const f = (x: mg.Tensor, y: mg.Tensor): mg.Tensor[] => {
      const m = x.gt(0);
      return [mg.where(m, x, y).sum(), m.sum(), mg.argmax(x), m.logicalAnd(y.lt(0.5)), x.long().add(1)];
    };
    const x = mg.randn([4, 3], { dtype: 'float64' });
    const y = mg.randn([4, 3], { dtype: 'float64' });
    const v = mg.func.vmap(f)(x, y) as mg.Tensor[];
    assert.deepEqual(v.map((t) => t.dtype), ['float64', 'int64', 'int64', 'bool', 'int64']);
    for (let i = 0; i < 4; i++) {
      f(x.index(i), y.index(i)).forEach((t, k) => assert.deepEqual(v[k].index(i).tolist(), t.tolist(), `output ${k}, member ${i}`));
    }
    const logits = mg.randn([3, 5, 4], { dtype: 'float64' });
    const labels = mg.tensor([[0, 3, 1, 2, 2], [1, 1, 0, 0, 3], [2, 2, 1, 3, 2]], { dtype: 'int64' });
    const ce = mg.func.vmap((l: mg.Tensor, t: mg.Tensor) => mg.nn.functional.crossEntropy(l, t))(logits, labels) as mg.Tensor;
    assertClose(ce, [0, 1, 2].map((i) => mg.nn.functional.crossEntropy(logits.index(i), labels.index(i)).item()), 1e-15, 1e-15);
  });

  it('payloads carry int32, int64 and bool tensors', () => {
    const value = { labels: mg.tensor([1, -2, 2 ** 40], { dtype: 'int64' }), mask: mg.tensor([false, true]), n: mg.tensor([3], { dtype: 'int32' }) };
    const back = mg.distributed.decodePayload(mg.distributed.encodePayload(value)) as typeof value;
    for (const k of ['labels', 'mask', 'n'] as const) {
      assert.equal(back[k].dtype, value[k].dtype, k);
      assert.deepEqual(back[k].tolist(), value[k].tolist(), k);
    }
  });
});

describe('dtypes: save/load and mg.jit', () => {
  it('mg.save/mg.load keep int32, int64 and bool (I32, I64, BOOL)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-dtypes-'));
    try {
      const file = path.join(dir, 'm.safetensors');
      const labels = mg.tensor([3, -1, 2 ** 40], { dtype: 'int64' });
      const mask = mg.tensor([true, false]);
      const small = mg.tensor([5, 6], { dtype: 'int32' });
      mg.save({ labels, mask, small }, file);
      const back = mg.load(file);
      for (const [k, t] of Object.entries({ labels, mask, small })) {
        assert.equal(back[k].dtype, t.dtype, k);
        assert.deepEqual(back[k].tolist(), t.tolist(), k);
      }
      // A BatchNorm's num_batches_tracked is int64, as PyTorch's, and survives .to('float64').
      const bn = new mg.nn.BatchNorm1d(2).to('float64');
      assert.equal(bn.num_batches_tracked?.dtype, 'int64');
      bn.forward(mg.randn([4, 2], { dtype: 'float64' }));
      assert.equal(bn.num_batches_tracked?.item(), 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('jit replays comparisons, masks, argmax and integer outputs bit for bit', () => {
    const f = (x: mg.Tensor, y: mg.Tensor) => {
      const m = x.gt(y);
      return { z: mg.where(m, x.mul(2), y.sub(1)).sum(), m, count: m.sum(), best: mg.argmax(x, 0), idx: x.max(0).indices };
    };
    const jf = mg.jit(f);
    for (let k = 0; k < 3; k++) {
      const x = mg.randn([4, 3], { dtype: 'float64' });
      const y = mg.randn([4, 3], { dtype: 'float64' });
      const e = f(x, y);
      const j = jf(x, y);
      for (const key of ['z', 'm', 'count', 'best', 'idx'] as const) {
        assert.equal(j[key].dtype, e[key].dtype, `${key} dtype, call ${k}`);
        assert.deepEqual(Array.from(j[key].data), Array.from(e[key].data), `${key}, call ${k}`);
      }
    }
    assert.equal(jf.cacheInfo().replays, 2);
    // A float → int cast truncates: refused while recording, with the way out.
    assert.throws(() => mg.jit((x: mg.Tensor) => x.to('int64'))(mg.randn([2])), /jit: to converts float32 to int64 \(truncating or testing "nonzero"\), which a recording cannot hold/);
  });
});
