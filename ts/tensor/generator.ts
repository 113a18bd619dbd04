/**
 * PyTorch-compatible random number generator (mt19937 on the CPU): after the same seed, the same
 * calls give the same values as PyTorch. The state lives in JS typed arrays; the native addon
 * advances it (so float64 normals use the C library's log/sin/cos, like PyTorch, bit for bit).
 */
import { typeError } from '../errors';
import type { FloatArray } from './dtype';
import { native } from './native';

/** PyTorch's default seed for a fresh generator. */
const DEFAULT_SEED = 67280421310721n;

/** A random number generator whose streams match `torch.Generator` on the CPU. */
export class Generator {
  /** mt19937 words, position and flags (see native/rng.cc). @internal */
  readonly state = new Uint32Array(626);
  /** Cached Box–Muller samples for the scalar normal path. @internal */
  readonly cache = new Float64Array(2);
  private seed: bigint = DEFAULT_SEED;

  constructor() {
    this.manualSeed(DEFAULT_SEED);
  }

  /** Reseeds (PyTorch's `manual_seed`); returns this generator. */
  manualSeed(seed: number | bigint): this {
    let s: bigint;
    if (typeof seed === 'bigint') s = seed;
    else if (typeof seed === 'number' && Number.isSafeInteger(seed)) s = BigInt(seed);
    else throw typeError('manualSeed', 'seed', 'a safe integer or a bigint', seed);
    // PyTorch wraps negative seeds into uint64.
    s = BigInt.asUintN(64, s);
    this.seed = s;
    native.rngSeed(this.state, Number(s & 0xffffffffn), Number((s >> 32n) & 0xffffffffn));
    this.cache.fill(0);
    return this;
  }

  /** The seed last set. */
  initialSeed(): bigint {
    return this.seed;
  }

  /** A copy of the full state, for `setState`. */
  getState(): Uint32Array {
    const out = new Uint32Array(this.state.length + 4);
    out.set(this.state);
    out.set(new Uint32Array(this.cache.buffer.slice(0)), this.state.length);
    return out;
  }

  /** Restores a state from `getState`. */
  setState(state: Uint32Array): this {
    if (!(state instanceof Uint32Array) || state.length !== this.state.length + 4) {
      throw typeError('Generator.setState', 'state', `a Uint32Array of length ${this.state.length + 4} from getState()`, state);
    }
    this.state.set(state.subarray(0, this.state.length));
    new Uint32Array(this.cache.buffer).set(state.subarray(this.state.length));
    return this;
  }

  /** Fills `out` with uniform values in [from, to). @internal */
  fillUniform(out: FloatArray, from: number, to: number): void {
    native.rngUniform(this.state, out, from, to);
  }

  /** Fills `out` with normal values. @internal */
  fillNormal(out: FloatArray, mean: number, std: number): void {
    native.rngNormal(this.state, this.cache, out, mean, std);
  }
}

let defaultGenerator: Generator | null = null;

/** The generator used when none is passed. */
export function getDefaultGenerator(): Generator {
  defaultGenerator ??= new Generator();
  return defaultGenerator;
}

/** Seeds the default generator (PyTorch's `torch.manual_seed`) and returns it. */
export function manualSeed(seed: number | bigint): Generator {
  return getDefaultGenerator().manualSeed(seed);
}
