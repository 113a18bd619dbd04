/** mg.data: TensorDataset and DataLoader batching, shuffling and dropLast. */
import * as assert from 'node:assert/strict';
import * as mg from '../ts/index';

describe('mg.data.DataLoader', () => {
  const x = mg.arange(10).reshape(10, 1);
  const y = mg.arange(10).mul(2);
  const ds = new mg.data.TensorDataset(x, y);

  it('batches rows in order, the last batch short unless dropLast', () => {
    const batches = [...new mg.data.DataLoader(ds, { batchSize: 4 })];
    assert.deepEqual(batches.map(([a]) => a.shape[0]), [4, 4, 2]);
    assert.deepEqual(Array.from(batches[2][0].data), [8, 9]);
    assert.deepEqual(Array.from(batches[2][1].data), [16, 18]);
    assert.equal(new mg.data.DataLoader(ds, { batchSize: 4, dropLast: true }).length, 2);
    assert.equal([...new mg.data.DataLoader(ds, { batchSize: 4, dropLast: true })].length, 2);
  });

  it('shuffles each epoch from its generator: a permutation, reproducible from the seed, rows kept together', () => {
    const run = (seed: number) => {
      const dl = new mg.data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new mg.Generator().manualSeed(seed) });
      return [0, 1].map(() => [...dl].flatMap(([a, b]) => {
        assert.deepEqual(Array.from(b.data), Array.from(a.data).map((v) => 2 * v));
        return Array.from(a.data);
      }));
    };
    const [e1, e2] = run(5);
    assert.deepEqual([...e1].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(e1, e2);
    assert.deepEqual(run(5), [e1, e2]);
  });

  it('bad input is named', () => {
    assert.throws(() => new mg.data.TensorDataset(x, mg.ones([3])), /tensors\[1\] has 3 rows/);
    assert.throws(() => new mg.data.DataLoader(ds, { batchSize: 0 }), /argument 'batchSize' must be a positive integer, got 0/);
  });
});
