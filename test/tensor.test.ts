/**
 * Tensors: creation, dtypes and promotion, broadcasting, reading values, PyTorch-exact printing,
 * gradFn names, error messages, indexing and joining, and forward values of the native kernels
 * (sizes above the dispatch thresholds) against plain loops.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose } from './helpers/check';
import { allocate, allocateUninitialized } from '../ts/tensor/dtype';

const f64 = { dtype: 'float64' } as const;

/** Runs `fn` with the default dtype set to `dtype`, restoring it afterwards. */
function withDefaultDtype<T>(dtype: mg.FloatDType, fn: () => T): T {
  const prev = mg.getDefaultDtype();
  mg.setDefaultDtype(dtype);
  try {
    return fn();
  } finally {
    mg.setDefaultDtype(prev);
  }
}

/** Asserts that `fn` throws an error of class `cls` whose message contains every fragment. */
function throwsWith(fn: () => unknown, cls: new (...args: never[]) => Error, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

describe('tensor creation', () => {
  it('tensor() from numbers, nested arrays and typed arrays', () => {
    const s = mg.tensor(2.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.ndim, 0);
    assert.equal(s.numel, 1);
    assert.equal(s.item(), 2.5);
    const m = mg.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(m.shape, [2, 3]);
    assert.equal(m.dtype, 'float32');
    assert.ok(m.data instanceof Float32Array);
    assert.deepEqual(Array.from(m.data), [1, 2, 3, 4, 5, 6]);
    const src = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = mg.tensor(src, { shape: [3, 2] });
    assert.equal(t.dtype, 'float64', 'a Float64Array gives float64');
    assert.deepEqual(t.tolist(), [[1, 2], [3, 4], [5, 6]]);
    src[0] = 99;
    assert.equal(t.data[0], 1, 'the typed array is copied');
    assert.deepEqual(mg.tensor(new Float32Array([1, 2])).shape, [2]);
    assert.equal(mg.tensor(new Float64Array([1, 2]), { dtype: 'float32' }).dtype, 'float32');
    assert.equal(mg.tensor([1, 2], f64).dtype, 'float64');
    const r = mg.tensor([1, 2], { requiresGrad: true });
    assert.equal(r.requiresGrad, true);
    assert.equal(r.isLeaf, true);
    assert.deepEqual(mg.tensor([]).shape, [0]);
  });

  it('float32 storage rounds values', () => {
    assert.equal(mg.tensor([0.1]).data[0], Math.fround(0.1));
    assert.equal(mg.tensor([0.1], f64).data[0], 0.1);
  });

  it('zeros / ones / full / zerosLike / onesLike accept `(2, 3)` and `([2, 3], opts)`', () => {
    const a = mg.zeros(2, 3);
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(Array.from(a.data), [0, 0, 0, 0, 0, 0]);
    const b = mg.zeros([2, 3], f64);
    assert.deepEqual(b.shape, [2, 3]);
    assert.equal(b.dtype, 'float64');
    const o = mg.ones(3, f64);
    assert.deepEqual(o.tolist(), [1, 1, 1]);
    assert.equal(o.dtype, 'float64');
    assert.deepEqual(mg.ones([2, 1, 2]).shape, [2, 1, 2]);
    assert.deepEqual(mg.full([2, 2], 7).tolist(), [[7, 7], [7, 7]]);
    assert.equal(mg.full([1], 7, f64).dtype, 'float64');
    assert.deepEqual(mg.zeros().shape, [], 'no size gives a 0-d tensor');
    const like = mg.onesLike(b);
    assert.deepEqual(like.shape, [2, 3]);
    assert.equal(like.dtype, 'float64');
    assert.deepEqual(mg.zerosLike(o).tolist(), [0, 0, 0]);
    const rg = mg.zeros(2, { requiresGrad: true });
    assert.equal(rg.requiresGrad, true);
  });

  it('eye, arange and linspace give PyTorch values', () => {
    assert.deepEqual(mg.eye(3).tolist(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    assert.deepEqual(mg.eye(2, 3).tolist(), [[1, 0, 0], [0, 1, 0]]);
    assert.equal(mg.eye(2, f64).dtype, 'float64');
    assert.deepEqual(mg.arange(4).tolist(), [0, 1, 2, 3]);
    assert.deepEqual(mg.arange(2, 5).tolist(), [2, 3, 4]);
    assert.deepEqual(mg.arange(1, 2.5, 0.5).tolist(), [1, 1.5, 2]);
    assert.deepEqual(mg.arange(5, 1, -1.5).tolist(), [5, 3.5, 2]);
    assert.deepEqual(mg.arange(3, 3).shape, [0]);
    assert.equal(mg.arange(3, f64).dtype, 'float64');
    assert.deepEqual(mg.linspace(0, 1, 5).tolist(), [0, 0.25, 0.5, 0.75, 1]);
    const l = mg.linspace(-1, 2, 7, f64);
    assert.equal(l.data[6], 2, 'the last value is exactly end');
    assertClose(l, [-1, -0.5, 0, 0.5, 1, 1.5, 2], 1e-15, 0);
  });

  it('randn / rand: shapes, dtypes and ranges (PyTorch stream: manualSeed(0) → 1.5410, -0.2934, -2.1788)', () => {
    mg.manualSeed(0);
    assertClose(mg.randn(3), [1.5410, -0.2934, -2.1788], 1e-4, 0);
    const u = mg.rand([50, 20], f64);
    assert.deepEqual(u.shape, [50, 20]);
    assert.equal(u.dtype, 'float64');
    assert.ok(Array.from(u.data).every((v) => v >= 0 && v < 1));
    assert.deepEqual(mg.randn(2, 3).shape, [2, 3]);
  });

  it('the default dtype can be switched and is restored', () => {
    assert.equal(mg.getDefaultDtype(), 'float32');
    withDefaultDtype('float64', () => {
      assert.equal(mg.getDefaultDtype(), 'float64');
      assert.equal(mg.tensor([1.5]).dtype, 'float64');
      assert.equal(mg.zeros(2).dtype, 'float64');
      assert.equal(mg.arange(3).dtype, 'float64');
      assert.equal(mg.tensor([1.5], { dtype: 'float32' }).dtype, 'float32');
      assert.equal(mg.tensor([1.5]).toString(), 'tensor([1.5000])', 'no dtype suffix for the default');
      assert.equal(mg.tensor([1.5], { dtype: 'float32' }).toString(), 'tensor([1.5000], dtype=torch.float32)');
    });
    assert.equal(mg.tensor([1.5]).dtype, 'float32');
    throwsWith(() => mg.setDefaultDtype('int64' as mg.FloatDType), TypeError, 'setDefaultDtype', "'dtype'", 'float32', '"int64"');
  });
});

describe('expand', () => {
  it('repeating the whole buffer (new leading dims) and broadcasting inner dims give the element-wise definition', () => {
    const a = mg.tensor([[1, 2, 3], [4, 5, 6]]);
    for (const [src, shape] of [[a, [5, 2, 3]], [mg.tensor([[7, 8, 9]]), [2, 5, 3]], [mg.tensor([[1], [2]]), [3, 2, 4]], [a, [1, 2, 3]]] as const) {
      const out = mg.expand(src, [...shape]);
      assert.deepEqual(out.shape, shape);
      const [r, c] = [src.shape[0], src.shape[1]];
      const want = Array.from({ length: out.numel }, (_, i) => {
        const j = i % (shape[1] * shape[2]);
        const [row, col] = [Math.floor(j / shape[2]), j % shape[2]];
        return src.data[(r === 1 ? 0 : row) * c + (c === 1 ? 0 : col)];
      });
      assert.deepEqual(Array.from(out.data), want);
    }
    // Empty results: a leading 0 leaves nothing to repeat.
    assert.deepEqual(mg.expand(mg.tensor(3), [0]).shape, [0]);
    assert.deepEqual(mg.expand(a, [0, 2, 3]).shape, [0, 2, 3]);
  });
});

describe('matmul with a shared right operand', () => {
  it('[b, m, k] @ [k, n] (one stacked product) equals the per-batch products, small and large, transposed right operand too', () => {
    mg.manualSeed(7);
    for (const [b, m, k, n] of [[3, 2, 4, 5], [16, 10, 40, 40]]) {
      const a = mg.randn([b, m, k], { dtype: 'float64' });
      const w = mg.randn([k, n], { dtype: 'float64' });
      const out = mg.matmul(a, w);
      // The gradient with respect to a is g·wᵀ: the stacked product with a transposed right operand.
      const ar = a.detach().requiresGrad_(true);
      const R = mg.randn([b, m, n], { dtype: 'float64' });
      const [ga] = mg.autograd.grad(mg.sum(mg.mul(mg.matmul(ar, w), R)), [ar]);
      for (let i = 0; i < b; i++) {
        assertClose(out.select(0, i), mg.matmul(a.select(0, i), w), 1e-12);
        assertClose(ga.select(0, i), mg.matmul(R.select(0, i), mg.t(w)), 1e-12);
      }
    }
  });
});

describe('buffers', () => {
  it('small buffers are zeroed, aligned, and never overlap one another, across slabs', () => {
    const seen = new Map<ArrayBufferLike, [number, number][]>();
    for (let i = 0; i < 2000; i++) {
      const dt = i % 3 === 0 ? 'float64' : 'float32';
      const n = 1 + ((i * 37) % 300);
      const a = i % 2 ? allocate(dt, n) : allocateUninitialized(dt, n);
      assert.equal(a.length, n);
      assert.equal(a instanceof Float64Array, dt === 'float64');
      if (i % 2) assert.ok(a.every((v) => v === 0), `allocate(${dt}, ${n}) is not zeroed`);
      assert.equal(a.byteOffset % 32, 0);
      a.fill(i + 1); // a later range that overlapped this one would then not be zero
      const ranges = seen.get(a.buffer) ?? [];
      for (const [lo, hi] of ranges) assert.ok(a.byteOffset >= hi || a.byteOffset + a.byteLength <= lo, 'ranges overlap');
      ranges.push([a.byteOffset, a.byteOffset + a.byteLength]);
      seen.set(a.buffer, ranges);
    }
    assert.ok(seen.size > 10, 'more than one slab was used');
  });
});

describe('dtypes, promotion and broadcasting', () => {
  it('float32 with float64 promotes to float64; numbers keep the tensor dtype', () => {
    const a = mg.tensor([1, 2], { dtype: 'float32' });
    const b = mg.tensor([0.5, 0.25], f64);
    for (const r of [a.add(b), b.sub(a), a.mul(b), a.div(b), a.pow(b), mg.maximum(a, b), mg.where(mg.tensor([1, 0]), a, b)]) {
      assert.equal(r.dtype, 'float64');
    }
    assert.equal(a.add(0.1).dtype, 'float32');
    assert.equal(mg.add(0.1, b).dtype, 'float64');
    assert.equal(a.add(0.1).data[0], Math.fround(1.1));
    assert.equal(mg.cat([a, b]).dtype, 'float64');
    assert.equal(a.matmul(b).dtype, 'float64');
    assert.equal(a.to('float64').dtype, 'float64');
    assert.equal(b.float().dtype, 'float32');
    assert.equal(a.double().dtype, 'float64');
    assert.equal(a.to('float32'), a, 'same dtype returns the tensor itself');
  });

  it('broadcasting forward values: [3,1] with [4], 0-d, leading dims', () => {
    const a = mg.tensor([[1], [2], [3]]);
    const b = mg.tensor([10, 20, 30, 40]);
    assert.deepEqual(a.add(b).tolist(), [[11, 21, 31, 41], [12, 22, 32, 42], [13, 23, 33, 43]]);
    assert.deepEqual(b.sub(a).tolist(), [[9, 19, 29, 39], [8, 18, 28, 38], [7, 17, 27, 37]]);
    assert.deepEqual(a.mul(b).shape, [3, 4]);
    assert.deepEqual(mg.tensor(2).mul(b).tolist(), [20, 40, 60, 80]);
    assert.deepEqual(mg.sub(100, b).tolist(), [90, 80, 70, 60]);
    assert.deepEqual(mg.div(b, 10).tolist(), [1, 2, 3, 4]);
    const c = mg.ones(2, 1, 3).add(mg.tensor([[1], [2]]));
    assert.deepEqual(c.shape, [2, 2, 3]);
    assert.deepEqual(c.tolist(), [[[2, 2, 2], [3, 3, 3]], [[2, 2, 2], [3, 3, 3]]]);
    assert.deepEqual(a.expand(3, 2).tolist(), [[1, 1], [2, 2], [3, 3]]);
    assert.deepEqual(mg.where(mg.tensor([1, 0, 1, 0]), b, a).tolist(), [[10, 1, 30, 1], [10, 2, 30, 2], [10, 3, 30, 3]]);
    assert.deepEqual(mg.tensor([1, 5, 3]).clamp(2, 4).tolist(), [2, 4, 3]);
    assert.deepEqual(mg.tensor([[1, 5, 3]]).maximum(mg.tensor([[2], [4]])).tolist(), [[2, 5, 3], [4, 5, 4]]);
  });

  it('item and tolist', () => {
    assert.equal(mg.tensor([[4.5]]).item(), 4.5);
    assert.equal(mg.tensor(3, f64).tolist(), 3);
    assert.deepEqual(mg.arange(6).reshape(2, 1, 3).tolist(), [[[0, 1, 2]], [[3, 4, 5]]]);
    throwsWith(() => mg.zeros(2, 3).item(), RangeError, 'item', '6 elements', '[2, 3]');
  });
});

describe('printing matches PyTorch', () => {
  const cases: [string, () => mg.Tensor, string][] = [
    ['integers', () => mg.tensor([1, 2, 3]), 'tensor([1., 2., 3.])'],
    ['float32 with padding', () => mg.tensor([[-0.0369, 0.0248]]), 'tensor([[-0.0369,  0.0248]])'],
    ['0-d', () => mg.tensor(3), 'tensor(3.)'],
    ['fixed point', () => mg.tensor([0.5, 1.25]), 'tensor([0.5000, 1.2500])'],
    ['scientific', () => mg.tensor([1e-5, 1]), 'tensor([1.0000e-05, 1.0000e+00])'],
    ['requires_grad', () => mg.tensor([1, 2], { requiresGrad: true }), 'tensor([1., 2.], requires_grad=True)'],
    ['full sum', () => mg.tensor([1, 2], { requiresGrad: true }).sum(), 'tensor(3., grad_fn=<SumBackward0>)'],
    ['sum over a dim', () => mg.tensor([1, 2], { requiresGrad: true }).sum(0), 'tensor(3., grad_fn=<SumBackward1>)'],
    ['dtype suffix', () => mg.tensor([1, 2], f64), 'tensor([1., 2.], dtype=torch.float64)'],
    ['dtype then requires_grad', () => mg.tensor([0.5], { dtype: 'float64', requiresGrad: true }), 'tensor([0.5000], dtype=torch.float64, requires_grad=True)'],
    ['2-d', () => mg.tensor([[1, -2], [3, 4]]), 'tensor([[ 1., -2.],\n        [ 3.,  4.]])'],
    ['3-d blank lines', () => mg.arange(4).reshape(2, 1, 2), 'tensor([[[0., 1.]],\n\n        [[2., 3.]]])'],
    ['nan and inf do not widen', () => mg.tensor([1, NaN, -Infinity]), 'tensor([1., nan, -inf])'],
    ['nan padded to the width', () => mg.tensor([1.5, NaN, Infinity]), 'tensor([1.5000,    nan,    inf])'],
    ['0-d inf', () => mg.tensor(-Infinity), 'tensor(-inf)'],
    ['exact ties round half to even', () => mg.tensor([0.03125, -0.09375, 1.5]), 'tensor([ 0.0312, -0.0938,  1.5000])'],
    ['negative zero', () => mg.tensor([-0, 1]), 'tensor([-0., 1.])'],
    ['large integers', () => mg.tensor([123456789, 1]), 'tensor([1.2346e+08, 1.0000e+00])'],
    ['zeros', () => mg.zeros(2, 2), 'tensor([[0., 0.],\n        [0., 0.]])'],
    ['empty 1-d', () => mg.zeros(0), 'tensor([])'],
    ['empty 2-d shows size', () => mg.zeros(0, 3), 'tensor([], size=(0, 3))'],
    ['empty float64', () => mg.zeros([2, 0], f64), 'tensor([], size=(2, 0), dtype=torch.float64)'],
    [
      'long rows wrap at 80 columns',
      () => mg.arange(12).mul(0.5),
      'tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000, 2.5000, 3.0000, 3.5000, 4.0000,\n        4.5000, 5.0000, 5.5000])',
    ],
    [
      'a suffix that passes 80 columns moves to its own line',
      () => mg.arange(9, f64).mul(0.125),
      'tensor([0.0000, 0.1250, 0.2500, 0.3750, 0.5000, 0.6250, 0.7500, 0.8750, 1.0000],\n       dtype=torch.float64)',
    ],
    [
      'more than 1000 elements are summarised',
      () => mg.arange(2000).reshape(2, 1000),
      'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9700e+02, 9.9800e+02,\n         9.9900e+02],\n' +
        '        [1.0000e+03, 1.0010e+03, 1.0020e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])',
    ],
    ['summarised 1-d', () => mg.arange(1001).add(10), 'tensor([  10.,   11.,   12.,  ..., 1008., 1009., 1010.])'],
    ['a max/min ratio over 1000 switches to scientific', () => mg.arange(1001).add(1), 'tensor([1.0000e+00, 2.0000e+00, 3.0000e+00,  ..., 9.9900e+02, 1.0000e+03,\n        1.0010e+03])'],
  ];
  for (const [name, make, expected] of cases) {
    it(name, () => assert.equal(make().toString(), expected));
  }

  it('util.inspect uses the same representation', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { inspect } = require('node:util') as typeof import('node:util');
    assert.equal(inspect(mg.tensor([1, 2])), 'tensor([1., 2.])');
  });

  it('gradFn names are PyTorch\'s', () => {
    const x = mg.tensor([[0.5, 1.5], [2.5, 3.5]], { requiresGrad: true });
    const v = mg.tensor([0.5, 1.5], { requiresGrad: true });
    const b = mg.tensor([[1, 2, 3]], { requiresGrad: true }).reshape(1, 1, 3);
    const names: [string, mg.Tensor][] = [
      ['AddBackward0', x.add(x)], ['AddBackward0', x.add(1)], ['SubBackward0', x.sub(x)], ['MulBackward0', x.mul(2)],
      ['DivBackward0', x.div(x)], ['PowBackward0', x.pow(2)], ['PowBackward1', x.pow(x)], ['PowBackward2', mg.pow(2, x)],
      ['NegBackward0', x.neg()], ['PowBackward0', x.square()], ['SqrtBackward0', x.sqrt()], ['ExpBackward0', x.exp()],
      ['LogBackward0', x.log()], ['Log1PBackward0', x.log1p()], ['Expm1Backward0', x.expm1()], ['AbsBackward0', x.abs()],
      ['TanhBackward0', x.tanh()], ['SigmoidBackward0', x.sigmoid()], ['ReluBackward0', x.relu()],
      ['SoftplusBackward0', x.softplus()], ['SinBackward0', x.sin()], ['CosBackward0', x.cos()],
      ['ReciprocalBackward0', x.reciprocal()], ['MaximumBackward0', x.maximum(x)], ['MinimumBackward0', x.minimum(x)],
      ['ClampBackward1', x.clamp(0, 1)], ['ClampMinBackward0', x.clamp(0)], ['ClampMaxBackward0', x.clamp(undefined, 1)],
      ['WhereBackward0', mg.where(mg.tensor([1, 0]), x, 0)], ['SumBackward0', x.sum()], ['SumBackward1', x.sum(1)],
      ['MeanBackward0', x.mean()], ['MeanBackward1', x.mean(0)], ['MaxBackward1', x.max()], ['MaxBackward0', x.max(0).values],
      ['MinBackward1', x.min()], ['MinBackward0', x.min(1).values], ['LogsumexpBackward0', x.logsumexp(1)],
      ['ViewBackward0', x.reshape(4)], ['ViewBackward0', x.view(-1)], ['ViewBackward0', x.flatten()],
      ['PermuteBackward0', x.permute(1, 0)], ['TransposeBackward0', x.transpose(0, 1)], ['TBackward0', x.t()],
      ['UnsqueezeBackward0', x.unsqueeze(0)], ['SqueezeBackward0', b.squeeze()], ['SqueezeBackward1', b.squeeze(0)],
      ['ExpandBackward0', v.expand(3, 2)], ['CatBackward0', mg.cat([x, x])], ['StackBackward0', mg.stack([x, x])],
      ['SliceBackward0', x.narrow(0, 0, 1)], ['SliceBackward0', x.slice(1)], ['SelectBackward0', x.select(1, 0)],
      ['SelectBackward0', x.index(0)], ['IndexSelectBackward0', x.indexSelect(0, [1])], ['MmBackward0', x.matmul(x)],
      ['DotBackward0', v.matmul(v)], ['MvBackward0', x.matmul(v)], ['BmmBackward0', x.expand(3, 2, 2).matmul(x.expand(3, 2, 2))],
      ['SoftmaxBackward0', x.softmax(-1)], ['SoftmaxBackward0', x.softmax(0)], ['LogSoftmaxBackward0', x.logSoftmax(0)],
      ['ToCopyBackward0', x.to('float64')], ['CloneBackward0', x.clone()],
    ];
    for (const [name, t] of names) assert.equal(t.gradFn?.name, name);
  });
});

describe('error messages name the function, argument, expectation and value', () => {
  it('matmul shape mismatch', () => {
    throwsWith(() => mg.matmul(mg.zeros(2, 3), mg.zeros(4, 5)), RangeError, 'matmul: shapes [2, 3] and [4, 5] are not compatible (3 != 4)');
    assert.throws(() => mg.zeros(2, 3).matmul(mg.zeros(4, 5)), { name: 'RangeError', message: 'matmul: shapes [2, 3] and [4, 5] are not compatible (3 != 4)' });
    throwsWith(() => mg.matmul(mg.zeros(3), mg.zeros(4)), RangeError, 'matmul', '[3]', '[4]');
    throwsWith(() => mg.matmul(mg.zeros(2, 2, 3), mg.zeros(3, 3, 2)), RangeError, 'matmul', '[2, 2, 3]', '[3, 3, 2]');
    throwsWith(() => mg.matmul(mg.tensor(1), mg.zeros(2)), RangeError, 'matmul', '[]');
  });

  it('broadcast failures name both shapes', () => {
    throwsWith(() => mg.add(mg.zeros(2, 3), mg.zeros(4)), RangeError, 'add', '[2, 3]', '[4]');
    throwsWith(() => mg.mul(mg.zeros(5), mg.zeros(2, 3)), RangeError, 'mul', '[5]', '[2, 3]');
    throwsWith(() => mg.where(mg.zeros(2), mg.zeros(3), 1), RangeError, 'where', '[2]', '[3]');
    throwsWith(() => mg.zeros(2, 3).expand(4, 3), RangeError, 'expand', '[2, 3]', '[4, 3]');
    throwsWith(() => mg.zeros(2, 3).add_(mg.zeros(2, 2)), RangeError, 'add_', '[2, 3]', '[2, 2]');
  });

  it('bad dims', () => {
    throwsWith(() => mg.zeros(2, 3).sum(2), RangeError, 'sum', "'dim'", '[-2, 1]', 'got 2');
    throwsWith(() => mg.zeros(2, 3).mean(-3), RangeError, 'mean', "'dim'", 'got -3');
    throwsWith(() => mg.zeros(2, 3).max(5), RangeError, 'max', "'dim'", 'got 5');
    throwsWith(() => mg.zeros(2, 3).softmax(2), RangeError, 'softmax', "'dim'");
    throwsWith(() => mg.zeros(2, 3).transpose(0, 5), RangeError, 'transpose', "'dim'", 'got 5');
    throwsWith(() => mg.zeros(2, 3).unsqueeze(3), RangeError, 'unsqueeze', "'dim'", 'got 3');
    throwsWith(() => mg.zeros(2, 3).permute(0, 0), RangeError, 'permute', "'dims'", '[0, 0]');
    throwsWith(() => mg.zeros(2, 3, 4).t(), RangeError, 't:', '[2, 3, 4]');
    throwsWith(() => mg.zeros(2, 3).reshape(4, 2), RangeError, 'reshape', '[4, 2]', '[2, 3]');
    throwsWith(() => mg.zeros(2, 3).view(-1, -1), RangeError, 'only one dimension can be -1');
    throwsWith(() => mg.cat([mg.zeros(2, 3), mg.zeros(2, 4)]), RangeError, 'cat', 'tensors[1]', '[2, 4]', '[2, 3]');
    throwsWith(() => mg.stack([mg.zeros(2, 3), mg.zeros(2, 4)]), RangeError, 'stack', 'tensors[1]', '[2, 4]');
    throwsWith(() => mg.zeros(2, 3).select(1, 3), RangeError, 'select', "'index'", 'got 3');
    throwsWith(() => mg.zeros(2, 3).index(-3), RangeError, "'index'", 'got -3');
    throwsWith(() => mg.zeros(2, 3).narrow(1, 2, 2), RangeError, 'narrow', "'length'", 'got 2');
    throwsWith(() => mg.zeros(2, 3).indexSelect(1, [0, 3]), RangeError, 'indexSelect', "'index'", 'got 3');
    throwsWith(() => mg.zeros(2, 3).slice(0, 1, 0), RangeError, 'slice', "'step'", 'got 0');
    throwsWith(() => mg.zeros(2, 3).sum([1, -1]), RangeError, 'sum', "'dim'", 'distinct', '[1, -1]');
    throwsWith(() => mg.tensor(1).index(0), RangeError, 'select', '0-d');
    throwsWith(() => mg.tensor(1).slice(0, 1), RangeError, 'slice', '0-d');
    throwsWith(() => mg.cat([mg.tensor(1), mg.tensor(2)]), RangeError, 'cat', 'tensors[0]', '0-d');
  });

  it('bad argument types name the argument', () => {
    throwsWith(() => mg.add(mg.zeros(2), 'x' as unknown as number), TypeError, 'add', "'other'", 'a Tensor or a number', '"x"');
    throwsWith(() => mg.exp([1, 2] as unknown as mg.Tensor), TypeError, 'exp', "'input'", 'a Tensor', '[1, 2]');
    throwsWith(() => mg.zeros(2, 3).sum('a' as unknown as number), TypeError, 'sum', "'dim'", '"a"');
    throwsWith(() => mg.zeros(-1), TypeError, 'zeros', "'size'", '-1');
    throwsWith(() => mg.zeros([2, 1.5]), TypeError, 'zeros', "'size'", '[2, 1.5]');
    throwsWith(() => mg.tensor('abc' as unknown as number), TypeError, 'tensor', "'data'", '"abc"');
    throwsWith(() => mg.tensor([[1, 2], [3]]), TypeError, 'tensor', "'data[1]'", 'length 2', '[3]');
    throwsWith(() => mg.tensor([1], { dtype: 'int8' as mg.DType }), TypeError, 'tensor', "'dtype'", '"int8"');
    throwsWith(() => mg.tensor(new Float32Array(6), { shape: [4, 3] }), RangeError, 'tensor', "'shape'", '[4, 3]');
    throwsWith(() => mg.full([2], 'a' as unknown as number), TypeError, 'full', '"a"');
    throwsWith(() => mg.eye(-1), TypeError, 'eye', "'n'", '-1');
    throwsWith(() => mg.arange(0, 1, 0), RangeError, 'arange', "'step'", 'got 0');
    throwsWith(() => mg.cat([]), TypeError, 'cat', "'tensors'");
    throwsWith(() => mg.cat([mg.zeros(2), 3 as unknown as mg.Tensor]), TypeError, 'cat', "'tensors[1]'", 'got 3');
    throwsWith(() => mg.where(1 as unknown as mg.Tensor, mg.zeros(3), 1), TypeError, 'where', "'condition'");
    throwsWith(() => mg.zeros(2).to('int' as mg.DType), TypeError, 'to', "'dtype'", '"int"');
    throwsWith(() => mg.zeros(2, 3).reshape(1.5, 4), TypeError, 'reshape', "'shape'", '1.5');
    throwsWith(() => mg.zeros(2).clamp('a' as unknown as number), TypeError, 'clamp', "'min'", '"a"');
    throwsWith(() => mg.noGrad(3 as unknown as () => void), TypeError, 'noGrad', "'fn'");
  });
});

describe('indexing, slicing and joining values', () => {
  const m = mg.arange(12).reshape(3, 4);

  it('index / select / narrow / slice', () => {
    assert.deepEqual(m.index(1).tolist(), [4, 5, 6, 7]);
    assert.deepEqual(m.index(-1).tolist(), [8, 9, 10, 11]);
    assert.deepEqual(m.select(1, 2).tolist(), [2, 6, 10]);
    assert.deepEqual(m.narrow(1, 1, 2).tolist(), [[1, 2], [5, 6], [9, 10]]);
    assert.deepEqual(m.narrow(0, -1, 1).tolist(), [[8, 9, 10, 11]]);
    assert.deepEqual(m.slice(1).tolist(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
    assert.deepEqual(m.slice(undefined, undefined, 2, 1).tolist(), [[0, 2], [4, 6], [8, 10]]);
    assert.deepEqual(m.slice(-2, undefined, 1, -1).tolist(), [[2, 3], [6, 7], [10, 11]]);
    assert.deepEqual(mg.arange(10).slice(1, 8, 3).tolist(), [1, 4, 7]);
    assert.deepEqual(mg.arange(10).slice(5, 100).tolist(), [5, 6, 7, 8, 9], 'bounds clamp like Python');
    assert.deepEqual(mg.arange(10).slice(7, 3).shape, [0]);
    assert.deepEqual(m.indexSelect(0, [2, 0, 2]).tolist(), [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
    assert.deepEqual(m.indexSelect(1, mg.tensor([3, -4])).tolist(), [[3, 0], [7, 4], [11, 8]]);
  });

  it('shape ops keep row-major values', () => {
    assert.deepEqual(m.t().tolist(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
    assert.deepEqual(mg.arange(6).reshape(1, 2, 3).permute(2, 0, 1).tolist(), [[[0, 3]], [[1, 4]], [[2, 5]]]);
    assert.deepEqual(mg.arange(6).reshape(1, 2, 3).transpose(0, 2).shape, [3, 2, 1]);
    assert.deepEqual(m.reshape(2, -1).shape, [2, 6]);
    assert.deepEqual(m.view([-1]).shape, [12]);
    assert.deepEqual(mg.zeros(2, 3, 4).flatten(1).shape, [2, 12]);
    assert.deepEqual(mg.zeros(2, 3, 4).flatten(0, 1).shape, [6, 4]);
    assert.deepEqual(mg.zeros(3).unsqueeze(0).shape, [1, 3]);
    assert.deepEqual(mg.zeros(3).unsqueeze(-1).shape, [3, 1]);
    assert.deepEqual(mg.zeros(1, 3, 1).squeeze().shape, [3]);
    assert.deepEqual(mg.zeros(1, 3, 1).squeeze(-1).shape, [1, 3]);
    assert.deepEqual(mg.zeros(2, 3).squeeze(0).shape, [2, 3], 'a non-1 dim is kept');
    const r = m.reshape(4, 3);
    assert.equal(r.data, m.data, 'reshape is a view sharing storage');
  });

  it('cat and stack', () => {
    const a = mg.tensor([[1, 2], [3, 4]]);
    const b = mg.tensor([[5, 6]]);
    assert.deepEqual(mg.cat([a, b]).tolist(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(mg.cat([a, a.mul(10)], 1).tolist(), [[1, 2, 10, 20], [3, 4, 30, 40]]);
    assert.deepEqual(mg.cat([a, b.t().expand(2, 1)], -1).tolist(), [[1, 2, 5], [3, 4, 6]]);
    assert.deepEqual(mg.stack([a, a.neg()]).tolist(), [[[1, 2], [3, 4]], [[-1, -2], [-3, -4]]]);
    assert.deepEqual(mg.stack([a, a.neg()], 1).tolist(), [[[1, 2], [-1, -2]], [[3, 4], [-3, -4]]]);
    assert.deepEqual(mg.stack([mg.tensor([1, 2]), mg.tensor([3, 4])], -1).tolist(), [[1, 3], [2, 4]]);
  });

  it('max / min values and indices (first occurrence on ties)', () => {
    const t = mg.tensor([[1, 5, 3], [7, 2, 7]]);
    const mx = t.max(1);
    assert.deepEqual(mx.values.tolist(), [5, 7]);
    assert.deepEqual(mx.indices.tolist(), [1, 0]);
    const mn = t.min(0, true);
    assert.deepEqual(mn.values.tolist(), [[1, 2, 3]]);
    assert.deepEqual(mn.indices.tolist(), [[0, 1, 0]]);
    assert.equal(t.max().item(), 7);
    assert.equal(mg.min(t).item(), 1);
    assert.deepEqual(mg.max(t, -1, true).indices.shape, [2, 1]);
    assert.equal(mx.indices.requiresGrad, false);
  });

  it('reductions and softmax values', () => {
    const t = mg.tensor([[1, 2, 3], [4, 5, 6]], f64);
    assert.deepEqual(t.sum().tolist(), 21);
    assert.deepEqual(t.sum(0).tolist(), [5, 7, 9]);
    assert.deepEqual(t.sum(1, true).tolist(), [[6], [15]]);
    assert.deepEqual(t.sum([0, 1]).tolist(), 21);
    assert.deepEqual(t.mean(0).tolist(), [2.5, 3.5, 4.5]);
    assert.deepEqual(t.mean().tolist(), 3.5);
    assertClose(t.logsumexp(1), [3 + Math.log(1 + Math.exp(-1) + Math.exp(-2)), 6 + Math.log(1 + Math.exp(-1) + Math.exp(-2))], 1e-14, 0);
    const sm = t.softmax(1);
    const z = 1 + Math.exp(1) + Math.exp(2);
    assertClose(sm, [1 / z, Math.E / z, Math.exp(2) / z, 1 / z, Math.E / z, Math.exp(2) / z], 1e-15, 0);
    assertClose(t.softmax(0), [1, 1, 1].map(() => 1 / (1 + Math.exp(3))).concat([1, 1, 1].map(() => 1 / (1 + Math.exp(-3)))), 1e-15, 0);
    assertClose(t.logSoftmax(1), sm.log(), 1e-15, 0);
    assertClose(mg.tensor([1000, 1000], f64).softmax(0), [0.5, 0.5], 0, 0, 'stable for large inputs');
    // A 0-d tensor reduced over dim 0 (or -1) is itself, as in PyTorch.
    assert.equal(mg.tensor(2).sum(0).item(), 2);
    assert.equal(mg.tensor(2).mean(-1, true).item(), 2);
    assert.deepEqual(mg.tensor(2).sum(0).shape, []);
    assert.equal(mg.tensor(2).logsumexp(0).item(), 2);
    assert.deepEqual(mg.stack([mg.tensor(1), mg.tensor(2)]).tolist(), [1, 2]);
  });
});

describe('native kernels (above the dispatch thresholds) agree with plain loops', () => {
  before(() => mg.manualSeed(5));

  it('unary ops on 3000 elements, float64 and float32', () => {
    const fns: [string, (t: mg.Tensor) => mg.Tensor, (x: number) => number][] = [
      ['exp', (t) => t.exp(), Math.exp], ['tanh', (t) => t.tanh(), Math.tanh], ['sigmoid', (t) => t.sigmoid(), (x) => 1 / (1 + Math.exp(-x))],
      ['softplus', (t) => t.softplus(), (x) => Math.log1p(Math.exp(x))], ['sin', (t) => t.sin(), Math.sin], ['abs', (t) => t.abs(), Math.abs],
      ['relu', (t) => t.relu(), (x) => Math.max(x, 0)], ['neg', (t) => t.neg(), (x) => -x], ['square', (t) => t.square(), (x) => x * x],
      ['expm1', (t) => t.expm1(), Math.expm1],
    ];
    for (const dtype of ['float64', 'float32'] as const) {
      const x = mg.randn([3000], { dtype });
      const tol = dtype === 'float64' ? 1e-14 : 1e-6;
      for (const [name, f, ref] of fns) assertClose(f(x), Array.from(x.data, ref), tol, tol, `${name} (${dtype})`);
      const p = x.abs().add(0.1);
      assertClose(p.log(), Array.from(p.data, Math.log), tol, tol, `log (${dtype})`);
      assertClose(p.sqrt(), Array.from(p.data, Math.sqrt), tol, tol, `sqrt (${dtype})`);
      assertClose(p.log1p(), Array.from(p.data, Math.log1p), tol, tol, `log1p (${dtype})`);
      assertClose(p.reciprocal(), Array.from(p.data, (v) => 1 / v), tol, tol, `reciprocal (${dtype})`);
    }
  });

  it('binary ops with broadcasting on 3000 elements', () => {
    const a = mg.randn([60, 50], f64);
    const b = mg.randn([50], f64);
    const c = mg.rand([60, 1], f64).add(0.5);
    const out = a.mul(b).add(a.div(c)).sub(c.pow(b)).maximum(b);
    const expected: number[] = [];
    for (let i = 0; i < 60; i++) {
      for (let j = 0; j < 50; j++) {
        const av = a.data[i * 50 + j];
        const v = av * b.data[j] + av / c.data[i] - c.data[i] ** b.data[j];
        expected.push(Math.max(v, b.data[j]));
      }
    }
    assertClose(out, expected, 1e-13, 1e-13);
    assertClose(a.gt(b), Array.from(a.data, (v, k) => (v > b.data[k % 50] ? 1 : 0)), 0, 0, 'gt');
    const w = mg.where(a.gt(0), a, c);
    assertClose(w, Array.from(a.data, (v, k) => (v > 0 ? v : c.data[Math.floor(k / 50)])), 0, 0, 'where');
  });

  it('reductions over dims of a [50, 100] tensor (5000 elements)', () => {
    const x = mg.randn([50, 100], f64);
    const row = (i: number): number[] => Array.from(x.data.subarray(i * 100, (i + 1) * 100));
    const col = (j: number): number[] => Array.from({ length: 50 }, (_, i) => x.data[i * 100 + j]);
    const sum = (v: number[]): number => v.reduce((s, e) => s + e, 0);
    assertClose(x.sum(1), Array.from({ length: 50 }, (_, i) => sum(row(i))), 1e-12, 1e-12, 'sum(1)');
    assertClose(x.sum(0), Array.from({ length: 100 }, (_, j) => sum(col(j))), 1e-12, 1e-12, 'sum(0)');
    assertClose(x.sum(), sum(Array.from(x.data)), 1e-10, 1e-12, 'sum()');
    assertClose(x.mean(0), Array.from({ length: 100 }, (_, j) => sum(col(j)) / 50), 1e-12, 1e-12, 'mean(0)');
    const mx = x.max(1);
    assertClose(mx.values, Array.from({ length: 50 }, (_, i) => Math.max(...row(i))), 0, 0, 'max(1)');
    assertClose(mx.indices, Array.from({ length: 50 }, (_, i) => row(i).indexOf(Math.max(...row(i)))), 0, 0, 'argmax');
    const mn = x.min(0);
    assertClose(mn.values, Array.from({ length: 100 }, (_, j) => Math.min(...col(j))), 0, 0, 'min(0)');
    assertClose(mn.indices, Array.from({ length: 100 }, (_, j) => col(j).indexOf(Math.min(...col(j)))), 0, 0, 'argmin');
    assert.equal(x.max().item(), Math.max(...Array.from(x.data)));
    assertClose(x.logsumexp(1), Array.from({ length: 50 }, (_, i) => Math.log(sum(row(i).map(Math.exp)))), 1e-12, 1e-12, 'logsumexp');
  });

  it('softmax / logSoftmax over 2000 elements', () => {
    const x = mg.randn([40, 50], f64);
    const expected: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = Array.from(x.data.subarray(i * 50, (i + 1) * 50));
      const z = r.reduce((s, v) => s + Math.exp(v), 0);
      expected.push(...r.map((v) => Math.exp(v) / z));
    }
    assertClose(x.softmax(-1), expected, 1e-15, 1e-12, 'softmax');
    assertClose(x.logSoftmax(-1), expected.map(Math.log), 1e-12, 1e-12, 'logSoftmax');
    const xf = x.float();
    assertClose(xf.softmax(-1), expected, 1e-7, 1e-5, 'softmax float32');
  });

  it('matmul: float32, batched and transposed operands', () => {
    const a = mg.randn([4, 20, 30]);
    const b = mg.randn([30, 25]);
    const c = a.matmul(b);
    assert.deepEqual(c.shape, [4, 20, 25]);
    const ref = (bi: number, i: number, j: number): number => {
      let s = 0;
      for (let p = 0; p < 30; p++) s += a.data[bi * 600 + i * 30 + p] * b.data[p * 25 + j];
      return s;
    };
    const expected: number[] = [];
    for (let bi = 0; bi < 4; bi++) for (let i = 0; i < 20; i++) for (let j = 0; j < 25; j++) expected.push(ref(bi, i, j));
    assertClose(c, expected, 1e-4, 1e-5, 'batched float32');
    const bt = b.t();
    assertClose(a.matmul(bt.t()), c, 1e-5, 1e-6, 'transposed copy');
  });
});
