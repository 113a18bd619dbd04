import * as tf from '@tensorflow/tfjs';
import { measure } from './stats';
async function main() {
await tf.setBackend('cpu');
await tf.ready();
console.log(tf.getBackend(), tf.version.tfjs);
const x = tf.randomNormal([256, 64]);
const y = tf.randomNormal([256, 1]);
const params = [tf.randomNormal([64, 128]).mul(0.125), tf.zeros([128]), tf.randomNormal([128, 1]).mul(0.09), tf.zeros([1])] as tf.Tensor[];
const v = params.map((p) => tf.randomNormal(p.shape));
const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => tf.tidy(() => tf.tanh(x.matMul(w1 as tf.Tensor2D).add(b1)).matMul(w2 as tf.Tensor2D).add(b2).sub(y).square().mean() as tf.Scalar);
const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => loss(a, b, c, d));
const tg = measure(() => { const r = tf.tidy(() => g(params)); r.forEach((t) => t.dataSync()); tf.dispose(r); }, { repeats: 5 });
console.log('grad', tg.median);
const gv = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Scalar => {
  const gs = g([a, b, c, d]);
  return gs.map((t, i) => t.mul(v[i]).sum()).reduce((s, t) => s.add(t)) as tf.Scalar;
};
try {
  const h = tf.grads(gv);
  const r = h(params);
  console.log(r.map((t) => t.shape), r[3].dataSync());
  const th = measure(() => { const r = tf.tidy(() => h(params)); r.forEach((t) => t.dataSync()); tf.dispose(r); }, { repeats: 5 });
  console.log('hvp', th.median, tf.memory().numTensors);
} catch (e) { console.log('hvp fails', (e as Error).message); }
}
void main();
