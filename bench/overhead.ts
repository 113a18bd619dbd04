/**
 * Per-op overhead: the wall time of one tiny op (4 elements, float32), result values readable,
 * in microseconds. At this size the arithmetic is free, so this is the cost of dispatch,
 * allocation and bookkeeping that every op in an autograd graph pays.
 */
import * as mg from '../ts/index';
import type { BenchContext } from './context';
import { loadJax, loadTf } from './peers';
import { compare, fmt } from './stats';
import type { Table } from './table';

export async function overhead(ctx: BenchContext): Promise<Table[]> {
  const tfp = await loadTf();
  const jxp = await loadJax();
  const va = [0.5, -1, 2, 0.25];
  const vb = [1, 2, -3, 4];
  const a = mg.tensor(va);
  const b = mg.tensor(vb);
  const ag = mg.tensor(va, { requiresGrad: true });
  const m = mg.randn([4, 4]);

  // Each peer's op forces its result (tfjs/jax-js may defer work) and frees it (neither has a GC'd tensor type).
  type Row = { name: string; mg: () => unknown; tf: (() => unknown) | null; jax: (() => unknown) | null };
  const rows: Row[] = [
    { name: '`a + b`', mg: () => mg.add(a, b).data, tf: null, jax: null },
    { name: '`tanh(a)`', mg: () => mg.tanh(a).data, tf: null, jax: null },
    { name: '`a.sum()`', mg: () => mg.sum(a).data, tf: null, jax: null },
    { name: '`m @ m` (4×4)', mg: () => mg.matmul(m, m).data, tf: null, jax: null },
    { name: '`a + b`, recorded for autograd', mg: () => mg.add(ag, b).data, tf: null, jax: null },
  ];
  if (tfp.ok) {
    const tf = tfp.lib;
    const [ta, tb] = [tf.tensor1d(va), tf.tensor1d(vb)];
    const tm = tf.tensor2d(m.data as Float32Array, [4, 4]);
    const run = (f: () => ReturnType<typeof tf.add>) => () => {
      const t = f();
      t.dataSync();
      t.dispose();
    };
    rows[0].tf = run(() => tf.add(ta, tb));
    rows[1].tf = run(() => tf.tanh(ta));
    rows[2].tf = run(() => tf.sum(ta));
    rows[3].tf = run(() => tf.matMul(tm, tm));
  }
  if (jxp.ok) {
    const np = jxp.lib.numpy;
    const [ja, jb] = [np.array(new Float32Array(va)), np.array(new Float32Array(vb))];
    const jm = np.array(m.data as Float32Array).reshape([4, 4]);
    // jax-js arrays are reference counted: `.ref` keeps the inputs alive, dataSync() consumes the result.
    rows[0].jax = () => np.add(ja.ref, jb.ref).dataSync();
    rows[1].jax = () => np.tanh(ja.ref).dataSync();
    rows[2].jax = () => np.sum(ja.ref).dataSync();
    rows[3].jax = () => np.matmul(jm.ref, jm.ref).dataSync();
  }
  const out: string[][] = [];
  for (const r of rows) {
    ctx.log(`overhead: ${r.name}`);
    const [tm, tt, tj] = await compare([r.mg, r.tf, r.jax], { repeats: ctx.repeats, minRepeatMs: 10, warmupMs: 400 });
    const us = (t: typeof tm, peer: typeof tfp | typeof jxp): string => (t ? fmt(t.median * 1e3) : peer.ok ? '—' : 'n/a');
    out.push([r.name, us(tm, tfp), us(tt, tfp), us(tj, jxp)]);
  }
  const notes = [
    'Median wall time of one call in µs; 4-element float32 inputs; each call includes reading the result (`.data` / `dataSync()`), which makes deferred peers finish their work.',
    '"—": the peer has no equivalent (tfjs and jax-js record gradients only inside their grad transforms).',
  ];
  if (tfp.ok) notes.push(`tfjs: ${tfp.note}; results disposed after each call.`);
  else notes.push(`tfjs n/a: ${tfp.reason}`);
  if (jxp.ok) notes.push(`jax-js: ${jxp.note}; eager ops (no jit).`);
  else notes.push(`jax-js n/a: ${jxp.reason}`);
  return [{ title: 'Overhead of a tiny op (µs, lower is better)', headers: ['op', 'metagrad', 'tfjs (cpu)', 'jax-js (wasm)'], rows: out, notes }];
}
