import { native, UnaryOp } from '../ts/tensor/native';
import { measure } from './stats';
console.log(native.backendInfo());
for (const n of [1024, 32768]) for (const op of [UnaryOp.Tanh, UnaryOp.Exp, UnaryOp.Square, UnaryOp.Neg]) for (const A of [Float32Array, Float64Array]) {
  const a = new A(n).map(() => Math.random() * 2 - 1); const o = new A(n);
  const tn = measure(() => native.unary(op, a, o), { repeats: 5 }).median;
  const tj = measure(() => { for (let i = 0; i < n; i++) o[i] = Math.tanh(a[i]); }, { repeats: 5 }).median;
  console.log(n, UnaryOp[op], A.name, 'native us', (tn * 1e3).toFixed(2), 'js tanh us', (tj * 1e3).toFixed(2));
}
