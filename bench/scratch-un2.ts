import { native, UnaryOp } from '../ts/tensor/native';
import { measure } from './stats';
for (const n of [32768]) for (const A of [Float32Array, Float64Array]) {
  const a = new A(n).map(() => Math.random() * 8 - 4); const o = new A(n); const o2 = new A(n);
  const te = measure(() => native.unary(UnaryOp.Expm1, a, o), { repeats: 5 }).median;
  const tl = measure(() => { for (let i = 0; i < n; i++) { const t = o[i]; o2[i] = t / (t + 2); } }, { repeats: 5 }).median;
  const tl2 = measure(() => { for (let i = 0; i < n; i++) o2[i] = a[i] * 2; }, { repeats: 5 }).median;
  const tj = measure(() => { for (let i = 0; i < n; i++) { const x = a[i]; const e = Math.exp(-2 * Math.abs(x)); const t = (1 - e) / (1 + e); o2[i] = x < 0 ? -t : t; } }, { repeats: 5 }).median;
  const ta = measure(() => new A(n), { repeats: 5 }).median;
  console.log(A.name, 'expm1 native', (te * 1e3).toFixed(1), 'js t/(t+2)', (tl * 1e3).toFixed(1), 'js x*2', (tl2 * 1e3).toFixed(1), 'js exp-tanh', (tj*1e3).toFixed(1), 'alloc', (ta*1e3).toFixed(1));
}
