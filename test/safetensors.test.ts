/** The safetensors writer and reader: round trips, the byte layout the format prescribes, and rejection of malformed files. */
import * as assert from 'node:assert/strict';
import { SafetensorsError, type StoredTensor, decodeSafetensors, encodeSafetensors } from '../ts/io/safetensors';

/** A file assembled by hand from a header object and data bytes, as the format describes it. */
function handMade(header: object, data: number[], pad = true): Buffer {
  let json = JSON.stringify(header);
  if (pad) json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), Buffer.from(data)]);
}

function headerOf(buf: Buffer): { n: number; json: string; header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>> } {
  const n = Number(buf.readBigUInt64LE(0));
  const json = buf.subarray(8, 8 + n).toString('utf8');
  return { n, json, header: JSON.parse(json) };
}

describe('safetensors', () => {
  const tensors: [string, StoredTensor][] = [
    ['w', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, -7]) }],
    ['b', { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 255]) }],
    ['d', { dtype: 'F64', shape: [2], data: Float64Array.from([Math.PI, -0.1]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([42]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ['state', { dtype: 'U32', shape: [2], data: Uint32Array.from([0xffffffff, 7]) }],
    ['big', { dtype: 'I64', shape: [1], data: BigInt64Array.from([-(2n ** 62n)]) }],
    ['i', { dtype: 'I32', shape: [2], data: Int32Array.from([-1, 2 ** 31 - 1]) }],
  ];

  it('round-trips tensors of every supported dtype, scalars, empty tensors and metadata exactly', () => {
    const meta = { format: 'test/1', note: 'ünïcode ✓', empty: '' };
    const back = decodeSafetensors(encodeSafetensors(tensors, meta));
    assert.deepEqual(back.metadata, meta);
    assert.equal(back.tensors.size, tensors.length);
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name);
      assert.ok(r, name);
      assert.equal(r.dtype, t.dtype);
      assert.deepEqual(r.shape, t.shape);
      assert.equal(r.data.constructor, t.data.constructor);
      assert.deepEqual(Array.from(r.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it('writes the layout of the format: u64 LE header length, space-padded JSON header, contiguous little-endian data', () => {
    const buf = Buffer.from(encodeSafetensors(tensors, { k: 'v' }));
    const { n, json, header } = headerOf(buf);
    assert.equal(n % 8, 0, 'header length is a multiple of 8');
    assert.equal(json.trimEnd(), JSON.stringify(JSON.parse(json)), 'JSON followed by spaces only');
    assert.deepEqual(header.__metadata__, { k: 'v' });
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
    entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    // Contiguous from 0 to the end of the file, larger elements first so every tensor is aligned.
    let pos = 0;
    let lastSize = Infinity;
    const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U32: 4, U8: 1 };
    for (const [, e] of entries) {
      assert.equal(e.data_offsets[0], pos);
      assert.equal(e.data_offsets[0] % sizes[e.dtype], 0);
      assert.ok(sizes[e.dtype] <= lastSize);
      lastSize = sizes[e.dtype];
      pos = e.data_offsets[1];
    }
    assert.equal(8 + n + pos, buf.length);
    // The bytes of w: float32 1.0 is 0x3f800000, stored little-endian.
    const w = header.w as { data_offsets: [number, number] };
    assert.deepEqual([...buf.subarray(8 + n + w.data_offsets[0], 8 + n + w.data_offsets[0] + 4)], [0x00, 0x00, 0x80, 0x3f]);
    assert.deepEqual(header.w, { dtype: 'F32', shape: [2, 3], data_offsets: w.data_offsets });
  });

  it('omits __metadata__ when there is none', () => {
    const { header } = headerOf(Buffer.from(encodeSafetensors([tensors[0]])));
    assert.deepEqual(Object.keys(header), ['w']);
  });

  it('reads a file assembled by hand from the format description', () => {
    // 2×2 float32 [[1, 2], [3, 4]] then one float64 0.5 would misalign; use F64 first like the writer.
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(0.5);
    const f32 = Buffer.alloc(16);
    [1, 2, 3, 4].forEach((v, i) => f32.writeFloatLE(v, 4 * i));
    const buf = handMade(
      { __metadata__: { a: 'b' }, m: { dtype: 'F32', shape: [2, 2], data_offsets: [8, 24] }, h: { dtype: 'F64', shape: [], data_offsets: [0, 8] } },
      [...f64, ...f32],
      false,
    );
    const r = decodeSafetensors(buf);
    assert.deepEqual(r.metadata, { a: 'b' });
    assert.deepEqual(Array.from(r.tensors.get('m')?.data as Float32Array), [1, 2, 3, 4]);
    assert.deepEqual(r.tensors.get('m')?.shape, [2, 2]);
    assert.deepEqual(Array.from(r.tensors.get('h')?.data as Float64Array), [0.5]);
    assert.deepEqual([...r.tensors.keys()], ['h', 'm'], 'tensors in file order');
  });

  it('reads a file written by the reference implementation (Python safetensors 0.x, save_file)', () => {
    // save_file({'a': float32 arange(6) as 2×3, 'b': float64 [1.5], 'c': uint8 [1, 2, 3], 'd': int64 [-5],
    //            's': float32 scalar 3}, metadata={'x': 'y'})
    const py =
      'MAEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJ4IjoieSJ9LCJkIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOlsxXSwiZGF0YV9vZmZzZXRzIjpbMCw4XX0sImIiOnsiZHR5cGUiOiJGNjQiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOls4LDE2XX0sImEiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsM10sImRhdGFfb2Zmc2V0cyI6WzE2LDQwXX0sInMiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6W10sImRhdGFfb2Zmc2V0cyI6WzQwLDQ0XX0sImMiOnsiZHR5cGUiOiJVOCIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzQ0LDQ3XX19ICAgICAg+/////////8AAAAAAAD4PwAAAAAAAIA/AAAAQAAAQEAAAIBAAACgQAAAQEABAgM=';
    const r = decodeSafetensors(Buffer.from(py, 'base64'));
    assert.deepEqual(r.metadata, { x: 'y' });
    const get = (k: string) => {
      const t = r.tensors.get(k);
      assert.ok(t, k);
      return { dtype: t.dtype, shape: t.shape, values: Array.from(t.data as ArrayLike<number | bigint>) };
    };
    assert.deepEqual(get('a'), { dtype: 'F32', shape: [2, 3], values: [0, 1, 2, 3, 4, 5] });
    assert.deepEqual(get('b'), { dtype: 'F64', shape: [1], values: [1.5] });
    assert.deepEqual(get('c'), { dtype: 'U8', shape: [3], values: [1, 2, 3] });
    assert.deepEqual(get('d'), { dtype: 'I64', shape: [1], values: [-5n] });
    assert.deepEqual(get('s'), { dtype: 'F32', shape: [], values: [3] });
    // Writing it back gives the reference writer's exact bytes (same order rule, same padding).
    assert.ok(Buffer.from(encodeSafetensors(r.tensors, r.metadata)).equals(Buffer.from(py, 'base64')));
  });

  const bad: [string, () => Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', () => Buffer.from([1, 2, 3]), /shorter than the 8-byte/],
    ['a header length past the end', () => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return b; }, /exceeds the file size/],
    ['a header that is not JSON', () => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{abc', 8); return b; }, /not JSON/],
    ['a header that is a JSON array', () => handMade([], []), /not a JSON object/],
    ['an unknown dtype', () => handMade({ x: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /unsupported dtype/],
    ['a byte count that does not match the shape', () => handMade({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /4 bytes for shape \[2\]/],
    ['data outside the file', () => handMade({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]), /outside/],
    ['a gap between tensors', () => handMade({ x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, y: { dtype: 'U8', shape: [1], data_offsets: [2, 3] } }, [1, 0, 2]), /must be contiguous/],
    ['trailing bytes (a truncated or padded file)', () => handMade({ x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [1, 0]), /1 bytes after the last tensor/],
    ['non-string metadata', () => handMade({ __metadata__: { a: 1 } }, []), /'a' is not a string/],
    ['a negative shape', () => handMade({ x: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, []), /invalid shape/],
    ['a truncated checkpoint', () => encodeSafetensors(tensors).subarray(0, 100), /exceeds|outside|bytes/],
  ];
  for (const [what, make, msg] of bad) {
    it(`rejects ${what} with a SafetensorsError`, () => {
      assert.throws(() => decodeSafetensors(make()), (e: unknown) => e instanceof SafetensorsError && msg.test((e as Error).message));
    });
  }

  it('refuses to write a tensor whose data does not match its shape or dtype', () => {
    assert.throws(() => encodeSafetensors([['x', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]), /2 values for shape \[3\]/);
    assert.throws(() => encodeSafetensors([['x', { dtype: 'F64', shape: [2], data: new Float32Array(2) }]]), /declared F64/);
    assert.throws(() => encodeSafetensors([['__metadata__', { dtype: 'F32', shape: [0], data: new Float32Array(0) }]]), /cannot name a tensor/);
    assert.throws(() => encodeSafetensors([['x', tensors[0][1]], ['x', tensors[0][1]]]), /duplicate/);
  });

  it('names what is wrong with an entry that is no [name, StoredTensor] pair (the functions are public: mg.encodeSafetensors)', () => {
    const bad = (entries: unknown) => () => encodeSafetensors(entries as Iterable<[string, StoredTensor]>);
    assert.throws(bad([[3, tensors[0][1]]]), /^TypeError: encodeSafetensors: .*entry 0 has no string name/);
    assert.throws(bad([['w', null]]), /encodeSafetensors: tensor 'w' must be \{ dtype: F64 \| F32 .*got null/);
    assert.throws(bad([['w', { dtype: 'F16', shape: [1], data: new Uint8Array(2) }]]), /tensor 'w' must be .*got dtype "F16"/);
    assert.throws(bad([['w', { dtype: 'F32', data: new Float32Array(1) }]]), /tensor 'w' must be/);
  });
});
