import { numpy as np, grad, valueAndGrad, jvp, jit, init, defaultDevice, tree } from '@jax-js/jax';
import { measure } from './stats';
async function main() {
  const devs = await init('wasm'); defaultDevice('wasm');
  console.log('devices', devs, defaultDevice());
  const rnd = (shape: number[], s: number) => { const a = new Float32Array(shape.reduce((p, q) => p * q, 1)); for (let i = 0; i < a.length; i++) a[i] = (Math.random() * 2 - 1) * s; return np.array(a).reshape(shape); };
  const x = rnd([256, 64], 1), y = rnd([256, 1], 1);
  type P = np.Array[];
  const params: P = [rnd([64, 128], 0.2), np.zeros([128]), rnd([128, 1], 0.1), np.zeros([1])];
  const v: P = params.map((p) => rnd(p.shape, 1));
  const loss = (ps: P, x: np.Array, y: np.Array): np.Array => {
    const [w1, b1, w2, b2] = ps;
    const h = np.tanh(np.matmul(x, w1).add(b1));
    const d = np.matmul(h, w2).add(b2).sub(y);
    return np.square(d).mean();
  };
  const vg = jit(valueAndGrad(loss));
  const run = () => { const [l, g] = vg(tree.ref(params), x.ref, y.ref); l.dataSync(); for (const t of g) t.dataSync(); };
  run();
  console.log('jit grad', measure(run, { repeats: 5 }).median);
  const vg2 = valueAndGrad(loss);
  const run2 = () => { const [l, g] = vg2(tree.ref(params), x.ref, y.ref); l.dataSync(); for (const t of g) t.dataSync(); };
  console.log('eager grad', measure(run2, { repeats: 5 }).median);
  const hvpf = (ps: P, vv: P, x: np.Array, y: np.Array) => jvp((q: P) => grad(loss)(q, x.ref, y.ref), [ps], [vv])[1];
  const hj = jit(hvpf);
  const run3 = () => { const h = hj(tree.ref(params), tree.ref(v), x.ref, y.ref); for (const t of h) t.dataSync(); };
  run3();
  console.log('jit hvp', measure(run3, { repeats: 5 }).median);
  const run4 = () => { const h = hvpf(tree.ref(params), tree.ref(v), x.ref, y.ref); for (const t of h) t.dataSync(); };
  console.log('eager hvp', measure(run4, { repeats: 5 }).median);
  const a = rnd([512, 512], 1), b = rnd([512, 512], 1);
  const mm = () => { const c = np.matmul(a.ref, b.ref); c.dataSync(); };
  const t = measure(mm, { repeats: 5 }).median;
  console.log('mm512 gflops', 2 * 512 ** 3 / t / 1e6);
}
void main();
