/**
 * The few-shot job's pieces and the job end to end: episodes drawn as specified, the functional
 * conv net equal to the module network PyTorch would build (names, shapes, outputs), the implicit
 * meta-gradient against a dense solve of the same linear system, and `metagrad fewshot` on a tiny
 * configuration (files, resume bit for bit, worker threads, bad flags).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { inProcess as run } from './helpers/cli';
import { TEST_CLASSES, TRAIN_CLASSES } from '../cli/ts/fewshot/config';
import { PIXELS, loadDigitPools, sampleEpisodes } from '../cli/ts/fewshot/episodes';
import { episodeMetaGradient, images, prototypeScore } from '../cli/ts/fewshot/inner';
import { convLogits, convNetSpecs, initConvNet } from '../cli/ts/fewshot/model';
import { flatParams } from '../cli/ts/params';
import { adaptProximal } from '../cli/ts/proximal';

const pools = loadDigitPools();

describe('fewshot: episodes', () => {
  it('N classes of the split, K support and Q query images per class, class-major, no image twice, reproducible', () => {
    const shape = { ways: 4, shots: 3, queries: 5 };
    const [a, b] = [0, 0].map(() => sampleEpisodes(pools, TEST_CLASSES, shape, new mg.Generator().manualSeed(11), 3));
    assert.deepEqual(a.map((e) => e.digits), b.map((e) => e.digits));
    for (const ep of a) {
      assert.equal(new Set(ep.digits).size, 4);
      for (const d of ep.digits) assert.ok((TEST_CLASSES as readonly number[]).includes(d));
      assert.equal(ep.xSupport.length, 12 * PIXELS);
      assert.equal(ep.xQuery.length, 20 * PIXELS);
      assert.deepEqual([...ep.ySupport], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
      assert.deepEqual([...ep.yQuery], [0, 1, 2, 3].flatMap((l) => Array(5).fill(l)));
      // Each image is one of its class's digits, and none appears twice in the episode.
      const seen = new Set<string>();
      const check = (x: Float32Array, y: Float32Array): void => {
        for (let i = 0; i < y.length; i++) {
          const img = x.subarray(i * PIXELS, (i + 1) * PIXELS);
          const pool = pools[ep.digits[y[i]]];
          let found = false;
          for (let k = 0; k < pool.length / PIXELS && !found; k++) found = pool.subarray(k * PIXELS, (k + 1) * PIXELS).every((v, j) => v === img[j]);
          assert.ok(found, 'an image of the labelled digit');
          const key = Array.from(img.subarray(200, 260)).join(',');
          assert.ok(!seen.has(key), 'no repeated image');
          seen.add(key);
        }
      };
      check(ep.xSupport, ep.ySupport);
      check(ep.xQuery, ep.yQuery);
    }
    // Standardised by the meta-training digits' pixels.
    let [n, s, sq] = [0, 0, 0];
    for (const c of TRAIN_CLASSES) for (const v of pools[c]) [n, s, sq] = [n + 1, s + v, sq + v * v];
    assert.ok(Math.abs(s / n) < 1e-4 && Math.abs(sq / n - 1) < 1e-3);
  });
});

describe('fewshot: the network', () => {
  it("is PyTorch's nn.Sequential of conv/batch-norm/ReLU/max-pool blocks: same state-dict names and shapes, same outputs", () => {
    const [ch, ways] = [3, 4];
    const layers: mg.nn.Module[] = [];
    for (let b = 0; b < 4; b++) layers.push(new mg.nn.Conv2d(b === 0 ? 1 : ch, ch, 3, { padding: 1 }), new mg.nn.BatchNorm2d(ch, { trackRunningStats: false }), new mg.nn.ReLU(), new mg.nn.MaxPool2d(2));
    layers.push(new mg.nn.Flatten(), new mg.nn.Linear(ch, ways));
    const net = new mg.nn.Sequential(...layers);
    const state = net.stateDict();
    const specs = convNetSpecs(ch, ways);
    assert.deepEqual(specs.map((s) => s.name), Object.keys(state));
    assert.deepEqual(specs.map((s) => s.shape), Object.values(state).map((t) => [...t.shape]));
    const params = initConvNet(ch, ways, new mg.Generator().manualSeed(4));
    net.loadStateDict(Object.fromEntries(specs.map((s, i) => [s.name, params[i]])));
    const x = images(pools[7].subarray(0, 6 * PIXELS));
    const want = net.forward(x.reshape(6, 1, 28, 28)) as mg.Tensor;
    const got = convLogits(params, x);
    assert.deepEqual([...got.shape], [6, ways]);
    for (let i = 0; i < got.numel; i++) assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-6 * (1 + Math.abs(want.data[i])));
  });

  it("initialises with PyTorch's draws: the same as nn.Conv2d/nn.Linear constructed in order on the same generator", () => {
    mg.manualSeed(9);
    const ch = 2;
    const mods = [0, 1, 2, 3].map((b) => new mg.nn.Conv2d(b === 0 ? 1 : ch, ch, 3, { padding: 1 }));
    const head = new mg.nn.Linear(ch, 3);
    mg.manualSeed(9);
    const params = initConvNet(ch, 3, mg.getDefaultGenerator());
    const want = [...mods.flatMap((m) => [m.weight, m.bias]), head.weight, head.bias] as mg.Tensor[];
    const got = [0, 1, 4, 5, 8, 9, 12, 13, 16, 17].map((i) => params[i]);
    want.forEach((w, i) => assert.deepEqual([...got[i].data], [...w.data]));
  });

  it('prototypes: nearest class mean of the features classifies an episode built from its own support set perfectly', () => {
    const [ep] = sampleEpisodes(pools, TRAIN_CLASSES, { ways: 3, shots: 1, queries: 1 }, new mg.Generator().manualSeed(2), 1);
    const params = initConvNet(4, 3, new mg.Generator().manualSeed(1));
    // With the support images as queries, each is its class's mean (1 shot) at distance 0.
    assert.equal(prototypeScore(params, { ...ep, xQuery: ep.xSupport, yQuery: ep.ySupport }, 3).accuracy, 1);
  });
});

describe('fewshot: the implicit meta-gradient', () => {
  it('equals λ (∇²L + λI)⁻¹ ∇L_query at the adapted parameters, solved densely (float64)', function () {
    this.timeout(60_000);
    const [ep] = sampleEpisodes(pools, TRAIN_CLASSES, { ways: 2, shots: 2, queries: 2 }, new mg.Generator().manualSeed(3), 1);
    const theta = initConvNet(2, 2, new mg.Generator().manualSeed(0));
    const n = theta.reduce((s, p) => s + p.numel, 0);
    const cfg = { steps: 5, lr: 0.1, lambda: 2, solveIterations: n, sufficientDecrease: 1e-4, dtype: 'float64' as const };
    const r = episodeMetaGradient(flatParams(theta), ep, cfg);

    // The same adapted φ, then the linear system written out densely.
    const th = theta.map((t) => mg.tensor(Float64Array.from(t.data), { shape: [...t.shape] }));
    const [xs, ys] = [images(ep.xSupport, 'float64'), mg.tensor(ep.ySupport)];
    const support = (p: readonly mg.Tensor[]): mg.Tensor => mg.nn.functional.crossEntropy(convLogits(p, xs), ys);
    const phi = adaptProximal(th, support, cfg);
    const columns: number[][] = [];
    for (let k = 0; k < n; k++) {
      let at = k;
      const e = phi.map((p) => {
        const v = new Float64Array(p.numel);
        if (at >= 0 && at < p.numel) v[at] = 1;
        at -= p.numel;
        return mg.tensor(v, { shape: [...p.shape] });
      });
      const [, hv] = mg.func.hvp((...p: mg.Tensor[]) => support(p), phi, e);
      columns.push((hv as mg.Tensor[]).flatMap((t) => [...t.data]));
    }
    const A = mg.tensor(Float64Array.from({ length: n * n }, (_, i) => columns[i % n][Math.floor(i / n)] + (i % (n + 1) === 0 ? cfg.lambda : 0)), { shape: [n, n] });
    const leaves = phi.map((p) => p.detach().requiresGrad_(true));
    const gq = mg.autograd.grad(mg.nn.functional.crossEntropy(convLogits(leaves, images(ep.xQuery, 'float64')), mg.tensor(ep.yQuery)), leaves);
    const b = mg.tensor(Float64Array.from(gq.flatMap((t) => [...t.data])), { shape: [n, 1] });
    const want = mg.linalg.solve(A, b).mul(cfg.lambda).data;
    const got = r.grads.flatMap((g) => [...g]);
    const scale = Math.max(...Array.from(want, Math.abs));
    for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * scale, `component ${i}: ${got[i]} vs ${want[i]}`);
    assert.ok(r.residual < 1e-8 * Math.sqrt(gq.reduce((s, t) => s + t.square().sum().item(), 0)), `GMRES residual ${r.residual}`);
  });
});

describe('metagrad fewshot', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-fewshot-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const tiny = (out: string, ...extra: string[]): string[] => [
    'fewshot', '--iterations', '4', '--meta-batch', '2', '--ways', '3', '--queries', '2', '--inner-steps', '2', '--channels', '3',
    '--test-episodes', '6', '--curve-episodes', '2', '--eval-every', '2', '--checkpoint-every', '2', '--workers', '0', '--json', '--out', out, ...extra,
  ];
  const metrics = (dir: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  const history = (dir: string): unknown[] => fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds: _s, ...rest } = JSON.parse(l) as { seconds: number };
    return rest;
  });
  const same = (a: string, b: string): void => {
    assert.ok(fs.readFileSync(path.join(a, 'model.safetensors')).equals(fs.readFileSync(path.join(b, 'model.safetensors'))), 'identical meta-parameters');
    assert.deepEqual(history(b), history(a));
    assert.deepEqual(metrics(b).accuracy, metrics(a).accuracy);
  };
  const ref = path.join(tmp, 'ref');

  it('writes metrics with intervals for the four methods, history, charts, a checkpoint and a model PyTorch can load', async () => {
    const r = await run(tiny(ref));
    assert.equal(r.code, 0, r.stderr);
    const m = metrics(ref) as { accuracy: Record<string, { mean: number; ci95: number }>; imamlMinus: Record<string, { mean: number }>; testEpisodes: number; setting: unknown };
    assert.deepEqual(Object.keys(m.accuracy), ['imaml', 'pretrained', 'scratch', 'prototype']);
    for (const v of Object.values(m.accuracy)) assert.ok(v.mean >= 0 && v.mean <= 1 && v.ci95 >= 0);
    assert.ok(Math.abs(m.imamlMinus.scratch.mean - (m.accuracy.imaml.mean - m.accuracy.scratch.mean)) < 1e-12);
    assert.equal(m.testEpisodes, 6);
    assert.deepEqual(m.setting, { ways: 3, shots: 1, queries: 2 });
    const h = history(ref) as { iteration: number; curveAccuracy?: number; metaAccuracy: number }[];
    assert.deepEqual(h.map((x) => x.iteration), [1, 2, 3, 4]);
    assert.deepEqual(h.map((x) => x.curveAccuracy !== undefined), [false, true, false, true]);
    for (const f of ['curve.svg', 'accuracy.svg']) assert.match(fs.readFileSync(path.join(ref, f), 'utf8'), /^<svg[\s\S]*<path[\s\S]*<\/svg>\s*$/);
    const model = mg.load(path.join(ref, 'model.safetensors')) as Record<string, mg.Tensor>;
    assert.deepEqual(Object.keys(model), convNetSpecs(3, 3).map((s) => s.name));
  });

  it('--resume continues to exactly the numbers of the uninterrupted run; 2 worker threads give them too', async () => {
    const dir = path.join(tmp, 'resumed');
    assert.equal((await run(tiny(dir, '--iterations', '2'))).code, 0);
    assert.equal((await run(tiny(dir, '--resume'))).code, 0);
    same(ref, dir);
    const threads = path.join(tmp, 'threads');
    assert.equal((await run([...tiny(threads), '--workers', '2'])).code, 0);
    same(ref, threads);
  });

  it('rejects bad settings with a message naming them', async () => {
    const r = await run(tiny(path.join(tmp, 'bad'), '--ways', '6'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--ways must be between 2 and 5/);
  });
});
