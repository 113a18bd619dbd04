/**
 * `mg.data`: a small data pipeline (PyTorch's `TensorDataset` and `DataLoader`): mini-batches of
 * rows of equally long tensors, shuffled each epoch from a seeded generator.
 *
 * @module
 */
import { typeError } from '../errors';
import { randperm } from '../ops/creation';
import { indexSelect } from '../ops/indexing';
import type { Generator } from '../tensor/generator';
import { type Tensor, isTensor } from '../tensor/tensor';
import { fmtShape } from '../tensor/shape';

/** Rows of tensors that share their first dim: sample i is `[t[i] for t in tensors]`. */
export class TensorDataset {
  /** The tensors, each with `length` rows. */
  readonly tensors: readonly Tensor[];
  /** `new TensorDataset(x, y, …)`. */
  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new RangeError('TensorDataset: give at least one tensor');
    tensors.forEach((t, i) => {
      if (!isTensor(t) || t.ndim === 0) throw typeError('TensorDataset', `tensors[${i}]`, 'a Tensor with at least one dim', t);
      if (t.shape[0] !== tensors[0].shape[0]) throw new RangeError(`TensorDataset: tensors[${i}] has ${t.shape[0]} rows (shape ${fmtShape(t.shape)}), tensors[0] has ${tensors[0].shape[0]}`);
    });
    this.tensors = tensors.slice();
  }
  /** Number of samples. */
  get length(): number {
    return this.tensors[0].shape[0];
  }
  /** The rows at `indices`, one tensor per dataset tensor. */
  rows(indices: number[]): Tensor[] {
    return this.tensors.map((t) => indexSelect(t, 0, indices));
  }
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new order each epoch (default false). */
  shuffle?: boolean;
  /** Generator of the shuffles (default: the global one). */
  generator?: Generator;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
}

/** Iterates mini-batches of a {@link TensorDataset}: each batch is an array with one tensor per dataset tensor. */
export class DataLoader implements Iterable<Tensor[]> {
  /** The dataset. */
  readonly dataset: TensorDataset;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether the last incomplete batch is dropped. */
  readonly dropLast: boolean;
  private readonly generator: Generator | undefined;

  /** `new DataLoader(dataset, { batchSize, shuffle, generator, dropLast })`. */
  constructor(dataset: TensorDataset, opts: DataLoaderOptions = {}) {
    if (!(dataset instanceof TensorDataset)) throw typeError('DataLoader', 'dataset', 'a TensorDataset', dataset);
    const b = opts.batchSize ?? 1;
    if (!Number.isInteger(b) || b < 1) throw typeError('DataLoader', 'batchSize', 'a positive integer', b);
    this.dataset = dataset;
    this.batchSize = b;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch of batches (a new order each time when shuffling). */
  *[Symbol.iterator](): Iterator<Tensor[]> {
    const n = this.dataset.length;
    const order = this.shuffle ? randperm(n, { generator: this.generator }) : Array.from({ length: n }, (_, i) => i);
    for (let start = 0; start < n; start += this.batchSize) {
      const idx = order.slice(start, start + this.batchSize);
      if (idx.length < this.batchSize && this.dropLast) return;
      yield this.dataset.rows(idx);
    }
  }
}
