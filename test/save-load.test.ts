/**
 * mg.save / mg.load in safetensors, against real PyTorch in both directions (fixtures written by
 * scripts/fixtures/torch_safetensors.py with torch and safetensors.torch): PyTorch's saved
 * state_dict loads into the equivalent metagrad module and gives PyTorch's outputs; the file
 * metagrad wrote loads into PyTorch's module (strict load_state_dict) and gave metagrad's outputs.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mg from '../ts/index';
import { encodeSafetensors } from '../ts/io/safetensors';
import { assertClose } from './helpers/check';
import { bnNet } from './helpers/bn-net';

const FIX = path.join(__dirname, 'fixtures');
const REF = JSON.parse(fs.readFileSync(path.join(FIX, 'torch_safetensors.json'), 'utf8')) as {
  input: number[][]; torchOutput: number[][]; metagradFileKeys: string[]; metagradFileOutputInTorch: number[][];
  bnOutput: number[][]; bnTracked: number; metagradBnDtypes: Record<string, string>; metagradBnLabels: number[]; metagradBnMask: boolean[];
  metagradBnTracked: number; metagradBnOutputInTorch: number[][];
};
const mlp = () => new mg.nn.Sequential(new mg.nn.Linear(3, 4), new mg.nn.Tanh(), new mg.nn.Linear(4, 2));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mg-save-'));

describe('mg.save / mg.load', () => {
  it("a state_dict saved by safetensors.torch.save_file loads into metagrad's Sequential and gives PyTorch's outputs", () => {
    const net = mlp();
    const sd = mg.load(path.join(FIX, 'torch_mlp.safetensors'));
    assert.deepEqual(Object.keys(sd).sort(), ['0.bias', '0.weight', '2.bias', '2.weight']);
    net.loadStateDict(sd);
    assertClose(mg.noGrad(() => net.forward(mg.tensor(REF.input)) as mg.Tensor), REF.torchOutput.flat(), 1e-6);
    const { metadata } = mg.load(path.join(FIX, 'torch_mlp.safetensors'), { metadata: true });
    assert.equal(metadata.writer, 'safetensors.torch.save_file');
  });

  it("the file mg.save wrote loads into PyTorch's module (strict) and there gives metagrad's outputs", () => {
    mg.manualSeed(1);
    const net = mlp();
    assertClose(mg.noGrad(() => net.forward(mg.tensor(REF.input)) as mg.Tensor), REF.metagradFileOutputInTorch.flat(), 1e-6);
    assert.deepEqual(Object.keys(mg.load(path.join(FIX, 'metagrad_mlp.safetensors'))).sort(), REF.metagradFileKeys);
    // And saving the same module again writes the same bytes (the fixture is reproducible).
    const file = path.join(tmp(), 'm.safetensors');
    mg.save(net, file, { metadata: { writer: 'metagrad mg.save' } });
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(FIX, 'metagrad_mlp.safetensors')));
  });

  it('int64 and bool tensors both ways: a BatchNorm state dict (num_batches_tracked), labels and a mask', () => {
    // PyTorch's file: dtypes as PyTorch saved them, and the state dict gives PyTorch's eval outputs.
    const { labels, mask, ...sd } = mg.load(path.join(FIX, 'torch_bn.safetensors'));
    assert.equal(labels.dtype, 'int64');
    assert.deepEqual(labels.tolist(), [4, 0, 9]);
    assert.equal(mask.dtype, 'bool');
    assert.equal(mask.toString(), 'tensor([ True, False,  True,  True])');
    assert.equal(sd['1.num_batches_tracked'].dtype, 'int64');
    const net = new mg.nn.Sequential(new mg.nn.Linear(3, 4), new mg.nn.BatchNorm1d(4));
    net.loadStateDict(sd);
    net.eval();
    assert.equal((net.stateDict()['1.num_batches_tracked'] as mg.Tensor).item(), REF.bnTracked);
    assertClose(mg.noGrad(() => net.forward(mg.tensor(REF.input)) as mg.Tensor), REF.bnOutput.flat(), 1e-6);
    // metagrad's file, as PyTorch read it: the same dtypes and values, and metagrad's eval outputs.
    const ours = bnNet();
    ours.eval();
    const dtypes = Object.fromEntries(Object.entries(mg.load(path.join(FIX, 'metagrad_bn.safetensors'))).map(([k, t]) => [k, t.dtype]));
    assert.deepEqual(dtypes, REF.metagradBnDtypes);
    assert.deepEqual(REF.metagradBnLabels, [4, 0, 9]);
    assert.deepEqual(REF.metagradBnMask, [true, false, true, true]);
    assert.equal(REF.metagradBnTracked, 2);
    assertClose(mg.noGrad(() => ours.forward(mg.tensor(REF.input)) as mg.Tensor), REF.metagradBnOutputInTorch.flat(), 1e-6);
    const file = path.join(tmp(), 'bn.safetensors');
    mg.save({ ...ours.stateDict(), labels: mg.tensor([4, 0, 9], { dtype: 'int64' }), mask: mg.tensor([true, false, true, true]) }, file);
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(FIX, 'metagrad_bn.safetensors')), 'the fixture is reproducible');
  });

  it('a tree round-trips under dotted names with dtypes, values and metadata', () => {
    const file = path.join(tmp(), 't.safetensors');
    const a = mg.tensor([[1.5, -2], [3, 4e-300]], { dtype: 'float64' });
    const b = mg.tensor([0.1, 0.2, 0.3]);
    const s = mg.tensor(7, { dtype: 'float64' });
    mg.save({ layer: { w: a }, list: [b, s] }, file, { metadata: { step: '12' } });
    const { tensors, metadata } = mg.load(file, { metadata: true });
    assert.deepEqual(Object.keys(tensors).sort(), ['layer.w', 'list.0', 'list.1']);
    assert.equal(tensors['layer.w'].dtype, 'float64');
    assert.deepEqual(tensors['layer.w'].shape, [2, 2]);
    assert.deepEqual(Array.from(tensors['layer.w'].data), Array.from(a.data));
    assert.equal(tensors['list.0'].dtype, 'float32');
    assert.deepEqual(Array.from(tensors['list.0'].data), Array.from(b.data));
    assert.deepEqual(tensors['list.1'].shape, []);
    assert.equal(metadata.step, '12');
  });

  it('integer tensors (PyTorch int64 buffers) load as int64; values beyond ±(2⁵³ − 1) are refused', () => {
    const file = path.join(tmp(), 'i.safetensors');
    fs.writeFileSync(file, encodeSafetensors([['n', { dtype: 'I64', shape: [2], data: BigInt64Array.of(3n, -5n) }]]));
    const t = mg.load(file).n;
    assert.equal(t.dtype, 'int64');
    assert.deepEqual(Array.from(t.data), [3, -5]);
    fs.writeFileSync(file, encodeSafetensors([['n', { dtype: 'I64', shape: [1], data: BigInt64Array.of(2n ** 60n) }]]));
    assert.throws(() => mg.load(file), /tensor 'n' \(I64\) holds 1152921504606846976, beyond ±\(2⁵³ − 1\), which metagrad's int64 holds exactly/);
  });

  it('bad input is named: the tree, metadata, name collisions, a file that is not safetensors', () => {
    const dir = tmp();
    assert.throws(() => mg.save({ a: 3 } as never, path.join(dir, 'x')), /mg\.save: argument 'tree entry 'a'' must be a Tensor, an nn\.Module/);
    assert.throws(() => mg.save({ a: mg.ones([1]) }, path.join(dir, 'x'), { metadata: { n: 3 as never } }), /mg\.save: argument 'metadata\.n' must be a string, got 3/);
    assert.throws(() => mg.save({ 'a.b': mg.ones([1]), a: { b: mg.ones([1]) } }, path.join(dir, 'x')), /two tensors would be saved under the name 'a\.b'/);
    const junk = path.join(dir, 'junk.safetensors');
    fs.writeFileSync(junk, Buffer.from('not a safetensors file at all'));
    assert.throws(() => mg.load(junk), (e: Error) => e instanceof mg.SafetensorsError && e.message.startsWith(`mg.load: ${junk}: `));
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0);
  });
});
