/**
 * Graph and in-place operations: detach, clone, requiresGrad_, and the in-place writes that
 * optimizers use (add_, sub_, mul_, div_, copy_, zero_, fill_, normal_, uniform_). In-place writes
 * bump the version counter so a graph that saved the tensor raises instead of computing wrong
 * gradients; on tensors that require grad they are allowed only while grad mode is off.
 */
import { isGradEnabled } from '../autograd/grad-mode';
import { record } from '../autograd/node';
import { MetagradError, checkFinite, typeError } from '../errors';
import { type FloatArray, allocate, isFloating, requireFloating } from '../tensor/dtype';
import { castInto, storedValue } from '../tensor/kernels/cast';
import { type Generator, getDefaultGenerator } from '../tensor/generator';
import { BinaryOp, binaryInto } from '../tensor/kernels/elementwise';
import { broadcastStrides, fmtShape, broadcastShapes, numelOf, sameShape } from '../tensor/shape';
import { Tensor, type TensorLike, isTensor } from '../tensor/tensor';
import { activeVmaps, batchedOf, isBatched, physicalOf, randomLevels } from '../tensor/batched';
import { alignBatched } from './shape';
import { checkTensor, scalarOf, toTensor, wrap } from './util';
import { copyInto, fillInto } from '../tensor/kernels/layout';

/** A new leaf sharing the data, cut from the graph. */
export function detach(a: Tensor): Tensor {
  checkTensor('detach', 'input', a);
  if (isBatched(a)) return batchedOf(detach(a.value), a.levels);
  return new Tensor(a.data, a.shape, false, a._version);
}

/** Cuts `a` from the graph in place (it becomes a leaf that does not require grad). */
export function detach_(a: Tensor): Tensor {
  checkTensor('detach_', 'input', a);
  a.gradFn = null;
  a.outputNr = 0;
  a.requiresGrad = false;
  return a;
}

/** A copy with its own storage (differentiable: the gradient passes through). */
export function clone(a: Tensor): Tensor {
  checkTensor('clone', 'input', a);
  if (isBatched(a)) return batchedOf(clone(a.value), a.levels);
  const out = allocate(a.dtype, a.numel, 'clone');
  copyInto(a.data, out);
  return record('CloneBackward0', [a], wrap(out, a.shape), (g) => [g]);
}

/** Sets `requiresGrad` on a leaf in place and returns it. */
export function requiresGrad_(a: Tensor, flag = true): Tensor {
  checkTensor('requiresGrad_', 'input', a);
  a.requiresGrad = flag;
  return a;
}

/**
 * vmap's rule for an in-place write of `b` into `a`: both as physical tensors, `b` laid out
 * against `a`'s members. `a` must be batched over every level `b` is (else all its members
 * would receive one member's values, which torch.func refuses too).
 */
function inplaceOperands(fn: string, a: Tensor, b: TensorLike): [Tensor, TensorLike] {
  checkTensor(fn, 'input', a);
  const [pa, la] = physicalOf(a);
  if (!isTensor(b)) return [pa, b];
  const missing = physicalOf(b)[1].filter((l) => !la.includes(l));
  if (missing.length > 0) {
    throw new MetagradError(
      `${fn}: an in-place write into a tensor that vmap does not batch from one that it does${missing.length > 1 ? ` (${missing.length} vmaps)` : ''}; ` +
        'use the out-of-place form, or pass the written tensor through vmap',
    );
  }
  return [pa, alignBatched(b, la, a.ndim)];
}

/** Checks that an in-place write on `a` (with `other`) is legal, then bumps its version. */
function beginInplace(fn: string, a: Tensor, other?: Tensor): void {
  checkTensor(fn, 'input', a);
  if (isGradEnabled()) {
    if (a.isLeaf && a.requiresGrad) {
      throw new MetagradError(
        `${fn}: a leaf tensor that requires grad is being used in an in-place operation; wrap the update in mg.noGrad(() => …) (as optimizers do)`,
      );
    }
    if (a.requiresGrad || other?.requiresGrad) {
      throw new MetagradError(
        `${fn}: in-place operations are not recorded by autograd; use the out-of-place form (e.g. add instead of add_), or run inside mg.noGrad`,
      );
    }
  }
  a._version.value++;
}

function inplaceBinary(fn: string, op: BinaryOp, a: Tensor, b: TensorLike): Tensor {
  if (isBatched(a) || isBatched(b)) {
    inplaceBinary(fn, op, ...inplaceOperands(fn, a, b));
    return a;
  }
  const o = toTensor(fn, 'other', b, a.dtype);
  if (!isFloating(a.dtype) || !isFloating(o.dtype)) {
    throw new TypeError(`${fn}: in-place arithmetic needs floating-point tensors, got ${a.dtype} and ${o.dtype}; compute out of place (e.g. a.add(b)) or cast with .to('${a.dtype === 'float64' ? 'float64' : 'float32'}')`);
  }
  beginInplace(fn, a, o);
  const shape = broadcastShapes(fn, a.shape, o.shape);
  if (!sameShape(shape, a.shape)) {
    throw new RangeError(`${fn}: output with shape ${fmtShape(a.shape)} doesn't match the broadcast shape ${fmtShape(shape)}`);
  }
  let src = o.data;
  if (o.dtype !== a.dtype) {
    src = allocate(a.dtype, o.numel, fn);
    copyInto(o.data, src);
  }
  const ad = a.data as FloatArray;
  binaryInto(op, ad, broadcastStrides(a.shape, shape), src as FloatArray, broadcastStrides(o.shape, shape), ad, shape);
  return a;
}

/** a += alpha·b in place. */
export function add_(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  return addScaled('add_', a, b, alpha, 1);
}

/** a −= alpha·b in place. */
export function sub_(a: Tensor, b: TensorLike, alpha = 1): Tensor {
  return addScaled('sub_', a, b, alpha, -1);
}

/** a += sign·alpha·b, with alpha·b formed in a's dtype (a float64 a keeps alpha·b's float64 digits). */
function addScaled(fn: string, a: Tensor, b: TensorLike, alpha: number, sign: 1 | -1): Tensor {
  if (isBatched(a) || isBatched(b)) {
    const [pa, pb] = inplaceOperands(fn, a, b);
    addScaled(fn, pa, pb, alpha, sign);
    return a;
  }
  checkFinite(fn, 'alpha', alpha);
  const factorValue = sign * alpha;
  if (factorValue === 1) return inplaceBinary(fn, BinaryOp.Add, a, b);
  let scaled: TensorLike = typeof b === 'number' ? b * factorValue : b;
  if (b instanceof Tensor) {
    checkTensor(fn, 'input', a);
    checkTensor(fn, 'other', b);
    // The (native for large sizes) kernel: TypedArray.prototype.map with a callback is ~20x slower.
    const out = allocate(a.dtype, b.numel, fn);
    castInto(fn, b.data, out);
    const factor = scalarOf(factorValue, a.dtype).data as FloatArray;
    binaryInto(BinaryOp.Mul, out as FloatArray, broadcastStrides(b.shape, b.shape), factor, b.shape.map(() => 0), out as FloatArray, b.shape);
    scaled = wrap(out, b.shape);
  }
  return inplaceBinary(fn, BinaryOp.Add, a, scaled);
}

/** a *= b in place. */
export function mul_(a: Tensor, b: TensorLike): Tensor {
  return inplaceBinary('mul_', BinaryOp.Mul, a, b);
}

/** a /= b in place. */
export function div_(a: Tensor, b: TensorLike): Tensor {
  return inplaceBinary('div_', BinaryOp.Div, a, b);
}

/** Copies `src` (broadcast, dtype-converted) into `a`. */
export function copy_(a: Tensor, src: Tensor): Tensor {
  checkTensor('copy_', 'src', src);
  if (isBatched(a) || isBatched(src)) {
    const [pa, ps] = inplaceOperands('copy_', a, src);
    copy_(pa, ps as Tensor);
    return a;
  }
  beginInplace('copy_', a, src);
  const shape = broadcastShapes('copy_', a.shape, src.shape);
  if (!sameShape(shape, a.shape)) {
    throw new RangeError(`copy_: cannot broadcast src of shape ${fmtShape(src.shape)} to ${fmtShape(a.shape)}`);
  }
  if (sameShape(src.shape, a.shape)) {
    castInto('copy_', src.data, a.data);
    return a;
  }
  const s = allocate(a.dtype, src.numel, 'copy_');
  castInto('copy_', src.data, s);
  if (!isFloating(a.dtype)) {
    // Integer and bool values broadcast exactly through float64.
    const wide = allocate('float64', a.numel, 'copy_');
    binaryInto(BinaryOp.Add, Float64Array.from(s), broadcastStrides(src.shape, shape), new Float64Array(1), shape.map(() => 0), wide, shape);
    a.data.set(wide);
    return a;
  }
  const zero = scalarOf(0, a.dtype).data as FloatArray;
  binaryInto(BinaryOp.Add, s as FloatArray, broadcastStrides(src.shape, shape), zero, shape.map(() => 0), a.data as FloatArray, shape);
  return a;
}

/** Fills with `value` in place. */
export function fill_(a: Tensor, value: number): Tensor {
  if (typeof value !== 'number') throw typeError('fill_', 'value', 'a number', value);
  if (isBatched(a)) {
    fill_(a.value, value);
    return a;
  }
  beginInplace('fill_', a);
  fillInto(a.data, storedValue('fill_', a.dtype, value));
  return a;
}

/** Fills with zeros in place. */
export function zero_(a: Tensor): Tensor {
  if (isBatched(a)) {
    zero_(a.value);
    return a;
  }
  beginInplace('zero_', a);
  fillInto(a.data, 0);
  return a;
}

function requireFloatingData(fn: string, t: Tensor): FloatArray {
  requireFloating(fn, 'input', t.dtype);
  return t.data as FloatArray;
}

/** Fills with N(mean, std²) samples in place (PyTorch-compatible stream). */
export function normal_(a: Tensor, mean = 0, std = 1, opts?: { generator?: Generator }): Tensor {
  checkFinite('normal_', 'mean', mean);
  checkFinite('normal_', 'std', std);
  if (std < 0) throw new RangeError(`normal_: argument 'std' must be >= 0, got ${std}`);
  if (activeVmaps().length > 0) return randomFillBatched('normal_', a, (t) => (opts?.generator ?? getDefaultGenerator()).fillNormal(requireFloatingData('normal_', t), mean, std));
  beginInplace('normal_', a);
  requireFloating('normal_', 'input', a.dtype);
  (opts?.generator ?? getDefaultGenerator()).fillNormal(a.data as FloatArray, mean, std);
  return a;
}

/** Fills with U[from, to) samples in place (PyTorch-compatible stream). */
export function uniform_(a: Tensor, from = 0, to = 1, opts?: { generator?: Generator }): Tensor {
  checkFinite('uniform_', 'from', from);
  checkFinite('uniform_', 'to', to);
  if (from > to) throw new RangeError(`uniform_: expects from <= to, got from=${from} and to=${to}`);
  if (activeVmaps().length > 0) return randomFillBatched('uniform_', a, (t) => (opts?.generator ?? getDefaultGenerator()).fillUniform(requireFloatingData('uniform_', t), from, to));
  beginInplace('uniform_', a);
  requireFloating('uniform_', 'input', a.dtype);
  (opts?.generator ?? getDefaultGenerator()).fillUniform(a.data as FloatArray, from, to);
  return a;
}

/**
 * vmap's rule for an in-place random fill: the members of `a` over 'different' levels get draws
 * of their own, those over 'same' levels share one; an unbatched `a` cannot hold per-member draws.
 */
function randomFillBatched(fn: string, a: Tensor, fill: (t: Tensor) => void): Tensor {
  const { levels } = randomLevels(fn);
  const [pa, la] = physicalOf(a);
  const missing = levels.filter((l) => !la.includes(l));
  if (missing.length > 0) {
    throw new MetagradError(
      `${fn}: inside vmap with randomness 'different' an unbatched tensor cannot hold a draw per member; create it with randn/rand inside the function, or use randomness 'same'`,
    );
  }
  const lead = la.map((l, i) => (levels.includes(l) ? pa.shape[i] : 1));
  const shape = [...lead, ...a.shape];
  const draw = new Tensor(allocate(pa.dtype, numelOf(shape), fn), shape);
  fill(draw);
  copy_(pa, draw);
  return a;
}
