/**
 * The native addon against independent JS computations: every kernel in float32 and float64,
 * the PyTorch RNG reference values, argument checking, the ISA variants and worker threads.
 * Run: npx mocha --require tsx/cjs test/native.test.ts
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import {
  BinaryOp,
  type FloatArray,
  native,
  ReduceOp,
  SolveMethod,
  UnaryOp,
} from '../ts/tensor/native';

type DType = 'float32' | 'float64';
const DTYPES: DType[] = ['float32', 'float64'];
const ROOT = path.resolve(__dirname, '..');

function make(dtype: DType, values: ArrayLike<number> | number): FloatArray {
  return dtype === 'float32' ? new Float32Array(values as number) : new Float64Array(values as number);
}

/** Deterministic pseudo-random numbers in [lo, hi). */
function lcg(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  };
}

function randomArray(dtype: DType, n: number, seed: number, lo = -1, hi = 1): FloatArray {
  const r = lcg(seed);
  return make(dtype, Array.from({ length: n }, () => r(lo, hi)));
}

/** Size of one unit in the last place of |x| in the dtype. */
function ulp(x: number, dtype: DType): number {
  const ax = Math.abs(x);
  if (dtype === 'float32') {
    const tiny = 2 ** -149;
    if (ax < 2 ** -126) return tiny;
    return 2 ** (Math.floor(Math.log2(Math.fround(ax))) - 23);
  }
  if (ax < 2 ** -1022) return 2 ** -1074;
  return 2 ** (Math.floor(Math.log2(ax)) - 52);
}

/** got equals ref within `ulps` units of ref's last place (NaN equals NaN, infinities exact). */
function assertClose(got: number, ref: number, dtype: DType, ulps: number, what: string): void {
  const r = dtype === 'float32' ? Math.fround(ref) : ref;
  if (!Number.isFinite(r)) {
    assert.ok(Object.is(got, r) || (Number.isNaN(got) && Number.isNaN(r)), `${what}: got ${got}, want ${r}`);
    return;
  }
  assert.ok(Math.abs(got - r) <= ulps * ulp(r, dtype), `${what}: got ${got}, want ${r} (±${ulps} ulp)`);
}

/** |got - ref| <= tol elementwise. */
function assertNear(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number | ArrayLike<number>, what: string): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const t = typeof tol === 'number' ? tol : tol[i];
    if (Number.isNaN(ref[i])) assert.ok(Number.isNaN(got[i]), `${what}[${i}]: got ${got[i]}, want NaN`);
    else if (!Number.isFinite(ref[i])) assert.equal(got[i], ref[i], `${what}[${i}]`);
    else assert.ok(Math.abs(got[i] - ref[i]) <= t, `${what}[${i}]: got ${got[i]}, want ${ref[i]} (±${t})`);
  }
}

const EPS: Record<DType, number> = { float32: 2 ** -23, float64: 2 ** -52 };

// --- unary -------------------------------------------------------------------------------

const sigmoidRef = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** JS reference and allowed error in ulps (libm and V8 may each be off by an ulp). */
const UNARY: [UnaryOp, string, (x: number) => number, number][] = [
  [UnaryOp.Neg, 'Neg', (x) => -x, 0],
  [UnaryOp.Exp, 'Exp', Math.exp, 2],
  [UnaryOp.Log, 'Log', Math.log, 2],
  [UnaryOp.Sqrt, 'Sqrt', Math.sqrt, 0],
  [UnaryOp.Abs, 'Abs', Math.abs, 0],
  [UnaryOp.Tanh, 'Tanh', Math.tanh, 2],
  [UnaryOp.Sigmoid, 'Sigmoid', sigmoidRef, 4],
  [UnaryOp.Relu, 'Relu', (x) => (x < 0 ? 0 : x), 0],
  [UnaryOp.Softplus, 'Softplus', (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0) + Math.log1p(Math.exp(-Math.abs(x))), 4],
  [UnaryOp.Square, 'Square', (x) => x * x, 1],
  [UnaryOp.Sign, 'Sign', (x) => (x > 0 ? 1 : x < 0 ? -1 : x), 0],
  [UnaryOp.Sin, 'Sin', Math.sin, 2],
  [UnaryOp.Cos, 'Cos', Math.cos, 2],
  [UnaryOp.Reciprocal, 'Reciprocal', (x) => 1 / x, 1],
  [UnaryOp.Step, 'Step', (x) => (x > 0 ? 1 : 0), 0],
  [UnaryOp.Log1p, 'Log1p', Math.log1p, 2],
  [UnaryOp.Expm1, 'Expm1', Math.expm1, 2],
];

const SPECIALS = [0, -0, 1, -1, 0.5, -0.5, 2.5, -3.75, 10, -10, 30, -30, 100, -100, 1e-30, -1e-30, 1e-42,
  88, 89, -87, -104, 700, -750, NaN, Infinity, -Infinity];

describe('native addon', () => {
  describe('unary', () => {
    for (const dtype of DTYPES) {
      for (const [op, name, f, ulps] of UNARY) {
        it(`${name} ${dtype}`, () => {
          // Specials plus random values; lengths exercise vector bodies and scalar tails.
          const r = lcg(op + 1);
          const values = [...SPECIALS, ...Array.from({ length: 77 }, () => r(-8, 8))];
          const a = make(dtype, values);
          const out = make(dtype, a.length);
          native.unary(op, a, out);
          for (let i = 0; i < a.length; i++) assertClose(out[i], f(a[i]), dtype, ulps, `${name}(${a[i]})`);
          // out aliasing a
          const copy = a.slice();
          native.unary(op, copy, copy);
          assert.deepEqual(Array.from(copy), Array.from(out));
        });
      }
    }

    it('the table above covers every unary op code', () => {
      const codes = Object.values(UnaryOp).filter((v): v is UnaryOp => typeof v === 'number');
      assert.deepEqual(UNARY.map(([op]) => op).sort((p, q) => p - q), codes.sort((p, q) => p - q));
    });

    it('rejects unknown op codes', () => {
      assert.throws(() => native.unary(17 as UnaryOp, new Float32Array(1), new Float32Array(1)), RangeError);
      assert.throws(() => native.unary(-1 as UnaryOp, new Float32Array(1), new Float32Array(1)), RangeError);
    });
  });

  // --- binary ------------------------------------------------------------------------------

  const BINARY: [BinaryOp, string, (x: number, y: number) => number, number][] = [
    [BinaryOp.Add, 'Add', (x, y) => x + y, 0],
    [BinaryOp.Sub, 'Sub', (x, y) => x - y, 0],
    [BinaryOp.Mul, 'Mul', (x, y) => x * y, 0],
    [BinaryOp.Div, 'Div', (x, y) => x / y, 0],
    [BinaryOp.Pow, 'Pow', Math.pow, 2],
    [BinaryOp.Maximum, 'Maximum', (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)), 0],
    [BinaryOp.Minimum, 'Minimum', (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)), 0],
    [BinaryOp.Gt, 'Gt', (x, y) => +(x > y), 0],
    [BinaryOp.Lt, 'Lt', (x, y) => +(x < y), 0],
    [BinaryOp.Ge, 'Ge', (x, y) => +(x >= y), 0],
    [BinaryOp.Le, 'Le', (x, y) => +(x <= y), 0],
    [BinaryOp.Eq, 'Eq', (x, y) => +(x === y), 0],
    // The fused backward rules: g·(1 − y²), g·y·(1 − y), and relu's mask (0 where x ≤ 0 or NaN).
    // The compiler may fuse 1 − y·y into one multiply-add on FMA variants: a few ulps in float64.
    [BinaryOp.TanhGrad, 'TanhGrad', (g, y) => g * (1 - y * y), 4],
    [BinaryOp.SigmoidGrad, 'SigmoidGrad', (g, y) => g * (y * (1 - y)), 4],
    [BinaryOp.ReluGrad, 'ReluGrad', (g, x) => (x > 0 ? g : 0), 0],
  ];

  it('the binary table covers every binary op code', () => {
    const codes = Object.values(BinaryOp).filter((v): v is BinaryOp => typeof v === 'number');
    assert.deepEqual(BINARY.map(([op]) => op).sort((p, q) => p - q), codes.sort((p, q) => p - q));
  });

  /** Row-major strides of `shape`, 0 where the operand has size 1 (broadcast). */
  function broadcastStrides(shape: number[], outShape: number[]): number[] {
    const lead = outShape.length - shape.length;
    const full = [...Array(lead).fill(1), ...shape];
    const strides = new Array(outShape.length).fill(0);
    let s = 1;
    for (let d = outShape.length - 1; d >= 0; d--) {
      strides[d] = full[d] === 1 ? 0 : s;
      s *= full[d];
    }
    return strides;
  }

  /** Naive strided evaluation, independent of the addon's dimension merging. */
  function binaryRef(f: (x: number, y: number) => number, a: FloatArray, as: number[], b: FloatArray, bs: number[], shape: number[]): number[] {
    const n = shape.reduce((p, d) => p * d, 1);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let rem = i;
      let ia = 0;
      let ib = 0;
      for (let d = shape.length - 1; d >= 0; d--) {
        const idx = rem % shape[d];
        rem = Math.floor(rem / shape[d]);
        ia += idx * as[d];
        ib += idx * bs[d];
      }
      out.push(f(a[ia], b[ib]));
    }
    return out;
  }

  const CASES: { name: string; a: number[]; b: number[]; out: number[]; aStrides?: number[] }[] = [
    { name: 'same shape', a: [3, 37], b: [3, 37], out: [3, 37] },
    { name: 'row vector', a: [4, 19], b: [19], out: [4, 19] },
    { name: 'column vector', a: [19, 1], b: [19, 5], out: [19, 5] },
    { name: 'outer', a: [4, 1, 3], b: [1, 5, 1], out: [4, 5, 3] },
    { name: 'scalar b', a: [2, 3, 11], b: [], out: [2, 3, 11] },
    { name: 'scalar a', a: [1], b: [33], out: [33] },
    { name: 'rank 8', a: [2, 1, 2, 1, 2, 1, 2, 3], b: [1, 2, 1, 2, 1, 2, 1, 3], out: [2, 2, 2, 2, 2, 2, 2, 3] },
    { name: 'transposed a', a: [5, 7], b: [7, 5], out: [7, 5], aStrides: [1, 7] },
    { name: 'empty', a: [0, 3], b: [3], out: [0, 3] },
  ];

  describe('binary', () => {
    for (const dtype of DTYPES) {
      for (const [op, name, f, ulps] of BINARY) {
        it(`${name} ${dtype} with broadcasting`, () => {
          for (const c of CASES) {
            const na = c.a.reduce((p, d) => p * d, 1);
            const nb = c.b.reduce((p, d) => p * d, 1);
            const lo = op === BinaryOp.Pow ? 0.1 : -4;
            const a = randomArray(dtype, na, 11 + op, lo, 4);
            const b = randomArray(dtype, nb, 97 + op, -4, 4);
            if (na > 2 && op !== BinaryOp.Pow) {
              a[1] = NaN;
              b[0] = a[2]; // some equal pairs for the comparisons
            }
            const as = c.aStrides ?? broadcastStrides(c.a, c.out);
            const bs = broadcastStrides(c.b, c.out);
            const n = c.out.reduce((p, d) => p * d, 1);
            const out = make(dtype, n);
            native.binary(op, a, Int32Array.from(as), b, Int32Array.from(bs), out, Int32Array.from(c.out));
            const ref = binaryRef(f, a, as, b, bs, c.out);
            if (op === BinaryOp.TanhGrad || op === BinaryOp.SigmoidGrad) {
              // 1 − y² cancels near |y| = 1, and FMA variants may contract it: judge the error
              // against the size of the terms, |g|·(1 + y²), not of the result.
              const big = (v: ArrayLike<number>): number => Math.max(0, ...Array.from(v, (t) => (Number.isFinite(t) ? Math.abs(t) : 0)));
              const scale = big(a) * (1 + big(b) ** 2);
              for (let i = 0; i < n; i++) {
                if (Number.isNaN(ref[i])) assert.ok(Number.isNaN(out[i]), `${name} ${c.name} [${i}]: want NaN`);
                else assert.ok(Math.abs(out[i] - ref[i]) <= 8 * EPS[dtype] * scale, `${name} ${c.name} [${i}]: got ${out[i]}, want ${ref[i]}`);
              }
              continue;
            }
            for (let i = 0; i < n; i++) assertClose(out[i], ref[i], dtype, ulps, `${name} ${c.name} [${i}]`);
          }
        });
      }
    }

    it('out may alias a contiguous same-shape operand', () => {
      const a = randomArray('float64', 50, 3);
      const b = randomArray('float64', 50, 4);
      const ref = Array.from(a, (x, i) => x * b[i]);
      const s = Int32Array.of(1);
      native.binary(BinaryOp.Mul, a, s, b, s, a, Int32Array.of(50));
      assert.deepEqual(Array.from(a), ref);
    });

    it('pow follows C/PyTorch: pow(1, NaN) = 1, pow(NaN, 0) = 1', () => {
      const out = new Float64Array(2);
      native.binary(BinaryOp.Pow, Float64Array.of(1, NaN), Int32Array.of(1), Float64Array.of(NaN, 0), Int32Array.of(1), out, Int32Array.of(2));
      assert.deepEqual(Array.from(out), [1, 1]);
    });
  });

  // --- reductions & softmax -----------------------------------------------------------------

  const REDUCE_REF: Record<ReduceOp, (xs: number[]) => number> = {
    [ReduceOp.Sum]: (xs) => xs.reduce((p, x) => p + x, 0),
    [ReduceOp.Prod]: (xs) => xs.reduce((p, x) => p * x, 1),
    [ReduceOp.Max]: (xs) => (xs.some(Number.isNaN) ? NaN : Math.max(...xs)),
    [ReduceOp.Min]: (xs) => (xs.some(Number.isNaN) ? NaN : Math.min(...xs)),
  };

  /** The [outer, len, inner] slices along the middle axis. */
  function slices(a: ArrayLike<number>, outer: number, len: number, inner: number): number[][] {
    const out: number[][] = [];
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) out.push(Array.from({ length: len }, (_, l) => a[(o * len + l) * inner + i]));
    return out;
  }

  const SHAPES: [number, number, number][] = [[1, 10, 1], [3, 7, 1], [2, 5, 4], [3, 300, 2], [2, 3, 300], [4, 1, 3], [1, 33, 1]];

  describe('reduce', () => {
    for (const dtype of DTYPES) {
      for (const [op, name] of [[ReduceOp.Sum, 'Sum'], [ReduceOp.Max, 'Max'], [ReduceOp.Min, 'Min'], [ReduceOp.Prod, 'Prod']] as const) {
        it(`${name} ${dtype}`, () => {
          for (const [outer, len, inner] of SHAPES) {
            // Prod over many elements stays finite with values near ±1.
            const a = op === ReduceOp.Prod ? randomArray(dtype, outer * len * inner, 5, 0.9, 1.1) : randomArray(dtype, outer * len * inner, 5);
            if (op !== ReduceOp.Prod && a.length > 20) a[7] = NaN; // NaN propagates
            const out = make(dtype, outer * inner);
            native.reduce(op, a, out, outer, len, inner);
            const ref = slices(a, outer, len, inner).map(REDUCE_REF[op]);
            const tol = ref.map((v) => 4 * EPS[dtype] * Math.abs(v) + (op === ReduceOp.Sum ? len * 1e-15 : 0));
            assertNear(out, ref, tol, `${name} [${outer},${len},${inner}]`);
          }
        });
      }

      it(`empty axis ${dtype}: Sum 0, Prod 1, Max throws`, () => {
        const out = make(dtype, 2);
        native.reduce(ReduceOp.Sum, make(dtype, 0), out, 2, 0, 1);
        assert.deepEqual(Array.from(out), [0, 0]);
        native.reduce(ReduceOp.Prod, make(dtype, 0), out, 1, 0, 2);
        assert.deepEqual(Array.from(out), [1, 1]);
        assert.throws(() => native.reduce(ReduceOp.Max, make(dtype, 0), out, 1, 0, 2), RangeError);
      });

      it(`argReduce ${dtype}: first occurrence, NaN wins`, () => {
        for (const [outer, len, inner] of SHAPES) {
          const a = make(dtype, Array.from(randomArray('float64', outer * len * inner, 9), (x) => Math.round(x * 4))); // many ties
          if (a.length > 20) a[a.length - 3] = NaN;
          for (const op of [ReduceOp.Max, ReduceOp.Min]) {
            const out = make(dtype, outer * inner);
            const idx = new Int32Array(outer * inner);
            native.argReduce(op, a, out, idx, outer, len, inner);
            slices(a, outer, len, inner).forEach((xs, s) => {
              const nan = xs.findIndex(Number.isNaN);
              const best = REDUCE_REF[op](xs);
              const want = nan >= 0 ? nan : xs.indexOf(best);
              assert.equal(idx[s], want, `arg${op === ReduceOp.Max ? 'max' : 'min'} slice ${s}`);
              assertClose(out[s], best, dtype, 0, 'value');
            });
          }
        }
      });
    }

    it('argReduce rejects Sum and Prod', () => {
      assert.throws(() => native.argReduce(ReduceOp.Sum, new Float32Array(4), new Float32Array(1), new Int32Array(1), 1, 4, 1), RangeError);
    });
  });

  describe('softmax', () => {
    for (const dtype of DTYPES) {
      for (const log of [false, true]) {
        it(`${log ? 'log-' : ''}softmax ${dtype}`, () => {
          const rows = 5;
          const cols = 37;
          const a = randomArray(dtype, rows * cols, 21, -5, 5);
          for (let j = 0; j < cols; j++) a[cols + j] = 1000 + j; // would overflow without the max shift
          a[2 * cols] = -Infinity;
          const out = make(dtype, rows * cols);
          native.softmax(a, out, rows, cols, log);
          const ref: number[] = [];
          for (let r = 0; r < rows; r++) {
            const xs = Array.from(a.subarray(r * cols, (r + 1) * cols));
            const mx = Math.max(...xs);
            const lse = Math.log(xs.reduce((p, x) => p + Math.exp(x - mx), 0));
            for (const x of xs) ref.push(log ? x - mx - lse : Math.exp(x - mx - lse));
          }
          assertNear(out, ref, ref.map((v) => 8 * EPS[dtype] * Math.max(1, Math.abs(v))), 'softmax');
          const copy = a.slice();
          native.softmax(copy, copy, rows, cols, log); // in place
          assert.deepEqual(Array.from(copy), Array.from(out));
        });
      }
    }
  });

  // --- matmul -----------------------------------------------------------------------------

  /** Naive batched op(A)·op(B) and the sum of |terms| (the error bound's scale). */
  function matmulRef(a: FloatArray, b: FloatArray, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean, as: number, bs: number): { ref: Float64Array; scale: Float64Array } {
    const ref = new Float64Array(batch * m * n);
    const scale = new Float64Array(batch * m * n);
    for (let t = 0; t < batch; t++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          let sa = 0;
          for (let p = 0; p < k; p++) {
            const x = a[t * as + (ta ? p * m + i : i * k + p)] * b[t * bs + (tb ? j * k + p : p * n + j)];
            s += x;
            sa += Math.abs(x);
          }
          ref[(t * m + i) * n + j] = s;
          scale[(t * m + i) * n + j] = sa;
        }
    return { ref, scale };
  }

  function checkMatmul(dtype: DType, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean, as: number, bs: number): void {
    const a = randomArray(dtype, Math.max(1, (batch - 1) * as + m * k), m * 7 + k);
    const b = randomArray(dtype, Math.max(1, (batch - 1) * bs + k * n), n * 13 + k);
    const out = make(dtype, batch * m * n).fill(NaN);
    native.matmul(a, b, out, batch, m, k, n, ta, tb, as, bs);
    const { ref, scale } = matmulRef(a, b, batch, m, k, n, ta, tb, as, bs);
    assertNear(out, ref, Array.from(scale, (s) => 2 * (k + 2) * EPS[dtype] * s + 1e-30), `matmul ${dtype} b${batch} ${m}x${k}x${n} tA=${ta} tB=${tb} strides ${as},${bs}`);
  }

  describe('matmul', () => {
    for (const dtype of DTYPES) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          it(`${dtype} transA=${ta} transB=${tb}`, () => {
            checkMatmul(dtype, 1, 1, 1, 1, ta, tb, 1, 1);
            checkMatmul(dtype, 1, 2, 3, 4, ta, tb, 6, 12);
            checkMatmul(dtype, 3, 37, 53, 29, ta, tb, 37 * 53, 53 * 29);
            checkMatmul(dtype, 4, 9, 17, 5, ta, tb, 0, 17 * 5); // A broadcast over the batch
            checkMatmul(dtype, 4, 9, 17, 5, ta, tb, 9 * 17, 0); // B broadcast over the batch
          });
        }
      }
    }

    it('splits large products across threads with the same results', function () {
      this.timeout(120000);
      const before = native.backendInfo().threads;
      try {
        for (const threads of [1, 2]) {
          native.setNumThreads(threads);
          assert.equal(native.backendInfo().threads, threads);
          checkMatmul('float32', 1, 300, 300, 300, false, true, 0, 0); // split by rows
          checkMatmul('float32', 1, 20, 1000, 1000, true, false, 0, 0); // split by columns
          checkMatmul('float64', 4, 200, 200, 200, false, false, 200 * 200, 0); // split by batch
          checkMatmul('float32', 3, 200, 200, 200, false, false, 0, 200 * 200); // uneven batch: rows
        }
      } finally {
        native.setNumThreads(before);
      }
    });

    it('k = 0 gives zeros, empty m or n is a no-op', () => {
      const out = new Float64Array(6).fill(7);
      native.matmul(new Float64Array(0), new Float64Array(0), out, 1, 2, 0, 3, false, false, 0, 0);
      assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
      native.matmul(new Float64Array(0), new Float64Array(24), new Float64Array(0), 2, 0, 3, 4, false, false, 0, 12);
    });
  });

  // --- solveDense ---------------------------------------------------------------------------

  describe('solveDense', () => {
    /** Symmetric positive definite: M Mᵀ + n I. */
    function spd(dtype: DType, n: number, seed: number): FloatArray {
      const m = randomArray('float64', n * n, seed);
      const a = make(dtype, n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = i === j ? n : 0;
          for (let p = 0; p < n; p++) s += m[i * n + p] * m[j * n + p];
          a[i * n + j] = s;
        }
      return a;
    }

    for (const dtype of DTYPES) {
      for (const [method, name] of [[SolveMethod.Lu, 'LU'], [SolveMethod.Cholesky, 'Cholesky'], [SolveMethod.Qr, 'QR']] as const) {
        it(`${name} ${dtype} solves A X = B`, () => {
          const n = 6;
          const nrhs = 3;
          const a = spd(dtype, n, 31);
          const b = randomArray(dtype, n * nrhs, 32);
          const x = make(dtype, n * nrhs);
          assert.equal(native.solveDense(method, a, b, x, n, nrhs), 0);
          // residual A X - B, relative to |A| |X| + |B|
          for (let i = 0; i < n; i++)
            for (let r = 0; r < nrhs; r++) {
              let s = -b[i * nrhs + r];
              let scale = Math.abs(b[i * nrhs + r]);
              for (let p = 0; p < n; p++) {
                s += a[i * n + p] * x[p * nrhs + r];
                scale += Math.abs(a[i * n + p] * x[p * nrhs + r]);
              }
              assert.ok(Math.abs(s) <= 50 * n * EPS[dtype] * scale, `${name} residual ${s}`);
            }
          // out may alias b
          const bb = b.slice();
          assert.equal(native.solveDense(method, a, bb, bb, n, nrhs), 0);
          assertNear(bb, x, Array.from(x, (v) => 1e3 * EPS[dtype] * Math.max(1, Math.abs(v))), 'aliased solve');
        });

        it(`${name} ${dtype} reports singular / indefinite matrices`, () => {
          const n = 4;
          // rank 1: u vᵀ (singular, and only positive semi-definite when u = v)
          const u = [1, 2, 3, 4];
          const singular = make(dtype, u.flatMap((ui) => u.map((uj) => ui * uj)));
          const b = make(dtype, n).fill(1);
          assert.equal(native.solveDense(method, singular, b, make(dtype, n), n, 1), 1);
          const zero = make(dtype, n * n);
          assert.equal(native.solveDense(method, zero, b, make(dtype, n), n, 1), 1);
        });
      }

      it(`Cholesky ${dtype} rejects an indefinite matrix that LU solves`, () => {
        const a = make(dtype, [1, 2, 2, 1]); // eigenvalues 3, -1
        const b = make(dtype, [1, 1]);
        assert.equal(native.solveDense(SolveMethod.Cholesky, a, b, make(dtype, 2), 2, 1), 1);
        const x = make(dtype, 2);
        assert.equal(native.solveDense(SolveMethod.Lu, a, b, x, 2, 1), 0);
        assertNear(x, [1 / 3, 1 / 3], 4 * EPS[dtype], 'LU of indefinite');
      });
    }

    it('n = 0 succeeds', () => {
      assert.equal(native.solveDense(SolveMethod.Lu, new Float64Array(0), new Float64Array(0), new Float64Array(0), 0, 3), 0);
    });
  });

  // --- rng ----------------------------------------------------------------------------------

  describe('rng (PyTorch CPU generator)', () => {
    interface RngCall { call: string; dtype: DType; values: number[] | Record<string, number[] | number[][]> }
    interface RngCase { seed: number; calls: RngCall[] }

    // Produced from real PyTorch by scripts/fixtures/torch_reference.py.
    function loadReference(): RngCase[] {
      const file = path.join(ROOT, 'test', 'fixtures', 'torch_reference.json');
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: RngCase[] }).cases;
    }

    const newState = (seed: number): { state: Uint32Array; cache: Float64Array } => {
      const state = new Uint32Array(626);
      native.rngSeed(state, seed >>> 0, Math.floor(seed / 2 ** 32));
      return { state, cache: new Float64Array(2) };
    };

    it('randn([4]) after manual_seed(0)', () => {
      const { state, cache } = newState(0);
      const out = new Float32Array(4);
      native.rngNormal(state, cache, out, 0, 1);
      assert.deepEqual(Array.from(out), [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991]);
    });

    it('matches every randn / rand stream of the reference', () => {
      let checked = 0;
      for (const c of loadReference()) {
        if (!c.calls.every((call) => Array.isArray(call.values))) continue;
        const { state, cache } = newState(c.seed);
        for (const call of c.calls) {
          const want = call.values as number[];
          const out = make(call.dtype, want.length);
          if (call.call.startsWith('randn')) native.rngNormal(state, cache, out, 0, 1);
          else native.rngUniform(state, out, 0, 1);
          // float32 16-blocks: PyTorch uses SLEEF's log/sin/cos there, libm may differ by an ulp or two.
          const ulps = call.dtype === 'float32' && call.call.startsWith('randn') && want.length >= 16 ? 2 : 0;
          want.forEach((v, i) => assertClose(out[i], v, call.dtype, ulps, `seed ${c.seed} ${call.call} ${call.dtype} [${i}]`));
          checked++;
        }
      }
      assert.ok(checked >= 10, `only ${checked} reference calls found`);
    });

    it('reproduces the default init of nn.Linear pairs (kaiming_uniform_ bounds, power-of-two and not)', () => {
      const cases = loadReference().filter((x) => x.calls[0].call.startsWith('new nn.Linear'));
      assert.ok(cases.length >= 2, 'nn.Linear cases missing from the reference');
      for (const c of cases) {
      const sizes = [...c.calls[0].call.matchAll(/nn\.Linear\((\d+), (\d+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      const want = c.calls[0].values as Record<string, number[][] | number[]>;
      const { state } = newState(c.seed);
      for (const [name, fanIn, fanOut] of [['linear1', ...sizes[0]], ['linear2', ...sizes[1]]] as [string, number, number][]) {
        const gain = Math.sqrt(2 / (1 + Math.sqrt(5) ** 2));
        const weightBound = Math.sqrt(3) * (gain / Math.sqrt(fanIn));
        const biasBound = 1 / Math.sqrt(fanIn);
        const w = new Float32Array(fanIn * fanOut);
        native.rngUniform(state, w, -weightBound, weightBound);
        assert.deepEqual(Array.from(w), (want[`${name}.weight`] as number[][]).flat(), `${name}.weight`);
        const b = new Float32Array(fanOut);
        native.rngUniform(state, b, -biasBound, biasBound);
        assert.deepEqual(Array.from(b), want[`${name}.bias`], `${name}.bias`);
      }
      }
    });

    it('mean/std, the cached Box–Muller sample and reseeding', () => {
      const { state, cache } = newState(7);
      const one = new Float64Array(1);
      native.rngNormal(state, cache, one, 0, 1);
      const first = one[0];
      assert.equal(state[625] & 1, 1, 'second sample cached');
      native.rngNormal(state, cache, one, 3, 2);
      assert.equal(one[0], cache[0] * 2 + 3);
      assert.equal(state[625] & 1, 0, 'cache consumed');
      native.rngSeed(state, 7, 0);
      assert.equal(state[625], 0, 'reseeding clears the cache flags');
      native.rngNormal(state, cache, one, 0, 1);
      assert.equal(one[0], first);
      // Only the low 32 bits of the seed matter (at::mt19937).
      const hi = newState(7 + 2 ** 32);
      const x = new Float64Array(3);
      const y = new Float64Array(3);
      native.rngUniform(hi.state, x, -1, 1);
      native.rngUniform(newState(7).state, y, -1, 1);
      assert.deepEqual(Array.from(x), Array.from(y));
    });
  });

  // --- argument checking ----------------------------------------------------------------------

  describe('bad input throws instead of crashing', () => {
    const f32 = (n: number): Float32Array => new Float32Array(n);
    const f64 = (n: number): Float64Array => new Float64Array(n);
    const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const loose = native as any;

    it('mismatched dtypes', () => {
      assert.throws(() => native.matmul(f32(4), f64(4), f32(4), 1, 2, 2, 2, false, false, 0, 0), { name: 'TypeError', message: /^matmul: b must be a Float32Array/ });
      assert.throws(() => native.unary(UnaryOp.Exp, f32(4), f64(4)), TypeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(1), i32(1), f64(1), i32(1), f32(1), i32(1)), TypeError);
      assert.throws(() => native.reduce(ReduceOp.Sum, f64(4), f32(1), 1, 4, 1), TypeError);
      assert.throws(() => native.softmax(f32(4), f64(4), 1, 4, false), TypeError);
      assert.throws(() => native.solveDense(SolveMethod.Lu, f64(4), f32(2), f64(2), 2, 1), TypeError);
      assert.throws(() => loose.unary(UnaryOp.Exp, new Int32Array(4), new Int32Array(4)), TypeError);
      assert.throws(() => loose.unary(UnaryOp.Exp, [1, 2], f32(2)), TypeError);
      assert.throws(() => loose.binary(BinaryOp.Add, f32(1), [1], f32(1), i32(1), f32(1), i32(1)), TypeError);
      assert.throws(() => loose.argReduce(ReduceOp.Max, f32(4), f32(1), new Uint32Array(1), 1, 4, 1), TypeError);
      assert.throws(() => loose.rngSeed(new Int32Array(626), 0, 0), TypeError);
      assert.throws(() => loose.rngNormal(new Uint32Array(626), new Float32Array(2), f32(1), 0, 1), TypeError);
    });

    it('buffers too short for the given sizes', () => {
      assert.throws(() => native.matmul(f32(5), f32(6), f32(6), 1, 2, 3, 2, false, false, 0, 0), { name: 'RangeError', message: /^matmul: a has 5 elements, needs 6/ });
      assert.throws(() => native.matmul(f32(11), f32(6), f32(8), 2, 2, 3, 2, false, false, 6, 0), RangeError);
      assert.throws(() => native.matmul(f32(6), f32(6), f32(3), 1, 2, 3, 2, false, false, 0, 0), RangeError);
      assert.throws(() => native.matmul(f32(6), f32(6), f32(4), 2, 2, 3, 2, false, false, 1, 0), RangeError);
      assert.throws(() => native.unary(UnaryOp.Neg, f32(5), f32(4)), RangeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(3), i32(1), f32(4), i32(1), f32(4), i32(4)), RangeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(4), i32(1), f32(4), i32(1), f32(3), i32(4)), RangeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(20), i32(5, 1), f32(4), i32(0, 1), f32(20), i32(5, 4)), RangeError); // stride reaches 24
      assert.throws(() => native.binary(BinaryOp.Add, f32(4), i32(-1), f32(4), i32(1), f32(4), i32(4)), RangeError); // negative reach
      assert.throws(() => native.reduce(ReduceOp.Sum, f32(11), f32(3), 3, 4, 1), RangeError);
      assert.throws(() => native.reduce(ReduceOp.Sum, f32(12), f32(2), 3, 4, 1), RangeError);
      assert.throws(() => native.argReduce(ReduceOp.Max, f32(12), f32(3), i32(0, 0), 3, 4, 1), RangeError);
      assert.throws(() => native.softmax(f32(11), f32(12), 3, 4, true), RangeError);
      assert.throws(() => native.solveDense(SolveMethod.Qr, f64(8), f64(2), f64(2), 3, 1), RangeError);
      assert.throws(() => native.rngSeed(new Uint32Array(625), 0, 0), RangeError);
      assert.throws(() => native.rngNormal(new Uint32Array(626), new Float64Array(1), f32(1), 0, 1), RangeError);
    });

    it('im2col/col2im: bad geometry and short buffers', () => {
      // B, C, H, W, kh, kw, pad top, pad left, stride h, stride w, dilation h, dilation w, oh, ow
      const geo = (...w: number[]): Int32Array => Int32Array.from(w);
      const ok = geo(1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4);
      native.im2col(f32(16), f32(144), ok, 0);
      native.col2im(f32(144), f32(16), ok);
      assert.throws(() => native.im2col(f32(15), f32(144), ok, 0), { name: 'RangeError', message: /^im2col: img has 15 elements, needs 16/ });
      assert.throws(() => native.im2col(f32(16), f32(143), ok, 0), { name: 'RangeError', message: /^im2col: cols has 143 elements, needs 144/ });
      assert.throws(() => native.col2im(f32(144), f32(15), ok), { name: 'RangeError', message: /^col2im: img has 15/ });
      assert.throws(() => native.im2col(f32(16), f32(144), geo(1, 1, 4, 4), 0), { name: 'RangeError', message: /geometry must have 14 entries, got 4/ });
      assert.throws(() => native.im2col(f32(16), f32(144), geo(1, 1, 4, 4, 3, 3, 1, 1, 0, 1, 1, 1, 4, 4), 0), /strides and dilations must be >= 1/);
      assert.throws(() => native.im2col(f32(16), f32(144), geo(1, 1, 4, 4, 3, 3, -1, 1, 1, 1, 1, 1, 4, 4), 0), /padding must be >= 0/);
      assert.throws(() => native.im2col(f32(16), f32(144), geo(1, -1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4), 0), /sizes must be >= 0/);
      assert.throws(() => native.im2col(f32(16), f32(144), geo(2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 3, 3, 0, 0, 1, 1, 1, 1, 2 ** 31 - 1, 2 ** 31 - 1), 0), /sizes overflow/);
      assert.throws(() => native.im2col(f32(16), f64(144), ok, 0), TypeError);
      const shared = new Float32Array(200);
      assert.throws(() => native.im2col(shared.subarray(0, 16), shared.subarray(10, 154), ok, 0), /must not overlap/);
      assert.throws(() => loose.im2col(f32(16), f32(144), [1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4], 0), TypeError);
      // An empty output returns at once, whatever the other sizes.
      const t0 = Date.now();
      native.im2col(f32(0), f32(0), geo(2 ** 30, 2 ** 30, 0, 0, 3, 3, 0, 0, 1, 1, 1, 1, 0, 0), 0);
      assert.ok(Date.now() - t0 < 500);
    });

    it('bad sizes, ranks, flags and arity', () => {
      assert.throws(() => native.matmul(f32(4), f32(4), f32(4), 1, -2, 2, 2, false, false, 0, 0), RangeError);
      assert.throws(() => native.matmul(f32(4), f32(4), f32(4), 1, 1.5, 2, 2, false, false, 0, 0), RangeError);
      assert.throws(() => native.matmul(f32(4), f32(4), f32(4), 1, 2 ** 40, 2 ** 40, 2, false, false, 0, 0), RangeError);
      assert.throws(() => loose.matmul(f32(4), f32(4), f32(4), 1, 2, 2, 2, 0, false, 0, 0), TypeError);
      assert.throws(() => loose.matmul(f32(4), f32(4), f32(4), 1, '2', 2, 2, false, false, 0, 0), TypeError);
      assert.throws(() => loose.matmul(f32(4), f32(4), f32(4)), { name: 'TypeError', message: /^matmul: expected 11 arguments/ });
      const nine = Int32Array.from(Array(9).fill(1));
      assert.throws(() => native.binary(BinaryOp.Add, f32(1), nine, f32(1), nine, f32(1), nine), RangeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(1), i32(1, 1), f32(1), i32(1), f32(1), i32(1)), RangeError);
      assert.throws(() => native.binary(BinaryOp.Add, f32(1), i32(0), f32(1), i32(0), f32(1), i32(-1)), RangeError);
      assert.throws(() => native.binary(Object.keys(BinaryOp).length / 2 as BinaryOp, f32(1), i32(0), f32(1), i32(0), f32(1), i32(1)), RangeError);
      assert.throws(() => native.solveDense(3 as SolveMethod, f64(1), f64(1), f64(1), 1, 1), RangeError);
      assert.throws(() => native.setNumThreads(0), RangeError);
    });

    it('matmul refuses an out that overlaps an input', () => {
      const buf = new Float32Array(12);
      assert.throws(() => native.matmul(buf.subarray(0, 4), buf.subarray(4, 8), buf.subarray(2, 6), 1, 2, 2, 2, false, false, 0, 0), RangeError);
    });

    it('detached buffers are treated as empty', () => {
      const a = new Float32Array(4);
      structuredClone(a.buffer, { transfer: [a.buffer] });
      assert.throws(() => native.unary(UnaryOp.Neg, f32(4), a), RangeError);
    });
  });

  // --- backend, ISA variants, workers ----------------------------------------------------------

  describe('backend', () => {
    it('backendInfo', () => {
      const info = native.backendInfo();
      assert.deepEqual(Object.keys(info).sort(), ['compiledIsas', 'compiler', 'eigen', 'isa', 'threads']);
      assert.ok(info.compiledIsas.includes('baseline'));
      assert.ok(info.compiledIsas.includes(info.isa));
      assert.match(info.eigen, /^3\.\d+\.\d+$/);
      assert.ok(Number.isInteger(info.threads) && info.threads >= 1);
      assert.equal(typeof info.compiler, 'string');
      if (process.arch === 'x64') assert.deepEqual(info.compiledIsas, ['baseline', 'avx2', 'avx512']);
      // arm64: one variant, armv8-a with NEON (always present there), which Eigen vectorises with.
      if (process.arch === 'arm64') assert.deepEqual(info.compiledIsas, ['baseline']);
    });

    /** What the CPU can run, from /proc/cpuinfo (Linux); undefined elsewhere. */
    function cpuSupports(isa: string): boolean | undefined {
      if (!fs.existsSync('/proc/cpuinfo')) return undefined;
      const flags = new Set((/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
      if (isa === 'baseline') return true;
      const avx2 = flags.has('avx2') && flags.has('fma');
      if (isa === 'avx2') return avx2;
      return avx2 && ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f));
    }

    // A child process computes a fixed product and softmax with METAGRAD_ISA forcing a variant.
    const CHILD = `
      const { native } = require(${JSON.stringify(path.join(ROOT, 'ts', 'tensor', 'native'))});
      let s = 12345; const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
      const m = 67, k = 45, n = 39;
      const res = {};
      for (const T of [Float32Array, Float64Array]) {
        const a = T.from({ length: m * k }, r), b = T.from({ length: k * n }, r), out = new T(m * n);
        native.matmul(a, b, out, 1, m, k, n, false, true, 0, 0);
        const sm = new T(m * k); native.softmax(a, sm, m, k, false);
        const ex = new T(m * k); native.unary(1, a, ex);
        res[T.name] = [...out, ...sm, ...ex];
      }
      process.stdout.write(JSON.stringify({ isa: native.backendInfo().isa, res }));`;

    it('every forced ISA variant gives the same results', function () {
      this.timeout(120000);
      const runs = native.backendInfo().compiledIsas.map((isa) => {
        const stdout = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', CHILD], {
          cwd: ROOT,
          env: { ...process.env, METAGRAD_ISA: isa },
          encoding: 'utf8',
        });
        return { forced: isa, ...(JSON.parse(stdout) as { isa: string; res: Record<string, number[]> }) };
      });
      for (const run of runs) {
        const supported = cpuSupports(run.forced);
        if (supported !== undefined && native.backendInfo().compiledIsas.includes(run.forced as never))
          assert.equal(run.isa === run.forced, supported, `METAGRAD_ISA=${run.forced} ran ${run.isa}`);
      }
      const base = runs[0].res;
      for (const run of runs.slice(1))
        for (const [type, tol] of [['Float32Array', 1e-5], ['Float64Array', 1e-13]] as const)
          assertNear(run.res[type], base[type], tol, `${run.isa} vs baseline ${type}`);
    });

    it('settings it cannot honour are reported at load (METAGRAD_ISA, METAGRAD_NUM_THREADS), not ignored silently', function () {
      this.timeout(60000);
      const load = `require(${JSON.stringify(path.join(ROOT, 'ts', 'tensor', 'native'))}); process.stdout.write(JSON.stringify(require(${JSON.stringify(path.join(ROOT, 'ts', 'tensor', 'native'))}).native.backendInfo()));`;
      const child = (env: Record<string, string>): { stderr: string; info: { isa: string; threads: number } } => {
        const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', load], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return { stderr: r.stderr, info: JSON.parse(r.stdout) as { isa: string; threads: number } };
      };
      const bogus = child({ METAGRAD_ISA: 'bogus' });
      assert.match(bogus.stderr, new RegExp(`METAGRAD_ISA="bogus" is ignored: it is not a kernel variant of this build \\(baseline[^)]*\\); using ${bogus.info.isa}`));
      const threads = child({ METAGRAD_NUM_THREADS: 'abc' });
      assert.match(threads.stderr, new RegExp(`METAGRAD_NUM_THREADS="abc" is not a positive integer; using ${threads.info.threads} threads`));
      const fine = child({ METAGRAD_ISA: 'baseline', METAGRAD_NUM_THREADS: '1' });
      assert.doesNotMatch(fine.stderr, /METAGRAD_IGNORED_SETTING|is ignored|not a positive integer/);
      assert.equal(fine.info.threads, 1);
    });

    it('loads and runs in worker threads', async function () {
      this.timeout(60000);
      const code = `
        require('tsx/cjs');
        const { parentPort } = require('node:worker_threads');
        const { native } = require(${JSON.stringify(path.join(ROOT, 'ts', 'tensor', 'native'))});
        const a = Float64Array.of(1, 2, 3, 4), b = Float64Array.of(5, 6, 7, 8), out = new Float64Array(4);
        native.matmul(a, b, out, 1, 2, 2, 2, false, false, 0, 0);
        native.setNumThreads(1); // per worker: must not change the main thread's setting
        parentPort.postMessage({ out: Array.from(out), info: native.backendInfo() });`;
      const before = native.backendInfo().threads;
      const runWorker = (): Promise<{ out: number[]; info: { threads: number } }> =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true });
          w.once('message', (m) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        });
      const results = await Promise.all([runWorker(), runWorker()]);
      for (const r of results) {
        assert.deepEqual(r.out, [19, 22, 43, 50]);
        assert.equal(r.info.threads, 1);
      }
      assert.equal(native.backendInfo().threads, before);
      assert.deepEqual(Array.from((await runWorker()).out), [19, 22, 43, 50]); // after others ended
    });
  });
});
