/**
 * Bad input raises an error naming the function and the argument, instead of a wrong result, a
 * V8 message or a hang. Each case returned something wrong before.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as mg from '../ts/index';

const f64 = { dtype: 'float64' as const };
const asShape = (x: unknown): number[] => x as number[];

describe('input handling: creation', () => {
  it('a typed array or a tensor as a size is an error, not options (which gave a 0-d tensor)', () => {
    assert.throws(() => mg.zeros(asShape(new Int32Array([2, 3]))), /zeros: argument 'size' must be non-negative integers .*got Int32Array/);
    assert.throws(() => mg.full(asShape(new Int32Array([2, 3])), 5), /full: argument 'size' .*got Int32Array/);
    assert.throws(() => mg.ones(asShape(mg.ones(2))), /ones: argument 'size' .*got Tensor of shape \[2\]/);
    assert.deepEqual(mg.zeros([2, 3], { dtype: 'float64' }).shape, [2, 3]);
  });

  it('holes in nested arrays are an error (they read as zeros, or shifted)', () => {
    // eslint-disable-next-line no-sparse-arrays
    assert.throws(() => mg.tensor([, 1] as number[]), /tensor: argument 'data' has a hole at index 0/);
    assert.throws(() => mg.tensor(new Array(3)), /hole at index 0/);
    // eslint-disable-next-line no-sparse-arrays
    assert.throws(() => mg.tensor([[1, 2], [3, , ]] as number[][]), /tensor: argument 'data\[1\]' (has a hole|must be an array of length 2)/);
  });

  it('the shape option applies to nested data; sizes come from arguments, so zeros refuses it', () => {
    const t = mg.tensor([1, 2, 3], { shape: [3, 1] });
    assert.deepEqual(t.shape, [3, 1]);
    assert.deepEqual(t.tolist(), [[1], [2], [3]]);
    assert.throws(() => mg.tensor([1, 2, 3], { shape: [2, 2] }), /tensor: argument 'shape' must be non-negative integers with product 3/);
    assert.throws(() => mg.zeros(3, { shape: [2, 2] } as mg.TensorOptions), /zeros: unknown option 'shape'/);
    assert.throws(() => mg.randn(3, { dtyp: 'float64' } as mg.TensorOptions), /randn: unknown option 'dtyp' \(valid options: dtype, requiresGrad, generator\)/);
  });

  it("eye(2, '5') and expand to negative sizes are refused", () => {
    assert.throws(() => mg.eye(2, '5' as unknown as number), /eye: argument 'm' must be a non-negative integer or an options object, got "5"/);
    assert.deepEqual(mg.eye(2, 3).shape, [2, 3]);
    assert.throws(() => mg.ones(1).expand(-2, -3), /expand: argument 'shape' must be sizes >= 0, or -1 to keep a dimension, got \[-2, -3\]/);
    assert.deepEqual(mg.ones(2, 1).expand(-1, 3).shape, [2, 3]);
  });

  it('a shape cannot be changed by assignment (it would corrupt the tensor)', () => {
    const x = mg.ones(2);
    assert.equal(Reflect.set(x.shape, 0, 3), false); // a TypeError in strict-mode code
    assert.deepEqual(x.shape, [2]);
    assert.deepEqual(x.reshape(2, 1).shape, [2, 1]);
    assert.ok(Object.isFrozen(x.shape));
  });

  it('sizes too large to allocate name the function, not V8', () => {
    assert.throws(() => mg.zeros([1e6, 1e6]), /^RangeError: zeros: a float32 tensor of 1000000000000 elements .* is too large/);
    assert.throws(() => mg.zeros([2 ** 40, 3, 0]).sum(2), /^RangeError: sum: a float32 tensor/);
    assert.throws(() => mg.ones(3).expand(1e5, 1e5, 3), /^RangeError: expand: /);
  });

  it('the Tensor constructor message reads as a sentence', () => {
    assert.throws(() => new mg.Tensor(new Float32Array(3), [2, 2]), /^RangeError: Tensor: argument 'shape' must hold the data's 3 elements, got \[2, 2\] \(4 elements\)$/);
  });
});

describe('input handling: no hang on zero elements', () => {
  it('reductions, matmul, softmax and copies of huge empty shapes return at once', function () {
    this.timeout(5000);
    const z = mg.zeros([2 ** 40, 3, 0]);
    const t0 = Date.now();
    assert.deepEqual(z.sum(1).shape, [2 ** 40, 0]);
    assert.deepEqual(z.max(1).values.shape, [2 ** 40, 0]);
    assert.deepEqual(z.sum(0).shape, [3, 0]);
    assert.deepEqual(mg.softmax(z, 1).shape, [2 ** 40, 3, 0]);
    assert.deepEqual(z.transpose(0, 2).shape, [0, 3, 2 ** 40]);
    assert.deepEqual(mg.narrow(z, 1, 0, 2).shape, [2 ** 40, 2, 0]);
    assert.deepEqual(mg.matmul(mg.zeros([2 ** 40, 0, 3]), mg.zeros([3, 2])).shape, [2 ** 40, 0, 2]);
    assert.deepEqual(mg.cat([mg.zeros([2 ** 40, 0]), mg.zeros([2 ** 40, 0])], 1).shape, [2 ** 40, 0]);
    assert.deepEqual(mg.add(z, mg.zeros([3, 0])).shape, [2 ** 40, 3, 0]);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('the raw addon returns at once for an empty output of a huge outer size', () => {
    const native = require('../ts/tensor/native').native as {
      reduce(op: number, a: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void;
      softmax(a: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
      matmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean, as: number, bs: number): void;
    };
    const e = new Float32Array(0);
    const t0 = Date.now();
    native.reduce(0, e, e, 2 ** 40, 3, 0);
    native.softmax(e, e, 2 ** 40, 0, false);
    native.matmul(e, new Float32Array(6), e, 2 ** 40, 0, 3, 2, false, false, 0, 0);
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe('input handling: in-place ops and grads', () => {
  it('add_ forms alpha·b in the destination dtype; sub_ checks alpha', () => {
    const a = mg.zeros(1, f64);
    a.add_(mg.tensor([0.1]), 3); // 0.1 rounds to float32 once; 3·that stays float64
    assert.equal(a.item(), 3 * Math.fround(0.1));
    const b = mg.zeros(1);
    assert.throws(() => b.sub_(mg.ones(1), null as unknown as number), /sub_: argument 'alpha' must be a finite number, got null/);
    assert.throws(() => b.sub_(mg.ones(1), '2' as unknown as number), /sub_: argument 'alpha' must be a finite number, got "2"/);
    b.sub_(mg.ones(1), 2);
    assert.equal(b.item(), -2);
  });

  it('assigning .grad checks dtype and shape', () => {
    const x = mg.ones(2, { requiresGrad: true });
    assert.throws(() => {
      x.grad = mg.ones(2, f64);
    }, /Tensor.grad: assigned grad has dtype float64, but the tensor is float32/);
    assert.throws(() => {
      x.grad = mg.ones([3, 2]);
    }, /Tensor.grad: assigned grad has shape \[3, 2\], but the tensor has shape \[2\]/);
    assert.throws(() => {
      x.grad = [1, 2] as unknown as mg.Tensor;
    }, /Tensor.grad: argument 'grad' must be a Tensor or null/);
    x.grad = mg.full([2], 3);
    x.sum().backward();
    assert.deepEqual(x.grad?.tolist(), [4, 4]);
    x.grad = null;
    assert.equal(x.grad, null);
  });

  it('narrow with a non-number start names the argument', () => {
    assert.throws(() => mg.narrow(mg.ones(3), 0, Symbol('s') as unknown as number, 1), /narrow: argument 'start' must be an integer in \[-3, 3\], got symbol/);
  });
});

describe('input handling: grad modes and solvers', () => {
  it('noGrad and enableGrad refuse an async function (its code after await would record)', async () => {
    const x = mg.ones(2, { requiresGrad: true });
    assert.throws(() => mg.noGrad(async () => x.mul(2)), /noGrad: argument 'fn' returned a Promise/);
    assert.throws(() => mg.enableGrad(async () => x.mul(2)), /enableGrad: argument 'fn' returned a Promise/);
    assert.equal(mg.isGradEnabled(), true);
    await new Promise((r) => setImmediate(r));
  });

  it('the default Neumann step converges on a badly scaled system (λmax ≈ 1500) where alpha = 1 diverges', () => {
    mg.manualSeed(0);
    const X = mg.randn([40, 8], f64).mul(6);
    const A = X.t().matmul(X).add(mg.eye(8, f64));
    const b = mg.ones([8], f64);
    const mv = (v: mg.Tensor) => A.matmul(v);
    assert.throws(() => mg.linearSolve.solveInv({ ns: true, alpha: 1 })(mv, b), (e: Error) => e instanceof mg.NumericalError && /diverged/.test(e.message));
    const x = mg.linearSolve.solveInv({ ns: true, maxiter: 2000 })(mv, b) as mg.Tensor;
    const dense = mg.linalg.solve(A, b);
    assert.ok(x.sub(dense).abs().max().item() < 1e-4 * dense.abs().max().item());
  });

  it('solveNormalCg on a non-square system without init says that init is needed', () => {
    const M = mg.randn([3, 5], f64);
    assert.throws(() => mg.linearSolve.solveNormalCg()((v: mg.Tensor) => M.matmul(v), mg.ones([3], f64)), /solveNormalCg: matvec failed on a vector shaped like b .*pass init/);
    const x = mg.linearSolve.solveNormalCg({ init: mg.zeros([5], f64), rtol: 1e-12 })((v: mg.Tensor) => M.matmul(v), mg.ones([3], f64)) as mg.Tensor;
    assert.ok(M.matmul(x).sub(1).abs().max().item() < 1e-9);
  });
});

describe('input handling: detached buffers', () => {
  it('a tensor whose buffer was transferred away is named as such (it read as NaN or undefined)', () => {
    const t = mg.ones(3);
    structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
    assert.throws(() => t.add(1), /add: argument 'input' has a detached buffer/);
    assert.throws(() => t.sum(), /sum: argument 'input' has a detached buffer/);
    assert.throws(() => t.tolist(), /tolist: the tensor's buffer is detached/);
    assert.throws(() => mg.tensor(t.data), /tensor: argument 'data' is a detached Float32Array/);
    assert.deepEqual(mg.zeros(0).add(1).shape, [0]); // a real empty tensor is fine
  });

  it('a linear solve names itself for a detached right-hand side (the fuzz found autograd.grad named instead)', () => {
    const A = mg.eye(3);
    const b = mg.ones(3);
    structuredClone(b.data.buffer, { transfer: [b.data.buffer as ArrayBuffer] });
    assert.throws(() => mg.linearSolve.solveNormalCg()((v: mg.Tensor) => A.matmul(v), b), /^TypeError: solveNormalCg: argument 'b' has a detached buffer/);
    assert.throws(() => mg.linalg.cg(A, b), /^TypeError: cg: argument 'b' has a detached buffer/);
    assert.throws(() => mg.linearSolve.solveGmres()((v: mg.Tensor[]) => [v[0], A.matmul(v[1])], [mg.ones(2), b]), /solveGmres: argument 'b \(leaf 1\)' has a detached buffer/);
  });
});

describe('backend settings', () => {
  it('setNumThreads beyond the cores warns (allowed, as in PyTorch)', async () => {
    const warnings: Error[] = [];
    const listener = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', listener);
    const before = mg.backendInfo().threads;
    try {
      const cores = os.availableParallelism();
      mg.setNumThreads(cores + 3);
      mg.setNumThreads(cores + 4);
      assert.equal(mg.backendInfo().threads, cores + 4);
      await new Promise((r) => setImmediate(r));
    } finally {
      mg.setNumThreads(before);
      process.off('warning', listener);
    }
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'METAGRAD_OVERSUBSCRIBED');
    assert.equal(ours.length, 2);
    assert.match(ours[0].message, /setNumThreads: \d+ threads on a machine with \d+ cores oversubscribes it/);
  });
});
