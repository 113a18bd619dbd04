/**
 * Engine semantics against PyTorch's behaviour (accumulation, inputs, retainGraph, grad modes,
 * in-place checks) and the function transforms (grad, valueAndGrad, vjp, jvp, hvp, jacrev,
 * hessian) against finite differences and closed forms.
 */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';
import { backwardRuns, lastTraversalSize, plansBuilt } from '../ts/autograd/engine';
import { assertClose, gradcheck, numericJacobian, rand64 } from './helpers/check';

const f64 = { dtype: 'float64' } as const;

/** The accumulated gradient of a leaf, which must be present. */
function gradOf(t: mg.Tensor): mg.Tensor {
  const g = t.grad as mg.Tensor | null;
  assert.ok(g !== null, 'expected a gradient');
  return g;
}

function leaf(values: number[] | number, shape?: number[]): mg.Tensor {
  const t = mg.tensor(values, { dtype: 'float64', requiresGrad: true });
  return shape ? mg.noGrad(() => t.reshape(shape)).detach().requiresGrad_(true) : t;
}

describe('autograd engine: accumulation and targets', () => {
  it('.grad accumulates over two backward calls', () => {
    const x = leaf([1, -2, 3]);
    x.square().sum().backward();
    assertClose(x.grad as mg.Tensor, [2, -4, 6], 0, 0);
    x.mul(x).mul(x).sum().backward();
    assertClose(x.grad as mg.Tensor, [2 + 3, -4 + 12, 6 + 27], 1e-12, 0);
  });

  it('a leaf gradient is its own buffer (not shared with other leaves or with `gradient`)', () => {
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    a.add(b).sum().backward();
    (a.grad as mg.Tensor).zero_();
    assertClose(b.grad as mg.Tensor, [1, 1], 0, 0, 'b.grad after a.grad.zero_()');
    const x = leaf([1, 2]);
    const v = mg.tensor([5, 6], f64);
    x.clone().backward({ gradient: v });
    v.zero_();
    assertClose(x.grad as mg.Tensor, [5, 6], 0, 0, 'x.grad after zeroing the gradient argument');
  });

  it('backward({ inputs }) fills only the given leaves', () => {
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    a.mul(b).sum().backward({ inputs: [a] });
    assertClose(a.grad as mg.Tensor, [3, 4], 0, 0);
    assert.equal(b.grad, null);
    a.mul(b).sum().backward({ inputs: b });
    assertClose(gradOf(b), [1, 2], 0, 0);
    assertClose(a.grad as mg.Tensor, [3, 4], 0, 0, 'a.grad unchanged');
  });

  it('backward of a non-scalar needs `gradient`; with it, it is a VJP', () => {
    const x = leaf([1, 2, 3]);
    const y = x.square();
    assert.throws(() => y.backward(), (e: Error) => e instanceof RangeError && /gradient/.test(e.message) && /\[3\]/.test(e.message));
    y.backward({ gradient: mg.tensor([1, 0.5, -1], f64) });
    assertClose(x.grad as mg.Tensor, [2, 2, -6], 0, 0);
  });

  it('a gradient of another dtype is cast to the output dtype, so .grad has the leaf dtype', () => {
    const x = mg.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    x.mul(3).backward({ gradient: mg.tensor([1, 0.5], f64) });
    assert.equal(gradOf(x).dtype, 'float32');
    assertClose(gradOf(x), [3, 1.5], 0, 0);
    const [g] = mg.autograd.grad(x.mul(3), [x], { gradOutputs: mg.tensor([1, 0.5], f64) }) as mg.Tensor[];
    assert.equal(g.dtype, 'float32');
  });

  it('backward does not fill .grad of non-leaf tensors', () => {
    const x = leaf([1, 2]);
    const h = x.mul(2);
    h.sum().backward();
    assert.equal(h.grad, null);
    assert.equal(h.isLeaf, false);
    assert.equal(x.isLeaf, true);
    assert.equal(x.gradFn, null);
    assert.equal(h.gradFn?.name, 'MulBackward0');
  });

  it('autograd.grad with non-leaf inputs, alone and together with leaves', () => {
    const x = leaf([0.5, -1, 2]);
    const h = x.mul(3);
    const y = h.sin().sum();
    const [gh, gx] = mg.autograd.grad(y, [h, x], { retainGraph: true }) as mg.Tensor[];
    assertClose(gh, [1.5, -3, 6].map(Math.cos), 1e-12, 0, 'dy/dh');
    assertClose(gx, [1.5, -3, 6].map((v) => 3 * Math.cos(v)), 1e-12, 0, 'dy/dx');
    const [only] = mg.autograd.grad(y, h) as mg.Tensor[];
    assertClose(only, [1.5, -3, 6].map(Math.cos), 1e-12, 0, 'dy/dh alone');
    assert.equal(x.grad, null, 'autograd.grad does not touch .grad');
  });

  it('allowUnused returns null; without it an unused input is an error', () => {
    const x = leaf([1, 2]);
    const z = leaf([3]);
    const y = x.square().sum();
    assert.throws(() => mg.autograd.grad(y, [x, z], { retainGraph: true }), /inputs\[1\].*not used.*allowUnused/);
    const [gx, gz] = mg.autograd.grad(y, [x, z], { allowUnused: true, retainGraph: true });
    assertClose(gx as mg.Tensor, [2, 4], 0, 0);
    assert.equal(gz, null);
    const [, gz0] = mg.autograd.grad(y, [x, z], { allowUnused: true, materializeGrads: true }) as mg.Tensor[];
    assertClose(gz0, [0], 0, 0);
  });

  it('inputs that do not require grad and outputs without a graph are rejected', () => {
    const x = leaf([1, 2]);
    const c = mg.tensor([1, 2], f64);
    assert.throws(() => mg.autograd.grad(x.mul(c).sum(), [c]), /inputs\[0\] does not require grad/);
    assert.throws(() => mg.autograd.grad(c.sum(), [x]), /does not require grad/);
    assert.throws(() => mg.autograd.grad(x.sum(), [x], { gradOutputs: mg.ones(2, f64) }), /gradOutputs\[0\] has shape \[2\]/);
  });

  it('backward twice through freed buffers raises; with retainGraph it works and accumulates', () => {
    const x = leaf([0.1, 0.2]);
    const y = x.exp().sum();
    y.backward();
    assert.throws(() => y.backward(), (e: Error) => /second time/.test(e.message) && /retainGraph/.test(e.message));
    const x2 = leaf([0.1, 0.2]);
    const y2 = x2.exp().sum();
    y2.backward({ retainGraph: true });
    y2.backward();
    assertClose(x2.grad as mg.Tensor, [0.1, 0.2].map((v) => 2 * Math.exp(v)), 1e-12, 0);
  });
});

describe('autograd engine: grad modes, detach and in-place checks', () => {
  it('noGrad / enableGrad nest and restore the mode', () => {
    const x = leaf([1, 2]);
    assert.equal(mg.isGradEnabled(), true);
    const out = mg.noGrad(() => {
      assert.equal(mg.isGradEnabled(), false);
      const inner = mg.enableGrad(() => {
        assert.equal(mg.isGradEnabled(), true);
        return x.mul(2);
      });
      assert.equal(mg.isGradEnabled(), false);
      const outer = x.mul(2);
      assert.equal(outer.requiresGrad, false, 'recorded nothing inside noGrad');
      assert.equal(outer.gradFn, null);
      return inner;
    });
    assert.equal(mg.isGradEnabled(), true);
    assert.equal(out.requiresGrad, true, 'recorded inside enableGrad');
    assert.equal(mg.noGrad(() => 42), 42, 'returns the result');
  });

  it('isGradEnabled is restored after a throw', () => {
    assert.throws(() => mg.noGrad(() => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(mg.isGradEnabled(), true);
    mg.noGrad(() => {
      assert.throws(() => mg.enableGrad(() => {
        throw new Error('inner');
      }), /inner/);
      assert.equal(mg.isGradEnabled(), false);
    });
    assert.equal(mg.isGradEnabled(), true);
  });

  it('detach cuts the graph and shares the data', () => {
    const x = leaf([2, 3]);
    const d = x.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.data, x.data);
    x.detach().mul(x).sum().backward();
    assertClose(x.grad as mg.Tensor, [2, 3], 0, 0, 'only the non-detached factor is differentiated');
    const h = x.mul(5);
    h.detach_();
    assert.equal(h.isLeaf, true);
    assert.equal(h.requiresGrad, false);
  });

  it('requiresGrad cannot be changed on a non-leaf', () => {
    const h = leaf([1]).mul(2);
    assert.throws(() => {
      h.requiresGrad = false;
    }, /leaf/);
  });

  it('in-place add_ on a leaf that requires grad: error outside noGrad, allowed inside', () => {
    const x = leaf([1, 2]);
    assert.throws(() => x.add_(1), /leaf.*in-place.*noGrad/);
    assertClose(x, [1, 2], 0, 0, 'unchanged after the refused write');
    mg.noGrad(() => x.add_(mg.tensor([1, 1], f64), 0.5));
    assertClose(x, [1.5, 2.5], 0, 0);
    mg.noGrad(() => x.mul_(2).sub_(1).zero_());
    assertClose(x, [0, 0], 0, 0);
    const plain = mg.tensor([1, 2], f64);
    plain.add_(3);
    assertClose(plain, [4, 5], 0, 0, 'tensors without requiresGrad are written freely');
  });

  it('an in-place change to a saved tensor makes backward raise (version counter)', () => {
    const x = leaf([1, 2]);
    const w = leaf([3, 4]);
    const y = x.mul(w);
    mg.noGrad(() => w.add_(1));
    assert.throws(() => y.sum().backward(), (e: Error) => /in-place/.test(e.message) && /MulBackward0/.test(e.message));
    // A saved output modified through a view is caught as well.
    const z = leaf([0.1, 0.2]);
    const e = z.exp();
    const view = e.reshape(2, 1);
    mg.noGrad(() => view.mul_(2));
    assert.throws(() => e.sum().backward(), /in-place/);
  });

  it('an in-place change to a tensor the backward does not read is fine', () => {
    const x = leaf([1, 2]);
    const c = mg.tensor([5, 6], f64);
    const y = x.add(c);
    c.add_(1);
    y.sum().backward();
    assertClose(x.grad as mg.Tensor, [1, 1], 0, 0);
  });
});

describe('autograd engine: graphs', () => {
  it('multiple outputs and a shared subgraph (diamond) accumulate correctly', () => {
    const xv = [0.3, -0.7];
    const x = leaf(xv);
    const a = x.mul(3);
    const b = a.exp();
    const c = a.sin();
    b.mul(c).sum().backward({ retainGraph: true });
    const av = xv.map((v) => 3 * v);
    assertClose(x.grad as mg.Tensor, av.map((v) => 3 * Math.exp(v) * (Math.sin(v) + Math.cos(v))), 1e-12, 1e-12, 'diamond');
    x.grad = null;
    mg.autograd.backward([b.sum(), c.sum()]);
    assertClose(gradOf(x), av.map((v) => 3 * (Math.exp(v) + Math.cos(v))), 1e-12, 1e-12, 'two outputs');
    const x2 = leaf(xv);
    const a2 = x2.mul(3);
    const [g] = mg.autograd.grad([a2.exp(), a2.sin()], [x2], { gradOutputs: [mg.tensor([1, 2], f64), mg.tensor([-1, 0.5], f64)] }) as mg.Tensor[];
    assertClose(g, [3 * (Math.exp(av[0]) - Math.cos(av[0])), 3 * (2 * Math.exp(av[1]) + 0.5 * Math.cos(av[1]))], 1e-12, 1e-12, 'gradOutputs list');
  });

  it('an output that is also an input of another output', () => {
    const x = leaf([2]);
    const h = x.square();
    const y = h.mul(x);
    const [gh, gx] = mg.autograd.grad([y, h], [h, x]) as mg.Tensor[];
    // d(y + h)/dh with x fixed = x + 1; d(y + h)/dx total = 3x² + 2x.
    assertClose(gh, [3], 0, 0);
    assertClose(gx, [12 + 4], 0, 0);
  });

  it('a deep graph (10000 chained ops) does not overflow the stack', () => {
    const x = leaf([1, 2]);
    let y = x;
    for (let i = 0; i < 10000; i++) y = y.add(1);
    y.sum().backward();
    assertClose(x.grad as mg.Tensor, [1, 1], 0, 0);
    assertClose(y, [10001, 10002], 0, 0);
    const z = leaf([0.5]);
    let w = z;
    for (let i = 0; i < 10000; i++) w = w.mul(1.0001);
    const [g] = mg.autograd.grad(w, [z], { createGraph: true }) as mg.Tensor[];
    assertClose(g, [1.0001 ** 10000], 0, 1e-10);
  });

  it('grads of an MLP loss match finite differences', () => {
    mg.manualSeed(7);
    const X = rand64([6, 5]);
    const T = rand64([6, 2]);
    const loss = (W1: mg.Tensor, b1: mg.Tensor, W2: mg.Tensor, b2: mg.Tensor): mg.Tensor =>
      X.matmul(W1.t()).add(b1).tanh().matmul(W2.t()).add(b2).sub(T).square().mean();
    gradcheck(loss, [rand64([4, 5], 0, 0.5), rand64([4]), rand64([2, 4]), rand64([2])]);
  });

  it('an MLP (64→8→1, tanh) Hessian-vector product matches finite differences of its gradient', () => {
    mg.manualSeed(8);
    const X = rand64([12, 64]);
    const T = rand64([12, 1]);
    const loss = (W1: mg.Tensor, b1: mg.Tensor, W2: mg.Tensor, b2: mg.Tensor): mg.Tensor =>
      X.matmul(W1.t()).add(b1).tanh().matmul(W2.t()).add(b2).sub(T).square().mean();
    const params: [mg.Tensor, mg.Tensor, mg.Tensor, mg.Tensor] = [rand64([8, 64], 0, 0.125), rand64([8]), rand64([1, 8]), rand64([1])];
    const tangents = params.map((p) => mg.randn(p.shape, f64));
    const [value, hv] = mg.func.hvp(loss, params, tangents) as [mg.Tensor, mg.Tensor[]];
    assertClose(value, mg.noGrad(() => loss(...(params as [mg.Tensor, mg.Tensor, mg.Tensor, mg.Tensor]))), 1e-14, 1e-12, 'value');
    const gradAt = (s: number): mg.Tensor[] => {
      const ps = params.map((p, i) => p.add(tangents[i].mul(s)).requiresGrad_(true));
      return mg.autograd.grad(loss(ps[0], ps[1], ps[2], ps[3]), ps) as mg.Tensor[];
    };
    const eps = 1e-5;
    const plus = gradAt(eps);
    const minus = gradAt(-eps);
    hv.forEach((h, i) => {
      assert.deepEqual(h.shape, params[i].shape);
      assertClose(h, plus[i].sub(minus[i]).div(2 * eps), 1e-7, 1e-5, `HVP block ${i}`);
    });
  });
});

describe('function transforms', () => {
  before(() => mg.manualSeed(11));

  it('func.grad with argnums (number and array), hasAux and trees', () => {
    const x = rand64([3]);
    const y = rand64([3]);
    const f = (a: mg.Tensor, b: mg.Tensor): mg.Tensor => a.square().mul(b).sum();
    assertClose(mg.func.grad(f)(x, y), x.mul(y).mul(2), 1e-14, 0, 'argnums 0');
    assertClose(mg.func.grad(f, { argnums: 1 })(x, y), x.square(), 1e-14, 0, 'argnums 1');
    const [gx, gy] = mg.func.grad(f, { argnums: [0, 1] })(x, y) as mg.Tensor[];
    assertClose(gx, x.mul(y).mul(2), 1e-14, 0, 'argnums [0, 1] first');
    assertClose(gy, x.square(), 1e-14, 0, 'argnums [0, 1] second');
    const fa = (a: mg.Tensor): [mg.Tensor, { n: number; t: mg.Tensor }] => [a.sin().sum(), { n: 3, t: a.mul(2) }];
    const [g, aux] = mg.func.grad(fa, { hasAux: true })(x) as [mg.Tensor, { n: number; t: mg.Tensor }];
    assertClose(g, Array.from(x.data, Math.cos), 1e-14, 0, 'hasAux gradient');
    assert.equal(aux.n, 3);
    assertClose(aux.t, x.mul(2), 0, 0, 'aux passes through');
    const tree = { w: rand64([2, 2]), b: rand64([2]), tag: 'keep' };
    const gt = mg.func.grad((p: typeof tree) => p.w.square().sum().add(p.b.mul(3).sum()))(tree) as { w: mg.Tensor; b: mg.Tensor; tag: string };
    assertClose(gt.w, tree.w.mul(2), 1e-14, 0, 'tree w');
    assertClose(gt.b, [3, 3], 0, 0, 'tree b');
    assert.equal(gt.tag, 'keep');
    assert.throws(() => mg.func.grad((a: mg.Tensor) => a.square())(x), /one-element/);
    assert.throws(() => mg.func.grad(f, { argnums: 2 })(x, y), /argnums/);
  });

  it('func.valueAndGrad returns the value and the gradient', () => {
    const x = rand64([4]);
    const [v, g] = mg.func.valueAndGrad((a: mg.Tensor) => a.exp().sum())(x) as [mg.Tensor, mg.Tensor];
    assertClose(v, Array.from(x.data, Math.exp).reduce((s, e) => s + e, 0), 1e-12, 1e-12, 'value');
    assertClose(g, Array.from(x.data, Math.exp), 1e-14, 1e-14, 'gradient');
    const [[v2, aux], g2] = mg.func.valueAndGrad((a: mg.Tensor) => [a.square().sum(), 'aux'], { hasAux: true })(x) as [[mg.Tensor, string], mg.Tensor];
    assertClose(v2, x.square().sum(), 1e-14, 0);
    assert.equal(aux, 'aux');
    assertClose(g2, x.mul(2), 1e-14, 0);
  });

  it('grad of grad (and a third derivative) through func.grad', () => {
    const cube = (a: mg.Tensor): mg.Tensor => a.pow(3).sum();
    const x = mg.tensor(1.7, f64);
    const d1 = mg.func.grad(cube);
    const d2 = mg.func.grad((a: mg.Tensor) => d1(a));
    const d3 = mg.func.grad((a: mg.Tensor) => d2(a));
    assertClose(d1(x), 3 * 1.7 ** 2, 1e-12, 0);
    assertClose(d2(x), 6 * 1.7, 1e-12, 0);
    assertClose(d3(x), 6, 1e-12, 0);
    const y = rand64([3]);
    const w = rand64([3]);
    // d/dy Σ (∂/∂x Σ x² y)·w = d/dy Σ 2 x y w = 2 x w, with x fixed.
    const xv = rand64([3]);
    const inner = (a: mg.Tensor, b: mg.Tensor): mg.Tensor => a.square().mul(b).sum();
    const outer = mg.func.grad((b: mg.Tensor) => mg.func.grad(inner)(xv, b).mul(w).sum());
    assertClose(outer(y), xv.mul(w).mul(2), 1e-14, 0);
  });

  it('func.vjp matches Jᵀv from finite differences, for several primals', () => {
    const A = rand64([3, 4]);
    const f = (x: mg.Tensor, y: mg.Tensor): mg.Tensor => A.matmul(x.tanh()).mul(y);
    const x = rand64([4]);
    const y = rand64([3]);
    const [out, vjpFn] = mg.func.vjp(f, x, y);
    assertClose(out, mg.noGrad(() => f(x, y)), 0, 0, 'output');
    const v = rand64([3]);
    const [gx, gy] = vjpFn(v) as mg.Tensor[];
    for (const [k, g] of [[0, gx], [1, gy]] as const) {
      const J = numericJacobian(f, [x, y], k);
      const expected = J[0].map((_, j) => J.reduce((s, row, i) => s + row[j] * v.data[i], 0));
      assertClose(g, expected, 1e-8, 1e-6, `vjp input ${k}`);
    }
    // vjpFn can be called again.
    const [gx2] = vjpFn(v.mul(2)) as mg.Tensor[];
    assertClose(gx2, gx.mul(2), 1e-14, 1e-14, 'second call');
  });

  it('func.jvp matches jacrev·t and a directional finite difference', () => {
    const f = (x: mg.Tensor, y: mg.Tensor): mg.Tensor => x.sin().mul(y.exp()).add(x.matmul(y.reshape(3, 1).expand(3, 3)));
    const x = rand64([3]);
    const y = rand64([3]);
    const tx = rand64([3]);
    const ty = rand64([3]);
    const [out, jout] = mg.func.jvp(f, [x, y], [tx, ty]);
    assertClose(out, mg.noGrad(() => f(x, y)), 1e-14, 0, 'output');
    const Jx = mg.func.jacrev(f, 0)(x, y);
    const Jy = mg.func.jacrev(f, 1)(x, y);
    assert.deepEqual(Jx.shape, [3, 3]);
    assertClose(jout, Jx.matmul(tx).add(Jy.matmul(ty)), 1e-12, 1e-12, 'jvp vs jacrev·t');
    const eps = 1e-6;
    const fd = mg.noGrad(() => f(x.add(tx.mul(eps)), y.add(ty.mul(eps))).sub(f(x.sub(tx.mul(eps)), y.sub(ty.mul(eps)))).div(2 * eps));
    assertClose(jout, fd, 1e-8, 1e-6, 'jvp vs finite differences');
  });

  it('func.jacrev matches closed forms and finite differences', () => {
    const A = rand64([2, 3]);
    const x = rand64([3]);
    assertClose(mg.func.jacrev((v: mg.Tensor) => A.matmul(v))(x), A, 1e-15, 0, 'linear map');
    const Js = mg.func.jacrev((v: mg.Tensor) => v.sin())(x);
    const diag = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => (i === j ? Math.cos(x.data[i]) : 0)));
    assertClose(Js, diag, 1e-15, 0, 'elementwise sin');
    const X = rand64([2, 3]);
    const g = (m: mg.Tensor): mg.Tensor => m.square().sum(1);
    const J = mg.func.jacrev(g)(X);
    assert.deepEqual(J.shape, [2, 2, 3]);
    assertClose(J, numericJacobian(g, [X], 0).flat(), 1e-8, 1e-6, 'vs finite differences');
  });

  it('func.hessian matches closed forms', () => {
    const x = rand64([4]);
    const H = mg.func.hessian((v: mg.Tensor) => v.pow(3).sum())(x);
    assert.deepEqual(H.shape, [4, 4]);
    const expected = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => (i === j ? 6 * x.data[i] : 0)));
    assertClose(H, expected, 1e-12, 0, 'hessian of Σ x³ is diag(6x)');
    const A = rand64([3, 3]);
    const q = (c: number, v: mg.Tensor): mg.Tensor => v.matmul(A.matmul(v)).mul(c);
    const H2 = mg.func.hessian(q, 1)(0.5, rand64([3]));
    assertClose(H2, A.add(A.t()).mul(0.5), 1e-14, 0, 'hessian of c·xᵀAx is c(A + Aᵀ), argnums 1');
  });

  it('func.hvp agrees with hessian·v', () => {
    const f = (v: mg.Tensor): mg.Tensor => v.tanh().mul(v).sum().add(v.square().sum().exp());
    const x = rand64([3], 0, 0.3);
    const t = rand64([3]);
    const [, [hv]] = mg.func.hvp(f, [x], [t]) as [mg.Tensor, mg.Tensor[]];
    assertClose(hv, mg.func.hessian(f)(x).matmul(t), 1e-12, 1e-12);
  });
});

describe('autograd engine: traversal stops at the targets', () => {
  const f64 = { dtype: 'float64' as const };

  it('gradients with respect to non-leaf targets, one behind another and mixed with leaves, are exact', () => {
    const x = mg.tensor([0.5, -1, 2], { ...f64, requiresGrad: true });
    const h1 = x.mul(3).tanh(); // behind h2
    const h2 = h1.square().add(x);
    const y = h2.sin().sum().add(h1.sum());
    const [g2, g1, gx] = mg.autograd.grad(y, [h2, h1, x]);
    const v = (t: mg.Tensor) => Array.from(t.data);
    // Closed forms: ∂y/∂h2 = cos h2; ∂y/∂h1 = 1 + 2·h1·cos h2 (through h2 and directly); ∂y/∂x by the chain rule.
    const c2 = v(h2).map(Math.cos);
    assert.deepEqual(v(g2), c2);
    v(g1).forEach((g, i) => assert.ok(Math.abs(g - (1 + 2 * v(h1)[i] * c2[i])) < 1e-12));
    v(gx).forEach((g, i) => assert.ok(Math.abs(g - (v(g1)[i] * 3 * (1 - v(h1)[i] ** 2) + c2[i])) < 1e-12));
  });

  it('an unrolled MetaSGD step differentiates with respect to the current parameters without walking the history', () => {
    mg.manualSeed(0);
    const x = mg.randn([20, 4]);
    const y = mg.randn([20, 1]);
    const net = new mg.nn.Linear(4, 1);
    const opt = new mg.MetaSGD(net, { lr: 0.02 });
    const sizes: number[] = [];
    for (let k = 0; k < 40; k++) {
      opt.step(mg.nn.functional.mseLoss(net.forward(x), y));
      sizes.push(lastTraversalSize());
    }
    // Step k would visit O(k) nodes if the traversal went down to the leaves.
    assert.equal(new Set(sizes.slice(1)).size, 1, `visited per step: ${sizes.join(', ')}`);
    assert.ok(sizes[39] < 40, `${sizes[39]} nodes visited`);
  });

  it('a retained graph differentiated again replays its plan, with the same gradients', () => {
    const x = mg.tensor([0.3, -1.2, 2.0], { dtype: 'float64', requiresGrad: true });
    const w = mg.tensor([1.5, 0.5, -0.25], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(w).tanh().mul(x).sum();
    const p0 = plansBuilt();
    const first = mg.autograd.grad(y, [x, w], { retainGraph: true });
    assert.equal(plansBuilt() - p0, 1);
    const r0 = backwardRuns();
    for (let i = 0; i < 5; i++) {
      const again = mg.autograd.grad(y, [x, w], { retainGraph: true });
      again.forEach((g, j) => assert.deepEqual(Array.from(g.data), Array.from(first[j].data)));
    }
    assert.equal(backwardRuns() - r0, 5);
    assert.equal(plansBuilt() - p0, 1, 'no new plan for the same roots and targets');
    // Other targets are planned separately; the gradient of x alone is the same numbers.
    const [gx] = mg.autograd.grad(y, [x], { retainGraph: true });
    assert.deepEqual(Array.from(gx.data), Array.from(first[0].data));
    assert.equal(plansBuilt() - p0, 2);
    // Closed form: d/dx Σ x·tanh(wx) = tanh(wx) + x·w·(1 − tanh²(wx)).
    Array.from(x.data).forEach((xi, i) => {
      const wi = w.data[i];
      const t = Math.tanh(wi * xi);
      assert.ok(Math.abs(first[0].data[i] - (t + xi * wi * (1 - t * t))) < 1e-14);
    });
  });

});
