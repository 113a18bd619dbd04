/**
 * The Tensor method surface (`t.add(o)` → the `add` op), wired in this one place. Importing this
 * module (the package entry does) installs the methods on `Tensor.prototype`.
 */
import { backward as runBackward } from './autograd/engine';
import { to } from './ops/cast';
import * as el from './ops/elementwise';
import * as ix from './ops/indexing';
import * as ip from './ops/inplace';
import * as mm from './ops/matmul';
import * as rd from './ops/reduce';
import * as sh from './ops/shape';
import * as st from './ops/statistics';
import * as nm from './ops/norm';
import { cumsum } from './ops/scan';
import { expand } from './ops/broadcast';
import type { DType } from './tensor/dtype';
import type { Generator } from './tensor/generator';
import { type BackwardOptions, Tensor, type TensorLike } from './tensor/tensor';

declare module './tensor/tensor' {
  interface Tensor {
    /** this + alpha·other (broadcasting). */ add(other: TensorLike, alpha?: number): Tensor;
    /** this − alpha·other. */ sub(other: TensorLike, alpha?: number): Tensor;
    /** this · other. */ mul(other: TensorLike): Tensor;
    /** this / other. */ div(other: TensorLike): Tensor;
    /** thisᵉˣᵖ. */ pow(exponent: TensorLike): Tensor;
    /** Elementwise maximum. */ maximum(other: TensorLike): Tensor;
    /** Elementwise minimum. */ minimum(other: TensorLike): Tensor;
    /** Clamp into [min, max]. */ clamp(min?: number, max?: number): Tensor;
    /** −this. */ neg(): Tensor;
    /** this². */ square(): Tensor;
    /** √this. */ sqrt(): Tensor;
    /** eᵗʰⁱˢ. */ exp(): Tensor;
    /** Natural log. */ log(): Tensor;
    /** log(1 + this). */ log1p(): Tensor;
    /** eᵗʰⁱˢ − 1. */ expm1(): Tensor;
    /** |this|. */ abs(): Tensor;
    /** Sign (constant for autograd). */ sign(): Tensor;
    /** 1 / this. */ reciprocal(): Tensor;
    /** sin. */ sin(): Tensor;
    /** cos. */ cos(): Tensor;
    /** tanh. */ tanh(): Tensor;
    /** Logistic sigmoid. */ sigmoid(): Tensor;
    /** max(this, 0). */ relu(): Tensor;
    /** log(1 + eᵗʰⁱˢ). */ softplus(): Tensor;
    /** True where this > other (a bool tensor). */ gt(other: TensorLike): Tensor;
    /** True where this < other (a bool tensor). */ lt(other: TensorLike): Tensor;
    /** True where this >= other (a bool tensor). */ ge(other: TensorLike): Tensor;
    /** True where this <= other (a bool tensor). */ le(other: TensorLike): Tensor;
    /** True where this == other (a bool tensor). */ eq(other: TensorLike): Tensor;
    /** True where this != other (a bool tensor). */ ne(other: TensorLike): Tensor;
    /** Elementwise logical and (a bool tensor). */ logicalAnd(other: Tensor): Tensor;
    /** Elementwise logical or (a bool tensor). */ logicalOr(other: Tensor): Tensor;
    /** Elementwise logical exclusive or (a bool tensor). */ logicalXor(other: Tensor): Tensor;
    /** Elementwise logical not (a bool tensor). */ logicalNot(): Tensor;
    /** Conversion to float32 (PyTorch's `float()`). */ float(): Tensor;
    /** Conversion to float64 (PyTorch's `double()`). */ double(): Tensor;
    /** Conversion to int32 (PyTorch's `int()`; truncates toward zero). */ int(): Tensor;
    /** Conversion to int64 (PyTorch's `long()`; truncates toward zero). */ long(): Tensor;
    /** Conversion to bool (PyTorch's `bool()`; nonzero is true). */ bool(): Tensor;
    /** Matrix product (torch.matmul rules). */ matmul(other: Tensor): Tensor;
    /** Softmax along dim (default last). */ softmax(dim?: number): Tensor;
    /** Log-softmax along dim (default last). */ logSoftmax(dim?: number): Tensor;
    /** Sum over dim(s), all when omitted. */ sum(dim?: number | number[], keepdim?: boolean): Tensor;
    /** Mean over dim(s), all when omitted. */ mean(dim?: number | number[], keepdim?: boolean): Tensor;
    /** Maximum of all elements. */ max(): Tensor;
    /** Maximum along dim with indices. */ max(dim: number, keepdim?: boolean): rd.ValuesIndices;
    /** Minimum of all elements. */ min(): Tensor;
    /** Minimum along dim with indices. */ min(dim: number, keepdim?: boolean): rd.ValuesIndices;
    /** log Σ exp over dim(s). */ logsumexp(dim: number | number[], keepdim?: boolean): Tensor;
    /** Index of the maximum (along dim), as an int64 tensor. */ argmax(dim?: number, keepdim?: boolean): Tensor;
    /** Index of the minimum (along dim). */ argmin(dim?: number, keepdim?: boolean): Tensor;
    /** Variance over dim(s) with Bessel's correction. */ var(dim?: number | number[], opts?: st.VarOptions): Tensor;
    /** Standard deviation over dim(s). */ std(dim?: number | number[], opts?: st.VarOptions): Tensor;
    /** The p-norm ('fro': 2) over dim(s). */ norm(p?: number | 'fro', dim?: number | number[], keepdim?: boolean): Tensor;
    /** Cumulative sum along dim. */ cumsum(dim: number): Tensor;
    /** Same data, new shape (one -1 allowed): `reshape(2, 3)` or `reshape([2, 3])`. */ reshape(...shape: (number | readonly number[])[]): Tensor;
    /** Alias of reshape. */ view(...shape: (number | readonly number[])[]): Tensor;
    /** Flattens dims startDim..endDim. */ flatten(startDim?: number, endDim?: number): Tensor;
    /** Transpose (≤ 2-d). */ t(): Tensor;
    /** Swaps two dims. */ transpose(dim0: number, dim1: number): Tensor;
    /** Permutes dims. */ permute(...dims: (number | readonly number[])[]): Tensor;
    /** Inserts a size-1 dim. */ unsqueeze(dim: number): Tensor;
    /** Removes size-1 dims. */ squeeze(dim?: number): Tensor;
    /** Broadcasts to a shape (-1 keeps a dim). */ expand(...shape: (number | readonly number[])[]): Tensor;
    /** Entry i of the first dim (`t[i]`). */ index(i: number): Tensor;
    /** Python slice `t[start:end:step]` along dim (default 0). */ slice(start?: number, end?: number, step?: number, dim?: number): Tensor;
    /** Entry index of dim, removing dim. */ select(dim: number, index: number): Tensor;
    /** length entries of dim from start. */ narrow(dim: number, start: number, length: number): Tensor;
    /** Entries of dim at the given indices. */ indexSelect(dim: number, indices: number[] | Tensor): Tensor;
    /** Conversion to a dtype. */ to(dtype: DType): Tensor;
    /** A leaf sharing data, cut from the graph. */ detach(): Tensor;
    /** Cuts this tensor from the graph in place. */ detach_(): Tensor;
    /** A differentiable copy with its own storage. */ clone(): Tensor;
    /** Sets requiresGrad on a leaf; returns this. */ requiresGrad_(flag?: boolean): Tensor;
    /** In place: this += alpha·other. */ add_(other: TensorLike, alpha?: number): Tensor;
    /** In place: this −= alpha·other. */ sub_(other: TensorLike, alpha?: number): Tensor;
    /** In place: this *= other. */ mul_(other: TensorLike): Tensor;
    /** In place: this /= other. */ div_(other: TensorLike): Tensor;
    /** In place copy of src. */ copy_(src: Tensor): Tensor;
    /** In place zero fill. */ zero_(): Tensor;
    /** In place fill. */ fill_(value: number): Tensor;
    /** In place N(mean, std²) samples. */ normal_(mean?: number, std?: number, opts?: { generator?: Generator }): Tensor;
    /** In place U[from, to) samples. */ uniform_(from?: number, to?: number, opts?: { generator?: Generator }): Tensor;
    /** Accumulates gradients of this tensor into the leaves' `.grad`. */ backward(opts?: BackwardOptions): void;
  }
}

type Method = (this: Tensor, ...args: never[]) => unknown;

function install(table: Record<string, Method>): void {
  for (const [name, fn] of Object.entries(table)) {
    Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}

install({
  add(o: TensorLike, alpha?: number) { return el.add(this, o, alpha); },
  sub(o: TensorLike, alpha?: number) { return el.sub(this, o, alpha); },
  mul(o: TensorLike) { return el.mul(this, o); },
  div(o: TensorLike) { return el.div(this, o); },
  pow(o: TensorLike) { return el.pow(this, o); },
  maximum(o: TensorLike) { return el.maximum(this, o); },
  minimum(o: TensorLike) { return el.minimum(this, o); },
  clamp(lo?: number, hi?: number) { return el.clamp(this, lo, hi); },
  neg() { return el.neg(this); },
  square() { return el.square(this); },
  sqrt() { return el.sqrt(this); },
  exp() { return el.exp(this); },
  log() { return el.log(this); },
  log1p() { return el.log1p(this); },
  expm1() { return el.expm1(this); },
  abs() { return el.abs(this); },
  sign() { return el.sign(this); },
  reciprocal() { return el.reciprocal(this); },
  sin() { return el.sin(this); },
  cos() { return el.cos(this); },
  tanh() { return el.tanh(this); },
  sigmoid() { return el.sigmoid(this); },
  relu() { return el.relu(this); },
  softplus() { return el.softplus(this); },
  gt(o: TensorLike) { return el.gt(this, o); },
  lt(o: TensorLike) { return el.lt(this, o); },
  ge(o: TensorLike) { return el.ge(this, o); },
  le(o: TensorLike) { return el.le(this, o); },
  eq(o: TensorLike) { return el.eq(this, o); },
  ne(o: TensorLike) { return el.ne(this, o); },
  logicalAnd(o: Tensor) { return el.logicalAnd(this, o); },
  logicalOr(o: Tensor) { return el.logicalOr(this, o); },
  logicalXor(o: Tensor) { return el.logicalXor(this, o); },
  logicalNot() { return el.logicalNot(this); },
  float() { return to(this, 'float32'); },
  double() { return to(this, 'float64'); },
  int() { return to(this, 'int32'); },
  long() { return to(this, 'int64'); },
  bool() { return to(this, 'bool'); },
  matmul(o: Tensor) { return mm.matmul(this, o); },
  softmax(dim?: number) { return mm.softmax(this, dim); },
  logSoftmax(dim?: number) { return mm.logSoftmax(this, dim); },
  sum(dim?: number | number[], keepdim?: boolean) { return rd.sum(this, dim, keepdim); },
  mean(dim?: number | number[], keepdim?: boolean) { return rd.mean(this, dim, keepdim); },
  max(dim?: number, keepdim?: boolean) { return dim === undefined ? rd.max(this) : rd.max(this, dim, keepdim); },
  min(dim?: number, keepdim?: boolean) { return dim === undefined ? rd.min(this) : rd.min(this, dim, keepdim); },
  logsumexp(dim: number | number[], keepdim?: boolean) { return rd.logsumexp(this, dim, keepdim); },
  argmax(dim?: number, keepdim?: boolean) { return rd.argmax(this, dim, keepdim); },
  argmin(dim?: number, keepdim?: boolean) { return rd.argmin(this, dim, keepdim); },
  var(dim?: number | number[], opts?: st.VarOptions) { return st.var_(this, dim, opts); },
  std(dim?: number | number[], opts?: st.VarOptions) { return st.std(this, dim, opts); },
  norm(p?: number | 'fro', dim?: number | number[], keepdim?: boolean) { return nm.norm(this, p, dim, keepdim); },
  cumsum(dim: number) { return cumsum(this, dim); },
  reshape(...s: (number | readonly number[])[]) { return sh.reshape(this, ...s); },
  view(...s: (number | readonly number[])[]) { return sh.view(this, ...s); },
  flatten(s?: number, e?: number) { return sh.flatten(this, s, e); },
  t() { return sh.t(this); },
  transpose(d0: number, d1: number) { return sh.transpose(this, d0, d1); },
  permute(...d: (number | readonly number[])[]) { return sh.permute(this, ...d); },
  unsqueeze(d: number) { return sh.unsqueeze(this, d); },
  squeeze(d?: number) { return sh.squeeze(this, d); },
  expand(...s: (number | readonly number[])[]) { return expand(this, ...s); },
  index(i: number) { return ix.index(this, i); },
  slice(s?: number, e?: number, st?: number, d?: number) { return ix.slice(this, s, e, st, d); },
  select(d: number, i: number) { return ix.select(this, d, i); },
  narrow(d: number, s: number, l: number) { return ix.narrow(this, d, s, l); },
  indexSelect(d: number, i: number[] | Tensor) { return ix.indexSelect(this, d, i); },
  to(d: DType) { return to(this, d); },
  detach() { return ip.detach(this); },
  detach_() { return ip.detach_(this); },
  clone() { return ip.clone(this); },
  requiresGrad_(f?: boolean) { return ip.requiresGrad_(this, f); },
  add_(o: TensorLike, alpha?: number) { return ip.add_(this, o, alpha); },
  sub_(o: TensorLike, alpha?: number) { return ip.sub_(this, o, alpha); },
  mul_(o: TensorLike) { return ip.mul_(this, o); },
  div_(o: TensorLike) { return ip.div_(this, o); },
  copy_(s: Tensor) { return ip.copy_(this, s); },
  zero_() { return ip.zero_(this); },
  fill_(v: number) { return ip.fill_(this, v); },
  normal_(m?: number, s?: number, o?: { generator?: Generator }) { return ip.normal_(this, m, s, o); },
  uniform_(f?: number, t?: number, o?: { generator?: Generator }) { return ip.uniform_(this, f, t, o); },
  backward(opts?: BackwardOptions) {
    runBackward(this, { gradTensors: opts?.gradient ? [opts.gradient] : undefined, inputs: opts?.inputs, createGraph: opts?.createGraph, retainGraph: opts?.retainGraph });
  },
});
