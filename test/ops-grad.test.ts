/**
 * Every differentiable op: first derivatives (gradcheck) and second derivatives (gradgradcheck)
 * against central finite differences in float64, including broadcasting and number operands, and
 * third derivatives of smooth unary ops against closed forms. Large inputs (above the native
 * dispatch thresholds) are checked with directional finite differences so both kernel paths run.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { assertClose, gradcheck, gradgradcheck, rand64 } from './helpers/check';

type Fn = (...xs: mg.Tensor[]) => mg.Tensor;

/** Uniform float64 values in [lo, hi): inputs kept away from kinks and poles. */
function unif(shape: number[], lo: number, hi: number): mg.Tensor {
  return mg.rand(shape, { dtype: 'float64' }).mul(hi - lo).add(lo);
}

/** Values with |x| in [0.2, 1.5] and random sign: away from the kink of abs/relu at 0. */
function awayFromZero(shape: number[]): mg.Tensor {
  const mag = unif(shape, 0.2, 1.5);
  const sign = mg.rand(shape, { dtype: 'float64' }).gt(0.5).mul(2).sub(1);
  return mag.mul(sign);
}

interface Case {
  name: string;
  fn: Fn;
  inputs: () => mg.Tensor[];
}

const cases: Case[] = [
  // ---- binary arithmetic, with broadcasting and number operands
  { name: 'add [3,4]+[3,4]', fn: (a, b) => a.add(b), inputs: () => [rand64([3, 4]), rand64([3, 4])] },
  { name: 'add broadcast [3,1]+[4]', fn: (a, b) => a.add(b), inputs: () => [rand64([3, 1]), rand64([4])] },
  { name: 'add with alpha', fn: (a, b) => a.add(b, -0.7), inputs: () => [rand64([2, 3]), rand64([3])] },
  { name: 'add number operand (both sides)', fn: (a) => mg.add(2.5, a.add(1.5)).mul(a), inputs: () => [rand64([5])] },
  { name: 'add 0-d + [2,3]', fn: (a, b) => mg.add(a, b), inputs: () => [rand64([]), rand64([2, 3])] },
  { name: 'sub [3,1]-[4]', fn: (a, b) => a.sub(b), inputs: () => [rand64([3, 1]), rand64([4])] },
  { name: 'sub with alpha and number', fn: (a, b) => mg.sub(1.5, a).sub(b, 2), inputs: () => [rand64([2, 2]), rand64([2, 1])] },
  { name: 'mul [3,1]*[4]', fn: (a, b) => a.mul(b), inputs: () => [rand64([3, 1]), rand64([4])] },
  { name: 'mul self and number', fn: (a) => a.mul(a).mul(-3), inputs: () => [rand64([4])] },
  { name: 'div [2,3]/[2,3]', fn: (a, b) => a.div(b), inputs: () => [rand64([2, 3]), awayFromZero([2, 3])] },
  { name: 'div broadcast [3,1]/[4]', fn: (a, b) => a.div(b), inputs: () => [rand64([3, 1]), awayFromZero([4])] },
  { name: 'div number numerator', fn: (a) => mg.div(2, a), inputs: () => [awayFromZero([5])] },
  { name: 'pow tensor^tensor', fn: (a, b) => a.pow(b), inputs: () => [unif([2, 3], 0.5, 2), rand64([2, 3])] },
  { name: 'pow broadcast [3,1]^[4]', fn: (a, b) => a.pow(b), inputs: () => [unif([3, 1], 0.5, 2), rand64([4])] },
  { name: 'pow tensor^number (negative base, integer exponent)', fn: (a) => a.pow(3), inputs: () => [rand64([6])] },
  { name: 'pow tensor^fractional number', fn: (a) => a.pow(1.7), inputs: () => [unif([5], 0.3, 2)] },
  { name: 'pow number^tensor', fn: (a) => mg.pow(1.8, a), inputs: () => [rand64([5])] },
  { name: 'maximum [3,4],[3,4]', fn: (a, b) => a.maximum(b), inputs: () => [rand64([3, 4]), rand64([3, 4])] },
  { name: 'maximum broadcast [3,1],[4]', fn: (a, b) => mg.maximum(a, b), inputs: () => [rand64([3, 1]), rand64([4])] },
  { name: 'maximum with number', fn: (a) => a.maximum(0.1), inputs: () => [awayFromZero([6])] },
  { name: 'minimum [3,1],[4]', fn: (a, b) => a.minimum(b), inputs: () => [rand64([3, 1]), rand64([4])] },
  { name: 'minimum with number', fn: (a) => mg.minimum(-0.05, a), inputs: () => [awayFromZero([6])] },
  { name: 'clamp(lo, hi)', fn: (a) => a.clamp(-0.5, 0.6), inputs: () => [awayFromZero([8]).mul(1.1)] },
  { name: 'clamp(lo)', fn: (a) => a.clamp(0.1), inputs: () => [awayFromZero([6])] },
  { name: 'clamp(undefined, hi)', fn: (a) => mg.clamp(a, undefined, -0.1), inputs: () => [awayFromZero([6])] },
  {
    name: 'where broadcast cond [3,1], a [3,4], b [4]',
    fn: (a, b) => mg.where(mg.tensor([[1], [0], [1]]), a.mul(a), b.exp()),
    inputs: () => [rand64([3, 4]), rand64([4])],
  },
  { name: 'where with number branch', fn: (a) => mg.where(a.gt(0), a.square(), 0.5), inputs: () => [awayFromZero([7])] },
  // ---- unary
  { name: 'neg', fn: (a) => a.neg().mul(a), inputs: () => [rand64([5])] },
  { name: 'square', fn: (a) => a.square(), inputs: () => [rand64([2, 3])] },
  { name: 'sqrt', fn: (a) => a.sqrt(), inputs: () => [unif([2, 3], 0.3, 3)] },
  { name: 'exp', fn: (a) => a.exp(), inputs: () => [rand64([2, 3])] },
  { name: 'log', fn: (a) => a.log(), inputs: () => [unif([2, 3], 0.3, 3)] },
  { name: 'log1p', fn: (a) => a.log1p(), inputs: () => [unif([6], -0.5, 3)] },
  { name: 'expm1', fn: (a) => a.expm1(), inputs: () => [rand64([6])] },
  { name: 'abs', fn: (a) => a.abs().mul(a), inputs: () => [awayFromZero([6])] },
  { name: 'tanh', fn: (a) => a.tanh(), inputs: () => [rand64([2, 3])] },
  { name: 'sigmoid', fn: (a) => a.sigmoid(), inputs: () => [rand64([2, 3], 0, 2)] },
  { name: 'relu', fn: (a) => a.relu().mul(a), inputs: () => [awayFromZero([8])] },
  { name: 'softplus', fn: (a) => a.softplus(), inputs: () => [rand64([6], 0, 3)] },
  { name: 'sin', fn: (a) => a.sin(), inputs: () => [rand64([6], 0, 2)] },
  { name: 'cos', fn: (a) => a.cos(), inputs: () => [rand64([6], 0, 2)] },
  { name: 'reciprocal', fn: (a) => a.reciprocal(), inputs: () => [awayFromZero([6])] },
  { name: 'sign is a constant', fn: (a) => a.sign().mul(a.square()), inputs: () => [awayFromZero([5])] },
  // ---- reductions
  { name: 'sum()', fn: (a) => a.square().sum(), inputs: () => [rand64([2, 3])] },
  { name: 'sum(1)', fn: (a) => a.square().sum(1), inputs: () => [rand64([2, 3, 2])] },
  { name: 'sum([0, 2], keepdim)', fn: (a) => a.square().sum([0, 2], true), inputs: () => [rand64([2, 3, 2])] },
  { name: 'sum(-1, keepdim) of 0-d-like', fn: (a) => a.mul(a).sum(-1, true), inputs: () => [rand64([4])] },
  { name: 'mean()', fn: (a) => a.square().mean(), inputs: () => [rand64([2, 3])] },
  { name: 'mean(0)', fn: (a) => a.square().mean(0), inputs: () => [rand64([3, 2])] },
  { name: 'mean([1, 2], keepdim)', fn: (a) => a.square().mean([1, 2], true), inputs: () => [rand64([2, 3, 2])] },
  { name: 'max() full', fn: (a) => a.max().mul(a), inputs: () => [rand64([3, 4])] },
  { name: 'min() full', fn: (a) => mg.min(a).mul(a), inputs: () => [rand64([3, 4])] },
  { name: 'max(1) values', fn: (a) => a.max(1).values.square(), inputs: () => [rand64([3, 4])] },
  { name: 'max(0, keepdim) values', fn: (a) => a.max(0, true).values.mul(a), inputs: () => [rand64([3, 4])] },
  { name: 'min(-1) values', fn: (a) => a.min(-1).values.square(), inputs: () => [rand64([2, 3, 4])] },
  { name: 'logsumexp(1)', fn: (a) => a.logsumexp(1), inputs: () => [rand64([3, 4])] },
  { name: 'logsumexp([0, 1], keepdim)', fn: (a) => mg.logsumexp(a, [0, 1], true), inputs: () => [rand64([2, 3, 2])] },
  // ---- shapes
  { name: 'reshape(2, 6)', fn: (a) => a.reshape(2, 6).square(), inputs: () => [rand64([3, 4])] },
  { name: 'reshape(-1)', fn: (a) => mg.reshape(a, -1).mul(mg.arange(12, { dtype: 'float64' })), inputs: () => [rand64([3, 4])] },
  { name: 'view([4, -1])', fn: (a) => a.view([4, -1]).square(), inputs: () => [rand64([2, 6])] },
  { name: 'flatten()', fn: (a) => a.flatten().square(), inputs: () => [rand64([2, 3, 2])] },
  { name: 'flatten(1)', fn: (a) => a.flatten(1).square(), inputs: () => [rand64([2, 3, 2])] },
  { name: 'permute(2, 0, 1)', fn: (a) => a.permute(2, 0, 1).mul(mg.arange(12, { dtype: 'float64' }).reshape(4, 1, 3)), inputs: () => [rand64([1, 3, 4])] },
  { name: 'permute([1, 0, 2])', fn: (a) => mg.permute(a, [1, 0, 2]).square(), inputs: () => [rand64([2, 3, 2])] },
  { name: 'transpose(0, 2)', fn: (a) => a.transpose(0, 2).square(), inputs: () => [rand64([2, 3, 2])] },
  { name: 't()', fn: (a, b) => a.t().mul(b), inputs: () => [rand64([2, 3]), rand64([3, 2])] },
  { name: 'unsqueeze(1)', fn: (a, b) => a.unsqueeze(1).mul(b), inputs: () => [rand64([3]), rand64([3, 2])] },
  { name: 'unsqueeze(-1)', fn: (a) => a.unsqueeze(-1).square(), inputs: () => [rand64([2, 3])] },
  { name: 'squeeze()', fn: (a) => a.squeeze().square(), inputs: () => [rand64([1, 3, 1, 2])] },
  { name: 'squeeze(2)', fn: (a) => a.squeeze(2).square(), inputs: () => [rand64([1, 3, 1, 2])] },
  { name: 'expand [3,1] -> [3,4]', fn: (a) => a.expand(3, 4).mul(mg.arange(12, { dtype: 'float64' }).reshape(3, 4)), inputs: () => [rand64([3, 1])] },
  { name: 'expand [4] -> [2,3,4]', fn: (a) => a.expand([2, 3, 4]).square(), inputs: () => [rand64([4])] },
  { name: 'expand(-1, 4)', fn: (a) => mg.expand(a, -1, 4).square(), inputs: () => [rand64([2, 1])] },
  // ---- indexing and joining
  { name: 'cat dim 0', fn: (a, b) => mg.cat([a, b.square()], 0), inputs: () => [rand64([2, 3]), rand64([1, 3])] },
  { name: 'cat dim 1', fn: (a, b) => mg.cat([a.square(), b, a], 1), inputs: () => [rand64([2, 1]), rand64([2, 3])] },
  { name: 'cat dim -1 of 3-d', fn: (a, b) => mg.cat([a, b], -1).square(), inputs: () => [rand64([2, 2, 1]), rand64([2, 2, 2])] },
  { name: 'stack dim 0', fn: (a, b) => mg.stack([a, b.square()]), inputs: () => [rand64([2, 3]), rand64([2, 3])] },
  { name: 'stack dim 1', fn: (a, b) => mg.stack([a, b, a], 1).square(), inputs: () => [rand64([2, 3]), rand64([2, 3])] },
  { name: 'stack dim -1', fn: (a, b) => mg.stack([a, b], -1).square(), inputs: () => [rand64([3]), rand64([3])] },
  { name: 'narrow(1, 1, 2)', fn: (a) => a.narrow(1, 1, 2).square(), inputs: () => [rand64([2, 4])] },
  { name: 'narrow negative start', fn: (a) => mg.narrow(a, 0, -2, 2).square(), inputs: () => [rand64([4, 2])] },
  { name: 'slice(1, 3)', fn: (a) => a.slice(1, 3).square(), inputs: () => [rand64([4, 2])] },
  { name: 'slice step 2 on dim 1', fn: (a) => a.slice(undefined, undefined, 2, 1).square(), inputs: () => [rand64([2, 5])] },
  { name: 'slice negative bounds', fn: (a) => mg.slice(a, -3, -1).square(), inputs: () => [rand64([5])] },
  { name: 'select(1, 2)', fn: (a) => a.select(1, 2).square(), inputs: () => [rand64([2, 4, 2])] },
  { name: 'select(0, -1)', fn: (a) => mg.select(a, 0, -1).square(), inputs: () => [rand64([3, 2])] },
  { name: 'index(1)', fn: (a) => a.index(1).square(), inputs: () => [rand64([3, 2])] },
  { name: 'indexSelect(0, [2, 0, 2]) with repeats', fn: (a) => a.indexSelect(0, [2, 0, 2]).square(), inputs: () => [rand64([3, 2])] },
  { name: 'indexSelect(1, tensor)', fn: (a) => mg.indexSelect(a, 1, mg.tensor([3, 1])).square(), inputs: () => [rand64([2, 4])] },
  // ---- matmul
  { name: 'matmul 1-d · 1-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([4]), rand64([4])] },
  { name: 'matmul 2-d · 1-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([3, 4]), rand64([4])] },
  { name: 'matmul 1-d · 2-d', fn: (a, b) => mg.matmul(a, b), inputs: () => [rand64([3]), rand64([3, 2])] },
  { name: 'matmul 2-d · 2-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([2, 3]), rand64([3, 4])] },
  { name: 'matmul self (A·A)', fn: (a) => a.matmul(a), inputs: () => [rand64([3, 3])] },
  { name: 'matmul batched [2,2,3]·[2,3,2]', fn: (a, b) => a.matmul(b), inputs: () => [rand64([2, 2, 3]), rand64([2, 3, 2])] },
  { name: 'matmul broadcast 2-d · 3-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([2, 3]), rand64([2, 3, 2])] },
  { name: 'matmul broadcast 3-d · 2-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([2, 2, 3]), rand64([3, 2])] },
  { name: 'matmul broadcast batch [2,1,2,3]·[3,3,2]', fn: (a, b) => a.matmul(b), inputs: () => [rand64([2, 1, 2, 3]), rand64([3, 3, 2])] },
  { name: 'matmul 1-d · 3-d', fn: (a, b) => a.matmul(b), inputs: () => [rand64([3]), rand64([2, 3, 2])] },
  // ---- softmax family
  { name: 'softmax(-1)', fn: (a) => a.softmax(-1), inputs: () => [rand64([2, 4])] },
  { name: 'softmax(0)', fn: (a) => mg.softmax(a, 0), inputs: () => [rand64([3, 2])] },
  { name: 'softmax(1) of 3-d', fn: (a) => a.softmax(1), inputs: () => [rand64([2, 3, 2])] },
  { name: 'logSoftmax(-1)', fn: (a) => a.logSoftmax(), inputs: () => [rand64([2, 4])] },
  { name: 'logSoftmax(0)', fn: (a) => mg.logSoftmax(a, 0), inputs: () => [rand64([3, 2])] },
  // ---- copies
  { name: 'clone', fn: (a) => a.clone().mul(a), inputs: () => [rand64([2, 3])] },
  { name: 'to(float64) of float64 is identity', fn: (a) => mg.to(a, 'float64').square(), inputs: () => [rand64([3])] },
];

describe('ops: first and second derivatives vs central finite differences (float64)', () => {
  before(() => mg.manualSeed(1234));

  for (const c of cases) {
    it(`${c.name}: gradcheck and gradgradcheck`, () => {
      const xs = c.inputs();
      gradcheck(c.fn, xs);
      gradgradcheck(c.fn, xs);
    });
  }
});

describe('ops: dtype conversion is differentiable', () => {
  it('to(float32) casts the gradient back to float64 and stays differentiable', () => {
    const x = mg.tensor([0.5, -1.25, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.to('float32').square().sum();
    assert.equal(y.dtype, 'float32');
    const [g] = mg.autograd.grad(y, [x], { createGraph: true }) as mg.Tensor[];
    assert.equal(g.dtype, 'float64');
    assertClose(g, [1, -2.5, 4], 1e-6, 0);
    const [gg] = mg.autograd.grad(g.mul(mg.tensor([1, 2, 3], { dtype: 'float64' })).sum(), [x]) as mg.Tensor[];
    assertClose(gg, [2, 4, 6], 1e-6, 0);
  });

  it('mixed float32/float64 operands promote, and each gradient keeps its input dtype', () => {
    const a = mg.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    const b = mg.tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    const y = a.mul(b);
    assert.equal(y.dtype, 'float64');
    y.sum().backward();
    assert.equal(a.grad?.dtype, 'float32');
    assert.equal(b.grad?.dtype, 'float64');
    assertClose(a.grad as mg.Tensor, [3, 4], 0, 0);
    assertClose(b.grad as mg.Tensor, [1, 2], 0, 0);
  });
});

describe('ops: gradients at kinks and ties follow PyTorch', () => {
  const gradOf = (f: (x: mg.Tensor) => mg.Tensor, values: number[]): number[] => {
    const x = mg.tensor(values, { dtype: 'float64', requiresGrad: true });
    const [g] = mg.autograd.grad(f(x).sum(), [x]) as mg.Tensor[];
    return Array.from(g.data);
  };

  it('relu and abs have gradient 0 at 0', () => {
    assert.deepEqual(gradOf((x) => x.relu(), [-1, 0, 2]), [0, 0, 1]);
    assert.deepEqual(gradOf((x) => x.abs(), [-1, 0, 2]), [-1, 0, 1]);
  });

  it('max()/min() over everything share the gradient evenly among ties; max(dim) sends it to the returned index', () => {
    assert.deepEqual(gradOf((x) => x.max(), [1, 3, 3, 2]), [0, 0.5, 0.5, 0]);
    assert.deepEqual(gradOf((x) => x.min(), [1, 3, 1, 1]), [1 / 3, 0, 1 / 3, 1 / 3]);
    assert.deepEqual(gradOf((x) => x.reshape(2, 2).max(1).values, [3, 3, 1, 2]), [1, 0, 0, 1]);
  });

  it('maximum/minimum split ties in half; clamp passes the gradient at its bounds', () => {
    const x = mg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = mg.tensor([1, 1, 4], { dtype: 'float64', requiresGrad: true });
    const [gx, gy] = mg.autograd.grad(x.maximum(y).sum(), [x, y]) as mg.Tensor[];
    assert.deepEqual(Array.from(gx.data), [0.5, 1, 0]);
    assert.deepEqual(Array.from(gy.data), [0.5, 0, 1]);
    assert.deepEqual(gradOf((t) => t.clamp(0, 1), [-0.5, 0, 0.5, 1, 1.5]), [0, 1, 1, 1, 0]);
    assert.deepEqual(gradOf((t) => t.clamp(0), [-0.5, 0, 0.5]), [0, 1, 1]);
    assert.deepEqual(gradOf((t) => t.clamp(undefined, 1), [0.5, 1, 1.5]), [1, 1, 0]);
  });

  it('pow: the exponent gradient is 0 where the base is 0', () => {
    const b = mg.tensor([0, 2], { dtype: 'float64', requiresGrad: true });
    const e = mg.tensor([2, 3], { dtype: 'float64', requiresGrad: true });
    const [gb, ge] = mg.autograd.grad(b.pow(e).sum(), [b, e]) as mg.Tensor[];
    assertClose(gb, [0, 12], 0, 0);
    assertClose(ge, [0, 8 * Math.log(2)], 1e-15, 0);
  });
});

describe('ops: third derivatives match closed forms', () => {
  const points = [-1.3, -0.4, 0, 0.35, 1.7];

  function third(f: (x: mg.Tensor) => mg.Tensor, x0: number): number {
    const x = mg.tensor(x0, { dtype: 'float64', requiresGrad: true });
    const [d1] = mg.autograd.grad(f(x), [x], { createGraph: true }) as mg.Tensor[];
    const [d2] = mg.autograd.grad(d1, [x], { createGraph: true }) as mg.Tensor[];
    const [d3] = mg.autograd.grad(d2, [x], { createGraph: true }) as mg.Tensor[];
    return d3.item();
  }

  const forms: [string, (x: mg.Tensor) => mg.Tensor, (x: number) => number, (x: number) => boolean][] = [
    ['tanh', (x) => x.tanh(), (x) => { const t = Math.tanh(x); return -2 * (1 - t * t) * (1 - 3 * t * t); }, () => true],
    ['sigmoid', (x) => x.sigmoid(), (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s) * (1 - 6 * s + 6 * s * s); }, () => true],
    ['exp', (x) => x.exp(), Math.exp, () => true],
    ['sin', (x) => x.sin(), (x) => -Math.cos(x), () => true],
    ['cos', (x) => x.cos(), Math.sin, () => true],
    ['softplus', (x) => x.softplus(), (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s) * (1 - 2 * s); }, () => true],
    ['log', (x) => x.log(), (x) => 2 / x ** 3, (x) => x > 0],
    ['sqrt', (x) => x.sqrt(), (x) => (3 / 8) * x ** -2.5, (x) => x > 0],
    ['reciprocal', (x) => x.reciprocal(), (x) => -6 / x ** 4, (x) => x !== 0],
    ['pow(·, 4)', (x) => x.pow(4), (x) => 24 * x, () => true],
    ['expm1', (x) => x.expm1(), Math.exp, () => true],
    ['log1p', (x) => x.log1p(), (x) => 2 / (1 + x) ** 3, (x) => x > -1],
    ['x·x·x via mul', (x) => x.mul(x).mul(x), () => 6, () => true],
    ['logSoftmax of [x, 0] (first entry)', (x) => mg.stack([x, x.mul(0)]).logSoftmax().index(0), (x) => { const s = 1 / (1 + Math.exp(-x)); return -s * (1 - s) * (1 - 2 * s); }, () => true],
  ];

  for (const [name, f, closed, domain] of forms) {
    it(`${name}'''`, () => {
      for (const x0 of points.filter(domain)) {
        assertClose(third(f, x0), closed(x0), 1e-10, 1e-9, `${name}'''(${x0})`);
      }
    });
  }
});

/**
 * Directional check for large inputs: <v, J u> by central differences against <J^T v, u> from
 * autograd, and the derivative of <J^T v, w> along u (second order) the same way.
 */
function directionalCheck(fn: Fn, inputs: mg.Tensor[], eps = 1e-5): void {
  const out = mg.noGrad(() => fn(...inputs));
  const v = mg.randn(out.shape, { dtype: 'float64' });
  const us = inputs.map((x) => mg.randn(x.shape, { dtype: 'float64' }));
  const ws = inputs.map((x) => mg.randn(x.shape, { dtype: 'float64' }));
  const shifted = (s: number): mg.Tensor[] => inputs.map((x, i) => x.add(us[i].mul(s)));
  const dot = (a: mg.Tensor, b: mg.Tensor): number => a.mul(b).sum().item();
  const vjpAt = (xs: mg.Tensor[], createGraph: boolean): [mg.Tensor[], mg.Tensor[]] => {
    const leaves = xs.map((x) => x.detach().requiresGrad_(true));
    const gs = mg.autograd.grad(fn(...leaves), leaves, { gradOutputs: v, createGraph, allowUnused: true, materializeGrads: true }) as mg.Tensor[];
    return [leaves, gs];
  };
  // First order.
  const [, gs] = vjpAt(inputs, false);
  const analytic1 = gs.reduce((s, g, i) => s + dot(g, us[i]), 0);
  const numeric1 = (dot(mg.noGrad(() => fn(...shifted(eps))), v) - dot(mg.noGrad(() => fn(...shifted(-eps))), v)) / (2 * eps);
  assertClose(analytic1, numeric1, 1e-6, 1e-6, 'first-order directional derivative');
  // Second order.
  const [leaves, gs2] = vjpAt(inputs, true);
  const inner = gs2.reduce((s: mg.Tensor | null, g, i) => (s === null ? g.mul(ws[i]).sum() : s.add(g.mul(ws[i]).sum())), null) as mg.Tensor;
  const hs = mg.autograd.grad(inner, leaves, { allowUnused: true, materializeGrads: true }) as mg.Tensor[];
  const analytic2 = hs.reduce((s, h, i) => s + dot(h, us[i]), 0);
  const innerAt = (xs: mg.Tensor[]): number => {
    const [, g] = vjpAt(xs, false);
    return g.reduce((s, gi, i) => s + dot(gi, ws[i]), 0);
  };
  const numeric2 = (innerAt(shifted(eps)) - innerAt(shifted(-eps))) / (2 * eps);
  assertClose(analytic2, numeric2, 1e-5, 1e-5, 'second-order directional derivative');
}

describe('ops above the native dispatch thresholds (both kernel paths)', () => {
  before(() => mg.manualSeed(99));

  it('unary kernels (tanh, exp, sigmoid, softplus, log, sqrt) on 3000 elements', () => {
    const x = unif([3000], 0.2, 2);
    directionalCheck((a) => a.tanh().add(a.exp().mul(0.1)).add(a.sigmoid()).add(a.softplus()).add(a.log()).add(a.sqrt()), [x]);
    // The closed form of the elementwise derivative is an independent answer too.
    const xr = x.detach().requiresGrad_(true);
    xr.tanh().sum().backward();
    const t = Array.from(x.data, (v) => 1 - Math.tanh(v) ** 2);
    assertClose(xr.grad as mg.Tensor, t, 1e-12, 1e-10, 'tanh gradient');
  });

  it('binary kernels with broadcasting ([60,50] op [50] and [60,1]) on 3000 elements', () => {
    directionalCheck((a, b, c) => a.mul(b).add(a.div(c)).sub(b.pow(2)).maximum(c.mul(0.01)), [rand64([60, 50]), rand64([50]), unif([60, 1], 0.5, 2)]);
  });

  it('reductions (sum/mean/max/logsumexp over dims) on 5000 elements', () => {
    directionalCheck((a) => mg.cat([
      a.square().sum(1),
      a.mean(0).square(),
      a.max(1).values,
      a.logsumexp(0),
      a.sum().reshape(1),
      a.max().reshape(1),
    ]), [rand64([50, 100])]);
  });

  it('softmax and logSoftmax on 2000 elements', () => {
    directionalCheck((a) => a.softmax(-1).mul(a).add(a.logSoftmax(0)), [rand64([40, 50])]);
  });

  it('matmul (m·k·n ≥ 4096), batched and broadcast', () => {
    directionalCheck((a, b) => a.matmul(b).tanh(), [rand64([20, 16]), rand64([16, 24])]);
    directionalCheck((a, b) => a.matmul(b), [rand64([3, 16, 12]), rand64([12, 20])]);
  });

  it('large matmul agrees with a plain triple loop', () => {
    const a = rand64([33, 40]);
    const b = rand64([40, 35]);
    const c = a.matmul(b);
    const expected: number[] = [];
    for (let i = 0; i < 33; i++) {
      for (let j = 0; j < 35; j++) {
        let s = 0;
        for (let p = 0; p < 40; p++) s += a.data[i * 40 + p] * b.data[p * 35 + j];
        expected.push(s);
      }
    }
    assertClose(c, expected, 1e-12, 1e-12, 'matmul');
  });
});

describe('ops: fused activation backwards (one kernel each) stay exact to second order', () => {
  // 4096 elements: the native kernels (the JS loops are checked against them in kernel-paths).
  const n = 4096;
  const x0 = Array.from({ length: n }, (_, i) => -3 + (6 * i) / (n - 1));
  const x = (): mg.Tensor => mg.tensor(x0, { dtype: 'float64', requiresGrad: true });
  const cases: [string, (t: mg.Tensor) => mg.Tensor, (v: number) => number, (v: number) => number][] = [
    ['tanh', (t) => t.tanh(), (v) => 1 - Math.tanh(v) ** 2, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
    ['sigmoid', (t) => t.sigmoid(), (v) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 - s); }, (v) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 - s) * (1 - 2 * s); }],
    ['relu', (t) => t.relu(), (v) => (v > 0 ? 1 : 0), () => 0],
  ];
  for (const [name, f, d1, d2] of cases) {
    it(`${name}: first and second derivatives elementwise`, () => {
      const t = x();
      const [g] = mg.autograd.grad(f(t).sum(), [t], { createGraph: true });
      assertClose(g, x0.map(d1), 1e-14, 1e-14, `${name}'`);
      const [h] = mg.autograd.grad(g.sum(), [t], { allowUnused: true, materializeGrads: true });
      assertClose(h, x0.map(d2), 1e-13, 1e-13, `${name}''`);
    });
  }
  it('the backward of the backward is linear in the incoming gradient (tanh, gradgradcheck)', () => {
    gradgradcheck((t) => t.tanh().mul(t), [rand64([3, 5])]);
  });
});
