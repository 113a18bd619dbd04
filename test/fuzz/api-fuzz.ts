/**
 * A seeded, time-bounded fuzzer of the public API and the raw native binding, run as a child
 * process by test/fuzz.test.ts (so a crash of the process is seen as one). Every call must either
 * return or throw an Error whose message names the function called; anything else is a failure.
 * Prints one JSON line: { seed, calls, returned, threw, failures }.
 *
 *   node --import tsx test/fuzz/api-fuzz.ts --seed 7 --seconds 20
 */
import * as mg from '../../ts/index';
import { native } from '../../ts/tensor/native';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const seed = opt('seed', 1);
const seconds = opt('seconds', 10);

// xorshift32: the fuzzer's own stream, independent of the library's generator.
let s = seed >>> 0 || 1;
function rnd(): number {
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  return s / 2 ** 32;
}
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const chance = (p: number): boolean => rnd() < p;

const SPECIAL = [0, -0, 1, -1, 0.5, 2, 3, -2.5, 1e-30, 1e30, Infinity, -Infinity, NaN];
const SMALL_DIMS = [0, 1, 1, 2, 2, 3, 4, 5];

/** A shape whose tensors are small (at most a few thousand elements). */
function smallShape(): number[] {
  const rank = chance(0.1) ? 0 : chance(0.05) ? 9 + int(2) : int(5);
  const shape = Array.from({ length: rank }, () => pick(SMALL_DIMS));
  while (shape.reduce((a, b) => a * b, 1) > 4096) shape.pop();
  return shape;
}

/** A shape argument: usually small, sometimes invalid or astronomically large. */
function shapeArg(): unknown {
  const r = rnd();
  if (r < 0.6) return smallShape();
  if (r < 0.7) return [...smallShape(), pick([2 ** 33, 2 ** 40, 1e12])]; // too large to allocate
  if (r < 0.78) return [2 ** 40, 3, 0]; // zero elements, huge outer size
  if (r < 0.86) return [pick([-1, -2, 1.5, NaN, Infinity]), 2];
  return pick([null, undefined, 'abc', {}, new Int32Array([2, 3]), [1, 'a'], [[2]], 3, -3]);
}

function data(n: number): number[] {
  return Array.from({ length: n }, () => (chance(0.2) ? pick(SPECIAL) : (rnd() - 0.5) * 8));
}

function tensorOf(shape: number[] = smallShape()): mg.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = chance(0.5) ? 'float32' : 'float64';
  const t = mg.tensor(Float64Array.from(data(n)), { shape, dtype });
  return chance(0.3) && t.numel > 0 ? t.requiresGrad_(true) : t;
}

const NON_TENSORS: unknown[] = [null, undefined, 'x', 3, NaN, {}, [], [1, 2], Symbol('s'), 10n, () => 1, new Int32Array(3), new Float32Array(3), true];

function detached(): mg.Tensor {
  const t = mg.ones(3);
  structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
  return t;
}

/** Any argument: mostly tensors, else numbers, shapes, non-tensors. */
function anyArg(): unknown {
  const r = rnd();
  if (r < 0.5) return tensorOf();
  if (r < 0.65) return pick(SPECIAL.concat([-1, 0, 1, 2, 3, 7]));
  if (r < 0.75) return shapeArg();
  if (r < 0.78) return detached();
  return pick(NON_TENSORS);
}

/** A pair of tensors that often broadcast. */
function pairArgs(): unknown[] {
  const a = tensorOf();
  if (chance(0.5)) return [a, chance(0.5) ? tensorOf(a.shape.slice()) : tensorOf(a.shape.slice(int(a.ndim + 1)))];
  return [a, anyArg()];
}

type Entry = [name: string, gen: () => unknown[], call: (...a: unknown[]) => unknown, names?: string[]];
type F = (...a: unknown[]) => unknown;
const api = mg as unknown as Record<string, F>;
const method = (name: string): ((...a: unknown[]) => unknown) => (t: unknown, ...rest: unknown[]) => {
  const fn = (t as Record<string, unknown> | null | undefined)?.[name];
  if (typeof fn !== 'function') return undefined; // not a tensor: nothing to call
  return (fn as F).apply(t, rest);
};

const UNARY = ['neg', 'square', 'sqrt', 'exp', 'log', 'log1p', 'expm1', 'abs', 'sign', 'reciprocal', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'softplus', 'detach', 'clone'];
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'gt', 'lt', 'ge', 'le', 'eq', 'matmul'];
const ENTRIES: Entry[] = [
  ...UNARY.map((n): Entry => [n, () => [anyArg()], api[n]]),
  ...BINARY.map((n): Entry => [n, pairArgs, api[n]]),
  ...BINARY.map((n): Entry => [`Tensor.${n}`, pairArgs, method(n), [n]]),
  ...['add_', 'sub_', 'mul_', 'div_'].map((n): Entry => [`Tensor.${n}`, () => [...pairArgs(), anyArg()], method(n), [n]]),
  ['clamp', () => [anyArg(), anyArg(), anyArg()], api.clamp],
  ['where', () => [anyArg(), ...pairArgs()], api.where],
  ...['sum', 'mean', 'logsumexp'].map((n): Entry => [n, () => [anyArg(), pick([undefined, 0, 1, -1, 5, [0, 1], 'a', 1.5]), pick([true, false, undefined, 3])], api[n]]),
  ...['max', 'min'].map((n): Entry => [n, () => [anyArg(), pick([undefined, 0, 1, -1, 9, NaN])], api[n]]),
  ['softmax', () => [anyArg(), pick([0, 1, -1, 4, undefined, 'x'])], api.softmax],
  ['logSoftmax', () => [anyArg(), pick([0, 1, -1, 4, undefined])], api.logSoftmax],
  ['reshape', () => [anyArg(), shapeArg()], api.reshape],
  ['view', () => [anyArg(), shapeArg()], api.view],
  ['expand', () => [anyArg(), shapeArg()], api.expand],
  ['permute', () => [anyArg(), shapeArg()], api.permute],
  ['flatten', () => [anyArg(), pick([0, 1, -1, 3, 'a']), pick([-1, 0, 2, undefined])], api.flatten],
  ['transpose', () => [anyArg(), pick([0, 1, -1, 5]), pick([0, 1, -2, 7])], api.transpose],
  ['t', () => [anyArg()], api.t],
  ['unsqueeze', () => [anyArg(), pick([0, 1, -1, 9, NaN])], api.unsqueeze],
  ['squeeze', () => [anyArg(), pick([0, 1, -1, 9, undefined])], api.squeeze],
  ['cat', () => [Array.from({ length: int(4) }, () => (chance(0.8) ? tensorOf() : anyArg())), pick([0, 1, -1, 3])], api.cat],
  ['stack', () => [Array.from({ length: int(4) }, () => tensorOf([2, 3])), pick([0, 1, -1, 3])], api.stack],
  ['narrow', () => [anyArg(), pick([0, 1, -1, 4]), pick([0, 1, -1, 7, Symbol('s'), 0.5]), pick([0, 1, 2, -1, 9])], api.narrow],
  ['select', () => [anyArg(), pick([0, 1, -1]), pick([0, 1, -1, 7, 1.5])], api.select],
  ['indexSelect', () => [anyArg(), pick([0, 1]), pick([[0], [0, 1], [5], [-1], 'a', tensorOf([2])])], api.indexSelect],
  ['to', () => [anyArg(), pick(['float32', 'float64', 'int8', undefined, 3])], api.to],
  ['tensor', () => [pick([data(3), [[1, 2], [3]], [1, 'a'], new Float32Array(4), new Float64Array(0), 5, NaN, 'x', null, detached().data]), pick([undefined, { dtype: 'float64' }, { shape: shapeArg() }, { dtype: 'int' }, 3])], api.tensor],
  ...['zeros', 'ones', 'randn', 'rand'].map((n): Entry => [n, () => [shapeArg(), pick([undefined, { dtype: 'float64' }, { requiresGrad: 1 }, { shape: [2] }])], api[n]]),
  ['full', () => [shapeArg(), pick([1, NaN, 'a', undefined])], api.full],
  ['eye', () => [pick([0, 2, 3, -1, 1.5, 2 ** 40, 'a']), pick([undefined, 2, '5', { dtype: 'float64' }])], api.eye],
  ['arange', () => [pick([0, 3, -2, NaN, 1e12]), pick([undefined, 5, Infinity, 'a']), pick([undefined, 1, 0, -1, 0.5])], api.arange],
  ['linspace', () => [pick([0, 1, NaN]), pick([1, 2]), pick([0, 3, -1, 2.5, 2 ** 40])], api.linspace],
  ['linalg.solve', () => [anyArg(), anyArg(), pick([undefined, { method: 'cholesky' }, { method: 'qr' }, { method: 'x' }])], (a, b, o) => mg.linalg.solve(a as mg.Tensor, b as mg.Tensor, o as undefined), ['linalg.solve']],
  ['linalg.cg', () => [anyArg(), anyArg(), pick([undefined, { maxiter: 3 }, { maxiter: 0 }, { rtol: -1 }])], (a, b, o) => mg.linalg.cg(a as mg.Tensor, b as mg.Tensor, o as undefined), ['cg']],
  ['solveNormalCg', () => [anyArg(), anyArg()], (A, b) => mg.linearSolve.solveNormalCg({ maxiter: 5 })((v: mg.Tensor) => mg.matmul(A as mg.Tensor, v), b as mg.Tensor), ['solveNormalCg', 'matmul']],
  ['solveDense', () => [anyArg(), anyArg()], (A, b) => mg.linearSolve.solveDense()((v: mg.Tensor) => mg.matmul(A as mg.Tensor, v), b as mg.Tensor), ['solveDense', 'matmul']],
  ['autograd.grad', () => [anyArg(), anyArg()], (y, x) => mg.autograd.grad(y as mg.Tensor, x as mg.Tensor), ['autograd.grad']],
  ['Tensor.backward', () => [anyArg(), pick([undefined, { gradient: anyArg() }])], method('backward'), ['backward']],
  ['item', () => [anyArg()], method('item')],
  ['nn.Linear', () => [pick([0, 1, 3, -1, 1.5, 'a', 2 ** 40]), pick([1, 2, 0, NaN]), pick([undefined, { bias: false }, { bias: 3 }, 'x'])], (i, o, opts) => new mg.nn.Linear(i as number, o as number, opts as undefined), ['Linear']],
  ['Linear.forward', () => [anyArg()], (x) => new mg.nn.Linear(3, 2).forward(x as mg.Tensor), ['Linear', 'matmul', 'linear']],
  ['mseLoss', () => pairArgs(), (a, b) => mg.nn.functional.mseLoss(a as mg.Tensor, b as mg.Tensor), ['mseLoss']],
  ['func.grad', () => [anyArg()], (x) => mg.func.grad((t: mg.Tensor) => t.square().sum())(x as mg.Tensor), ['grad', 'square', 'sum']],
  ['customRoot', () => [anyArg(), anyArg(), pick([1, 0, [1], 'a', -1, 5])], (x0, th, argnums) =>
    mg.diff.implicit.customRoot((x: mg.Tensor, t: mg.Tensor) => x.sub(t), { argnums: argnums as number })((_x: mg.Tensor, t: mg.Tensor) => t.clone())(x0 as never, th as never), ['customRoot', 'sub', 'clone']],
  ['sgd', () => [pick([{ lr: 0.1 }, { lr: -1 }, { lr: NaN }, {}, null, { lr: 0.1, momentum: 2 }, { lr: 'a' }])], (o) => mg.sgd(o as { lr: number }), ['sgd']],
  ['adam', () => [pick([{ lr: 0.1 }, { lr: -1 }, { betas: [2, 0.5] }, null, { lr: 0.1, eps: -1 }])], (o) => mg.adam(o as { lr: number }), ['adam']],
  ['tolist', () => [anyArg()], method('tolist')],
];

// The raw binding: any arguments, checked there. Names are the binding's own.
const f32 = (n: number): Float32Array => new Float32Array(n);
const nativeArg = (): unknown => pick([f32(0), f32(3), f32(16), new Float64Array(8), new Int32Array([2, 3]), new Int32Array([-1]), 0, 1, 3, -1, 2 ** 40, 1.5, NaN, true, null, 'a', {}]);
const NATIVE = native as unknown as Record<string, F>;
for (const name of ['matmul', 'unary', 'binary', 'reduce', 'argReduce', 'softmax', 'solveDense', 'rngUniform', 'rngNormal', 'rngSeed', 'setNumThreads']) {
  ENTRIES.push([`native.${name}`, () => Array.from({ length: int(12) }, nativeArg), (...a) => NATIVE[name](...a), [name]]);
}

interface Failure {
  call: string;
  problem: string;
}

const failures: Failure[] = [];
let calls = 0;
let returned = 0;
let threw = 0;
const t0 = Date.now();
const describeArgs = (a: unknown[]): string => a.map((x) => (x instanceof mg.Tensor ? `Tensor${JSON.stringify(x.shape)}:${x.dtype}` : typeof x === 'symbol' ? 'Symbol' : typeof x === 'bigint' ? `${x}n` : ArrayBuffer.isView(x) ? `${x.constructor.name}(${(x as Float32Array).length})` : JSON.stringify(x) ?? String(x))).join(', ');

while (Date.now() - t0 < seconds * 1000) {
  const [name, gen, call, names] = pick(ENTRIES);
  const args = gen();
  calls++;
  try {
    call(...args);
    returned++;
  } catch (e) {
    threw++;
    const accepted = names ?? [name];
    if (!(e instanceof Error)) failures.push({ call: `${name}(${describeArgs(args)})`, problem: `threw a non-Error: ${String(e)}` });
    else if (!accepted.some((n) => e.message.includes(n))) failures.push({ call: `${name}(${describeArgs(args)})`, problem: `${e.name}: ${e.message.slice(0, 300)}` });
  }
  if (failures.length >= 50) break;
}
process.stdout.write(`${JSON.stringify({ seed, calls, returned, threw, failures })}\n`);
