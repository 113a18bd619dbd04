/**
 * Every kernel gives the same values on its JavaScript path (small tensors) and its native path
 * (large ones), special values included: which path runs depends only on the size, so a
 * difference would make results change with the batch size (as pow(1, ∞) once did).
 */
import * as assert from 'node:assert/strict';
import { BinaryOp, UnaryOp, binaryInto, unaryInto } from '../ts/tensor/kernels/elementwise';
import { forceKernelPath } from '../ts/tensor/kernels/dispatch';
import { ReduceOp, argReduceInto, reduceInto } from '../ts/tensor/kernels/reduce';
import { matmulInto, softmaxInto } from '../ts/tensor/kernels/matmul';
import { type Im2colGeometry, col2imInto, im2colInto, sweepSize } from '../ts/tensor/kernels/im2col';

type Arr = Float32Array | Float64Array;
type Dt = 'float32' | 'float64';
const make = (dt: Dt, v: ArrayLike<number> | number): Arr => (dt === 'float32' ? new Float32Array(v as number) : new Float64Array(v as number));

const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 2, -2.5, 3, 1e-30, -1e-30, 1e30, -1e30, 88.5, -88.5, 710, -710, 100, 1e-8, Infinity, -Infinity, NaN, 0.1, -7.25];

/** Distance in units in the last place (0 for equal values, NaN/NaN, or identical infinities). */
function ulps(dt: Dt, x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
  if (x === y) return 0;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
  const eps = dt === 'float32' ? 2 ** -23 : 2 ** -52;
  const tiny = dt === 'float32' ? 2 ** -126 : 2 ** -1022;
  return Math.abs(x - y) / Math.max(Math.abs(x) * eps, Math.abs(y) * eps, tiny * eps);
}

function both<T>(fn: () => T): [T, T] {
  try {
    forceKernelPath('js');
    const js = fn();
    forceKernelPath('native');
    return [js, fn()];
  } finally {
    forceKernelPath(null);
  }
}

function assertSame(dt: Dt, what: string, js: Arr, nat: Arr, maxUlps: number, inputs?: (i: number) => string): void {
  assert.equal(js.length, nat.length);
  for (let i = 0; i < js.length; i++) {
    const d = ulps(dt, js[i], nat[i]);
    if (d > maxUlps) assert.fail(`${what} (${dt})${inputs ? ` at ${inputs(i)}` : ` [${i}]`}: JS ${js[i]}, native ${nat[i]} (${d.toPrecision(3)} ulps)`);
  }
}

// libm and V8 each round their transcendental functions within an ulp or so; the rest is exact.
const UNARY_ULPS: Partial<Record<UnaryOp, number>> = {
  [UnaryOp.Exp]: 2, [UnaryOp.Log]: 2, [UnaryOp.Tanh]: 3, [UnaryOp.Sigmoid]: 3, [UnaryOp.Softplus]: 3, [UnaryOp.Sin]: 2,
  [UnaryOp.Cos]: 2, [UnaryOp.Log1p]: 2, [UnaryOp.Expm1]: 2,
};

describe('kernels: the JS and native paths agree', () => {
  for (const dt of ['float32', 'float64'] as const) {
    const a = make(dt, SPECIAL);

    it(`every unary op on special values (${dt})`, () => {
      for (const op of Object.values(UnaryOp).filter((v): v is UnaryOp => typeof v === 'number')) {
        const [js, nat] = both(() => {
          const out = make(dt, a.length);
          unaryInto(op, a, out);
          return out;
        });
        assertSame(dt, `unary ${UnaryOp[op]}`, js, nat, UNARY_ULPS[op] ?? 0, (i) => `x = ${a[i]}`);
      }
    });

    it(`every binary op on all pairs of special values, and broadcast (${dt})`, () => {
      const n = a.length;
      const x = make(dt, n * n);
      const y = make(dt, n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) [x[i * n + j], y[i * n + j]] = [a[i], a[j]];
      for (const op of Object.values(BinaryOp).filter((v): v is BinaryOp => typeof v === 'number')) {
        const [js, nat] = both(() => {
          const out = make(dt, n * n);
          binaryInto(op, x, [1], y, [1], out, [n * n]);
          return out;
        });
        assertSame(dt, `binary ${BinaryOp[op]}`, js, nat, op === BinaryOp.Pow ? 2 : 0, (k) => `(${x[k]}, ${y[k]})`);
        // Broadcast [n, 1] against [1, n].
        const [jb, nb] = both(() => {
          const out = make(dt, n * n);
          binaryInto(op, a, [1, 0], a, [0, 1], out, [n, n]);
          return out;
        });
        assertSame(dt, `broadcast binary ${BinaryOp[op]}`, jb, nb, op === BinaryOp.Pow ? 2 : 0);
        // One element against the tensor, on either side (the scalar loops).
        for (const k of [0, 4, n - 3]) {
          const s = a.subarray(k, k + 1);
          for (const first of [false, true]) {
            const [js, nat] = both(() => {
              const out = make(dt, n);
              if (first) binaryInto(op, s, [0], a, [1], out, [n]);
              else binaryInto(op, a, [1], s, [0], out, [n]);
              return out;
            });
            assertSame(dt, `binary ${BinaryOp[op]} with ${first ? 'a first' : 'a second'} operand ${s[0]}`, js, nat, op === BinaryOp.Pow ? 2 : 0);
          }
        }
      }
    });

    it(`reductions, arg reductions and softmax, NaN and infinities included (${dt})`, () => {
      // [outer 3, len n, inner 2]: NaN in one column, ±Inf in others.
      const n = a.length;
      const data = make(dt, 3 * n * 2);
      for (let o = 0; o < 3; o++) for (let k = 0; k < n; k++) for (let i = 0; i < 2; i++) data[(o * n + k) * 2 + i] = o === 0 && i === 1 ? a[k] : Math.sin(k + 3 * o + i) * 10;
      for (const op of [ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min, ReduceOp.Prod]) {
        const [js, nat] = both(() => {
          const out = make(dt, 6);
          reduceInto(op, data, out, 3, n, 2);
          return out;
        });
        // Sums may be added in another order: compare to the scale of the terms.
        if (op === ReduceOp.Sum || op === ReduceOp.Prod) {
          for (let i = 0; i < 6; i++) {
            const ok = ulps(dt, js[i], nat[i]) <= 64 || Math.abs(js[i] - nat[i]) <= (dt === 'float32' ? 1e-5 : 1e-13) * 10 * n;
            assert.ok(ok, `reduce ${ReduceOp[op]} (${dt}) [${i}]: JS ${js[i]}, native ${nat[i]}`);
          }
        } else assertSame(dt, `reduce ${ReduceOp[op]}`, js, nat, 0);
      }
      for (const op of [ReduceOp.Max, ReduceOp.Min] as const) {
        const [js, nat] = both(() => {
          const out = make(dt, 6);
          const idx = new Int32Array(6);
          argReduceInto(op, data, out, idx, 3, n, 2);
          return [out, idx] as const;
        });
        assertSame(dt, `argReduce ${ReduceOp[op]} values`, js[0], nat[0], 0);
        assert.deepEqual(Array.from(js[1]), Array.from(nat[1]), `argReduce ${ReduceOp[op]} indices (${dt})`);
      }
      const rows = make(dt, [0, 1, 2, 3, -Infinity, 0, 1, 2, 1e30, 1, 2, 3, NaN, 1, 2, 3, 710, 709, 0, -1]);
      for (const log of [false, true]) {
        const [js, nat] = both(() => {
          const out = make(dt, rows.length);
          softmaxInto(rows, out, 5, 4, log);
          return out;
        });
        assertSame(dt, log ? 'logSoftmax' : 'softmax', js, nat, 4);
      }
    });

    it(`matmul with transposes, batches, NaN and Inf (${dt})`, () => {
      const [m, k, n, batch] = [3, 5, 4, 2];
      const A = make(dt, batch * m * k).map((_, i) => Math.sin(i) * 3);
      const B = make(dt, batch * k * n).map((_, i) => Math.cos(i) * 2);
      A[4] = NaN;
      B[7] = Infinity;
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const [js, nat] = both(() => {
          const out = make(dt, batch * m * n);
          matmulInto(A, B, out, batch, m, k, n, ta, tb, m * k, k * n);
          return out;
        });
        for (let i = 0; i < js.length; i++) {
          const d = ulps(dt, js[i], nat[i]);
          assert.ok(d <= 16 || Math.abs(js[i] - nat[i]) < (dt === 'float32' ? 1e-5 : 1e-13) * 30, `matmul ta=${ta} tb=${tb} (${dt}) [${i}]: JS ${js[i]}, native ${nat[i]}`);
        }
      }
    });
  }
});

describe('kernels: im2col and col2im agree on both paths, bit for bit', () => {
  // [batch, channels, H, W, kh, kw, pad (t, b, l, r), stride, dilation]
  const cases: [number, number, number, number, number, number, [number, number, number, number], [number, number], [number, number]][] = [
    [2, 3, 7, 6, 3, 3, [1, 1, 1, 1], [1, 1], [1, 1]],
    [1, 2, 9, 8, 3, 2, [0, 2, 1, 0], [2, 3], [1, 1]],
    [3, 1, 10, 11, 2, 3, [2, 1, 0, 2], [1, 2], [2, 3]],
    [1, 4, 5, 5, 5, 5, [2, 2, 2, 2], [1, 1], [1, 1]],
    [2, 2, 4, 9, 1, 4, [0, 0, 3, 3], [3, 1], [1, 2]],
  ];
  for (const dt of ['float32', 'float64'] as const) {
    for (const [b, c, h, w, kh, kw, pad, stride, dilation] of cases) {
      const oh = sweepSize(h, pad[0], pad[1], kh, stride[0], dilation[0]);
      const ow = sweepSize(w, pad[2], pad[3], kw, stride[1], dilation[1]);
      const g: Im2colGeometry = { batch: b, channels: c, height: h, width: w, kh, kw, pad, stride, dilation, oh, ow };
      it(`[${b}, ${c}, ${h}, ${w}] ${kh}×${kw}, pad ${pad.join('/')}, stride ${stride.join('×')}, dilation ${dilation.join('×')} (${dt})`, () => {
        const img = make(dt, b * c * h * w).map(() => Math.random() * 2 - 1);
        const nCols = b * c * kh * kw * oh * ow;
        for (const padValue of [0, -Infinity]) {
          const [js, nat] = both(() => {
            const cols = make(dt, nCols);
            im2colInto(img, cols, g, padValue);
            return cols;
          });
          assertSame(dt, 'im2col', js, nat, 0);
        }
        const cols = make(dt, nCols).map(() => Math.random() * 2 - 1);
        const [js, nat] = both(() => {
          const out = make(dt, b * c * h * w).fill(0.25); // accumulates into what is there
          col2imInto(cols, out, g);
          return out;
        });
        assertSame(dt, 'col2im', js, nat, 0);
      });
    }
  }
});
