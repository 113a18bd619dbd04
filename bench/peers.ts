/**
 * The libraries metagrad is compared with, loaded lazily so a missing or broken peer only blanks
 * its column (with the reason) instead of stopping the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type * as JAX from '@jax-js/jax';

/** A loaded peer, or why it is unavailable. */
export type Peer<T> = { ok: true; lib: T; version: string; note: string } | { ok: false; reason: string };

let tfPeer: Promise<Peer<typeof TF>> | null = null;
let jaxPeer: Promise<Peer<typeof JAX>> | null = null;

/** A package's version (read from disk: jax-js does not export its package.json). */
function versionOf(pkg: string): string {
  try {
    let dir = dirname(require.resolve(pkg));
    while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** TensorFlow.js with its pure-JavaScript CPU backend (not tfjs-node). */
export function loadTf(): Promise<Peer<typeof TF>> {
  tfPeer ??= (async (): Promise<Peer<typeof TF>> => {
    try {
      const tf = await import('@tensorflow/tfjs');
      // Production mode skips tfjs's debug checks (its fastest setting) and silences the
      // "install tfjs-node" banner that the CPU backend prints on first use under Node.
      tf.enableProdMode();
      if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'tfjs cpu backend failed to initialise' };
      await tf.ready();
      return { ok: true, lib: tf, version: tf.version.tfjs, note: `@tensorflow/tfjs ${tf.version.tfjs}, backend '${tf.getBackend()}' (pure JS)` };
    } catch (e) {
      return { ok: false, reason: `cannot load @tensorflow/tfjs: ${(e as Error).message}` };
    }
  })();
  return tfPeer;
}

/** jax-js on its WebAssembly device (its fastest CPU device). */
export function loadJax(): Promise<Peer<typeof JAX>> {
  jaxPeer ??= (async (): Promise<Peer<typeof JAX>> => {
    try {
      // jax-js tests `data instanceof Float16Array` before `instanceof Float64Array` when it
      // wraps a typed array; Node 20 has no Float16Array, so that test throws a ReferenceError.
      // An empty stand-in class (nothing is an instance of it) lets float64 arrays through.
      const g = globalThis as Record<string, unknown>;
      const shimmed = g.Float16Array === undefined;
      if (shimmed) g.Float16Array = class Float16ArrayUnavailable {};
      const jax = await import('@jax-js/jax');
      // init() with no argument also probes WebGPU through `navigator`, which Node 20 lacks.
      const devices = await jax.init('wasm');
      if (!devices.includes('wasm')) return { ok: false, reason: 'jax-js wasm device unavailable' };
      jax.defaultDevice('wasm');
      const version = versionOf('@jax-js/jax');
      // Its worker pool needs the browser's global Worker, absent in Node: kernels run on one thread.
      const threads = typeof (globalThis as { Worker?: unknown }).Worker === 'undefined' ? '1 thread (no global Worker in Node)' : 'worker pool';
      const shim = shimmed ? ', empty `Float16Array` stand-in defined for Node 20' : '';
      return { ok: true, lib: jax, version, note: `@jax-js/jax ${version}, device 'wasm', ${threads}${shim}` };
    } catch (e) {
      return { ok: false, reason: `cannot load @jax-js/jax: ${(e as Error).message}` };
    }
  })();
  return jaxPeer;
}
