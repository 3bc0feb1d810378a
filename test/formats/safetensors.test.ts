import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem, nodeFileSystem } from '../../src/node/file-system.js';
import type { RandomAccessFile } from '../../src/io/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';
import {
  bytesToFloat32,
  openSafetensors,
  openSafetensorsCheckpoint,
  serializeSafetensors,
  writeSafetensors,
} from '../../src/formats/safetensors.js';

const fs = nodeFileSystem;
const tmp = mkdtempSync(join(tmpdir(), 'tl-safetensors-'));
const tinyRandom = join(sharedDir(), 'golden', 'tiny-random');

/** Builds a safetensors file from a raw header object and data bytes (for malformed-file tests). */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string | Uint8Array): Uint8Array {
  const json = headerText instanceof Uint8Array ? headerText : new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function writeTmp(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

/** A FileSystem that records every ranged and whole-file read, to prove the reader is lazy. */
class CountingFs extends NodeFileSystem {
  readonly reads: { offset: number; length: number }[] = [];
  readonly wholeReads: string[] = [];
  override async open(path: string): Promise<RandomAccessFile> {
    const f = await super.open(path);
    return {
      path: f.path,
      size: f.size,
      read: (offset, length) => {
        this.reads.push({ offset, length });
        return f.read(offset, length);
      },
      close: () => f.close(),
    };
  }
  override readBytes(path: string): Promise<Uint8Array> {
    this.wholeReads.push(path);
    return super.readBytes(path);
  }
}

test('round-trip: serialize, write atomically, reopen', async () => {
  const tensors = {
    'b.weight': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, Math.fround(0.1), -0, 1e-40]) },
    'a.bias': { shape: [3], data: Float32Array.from([Infinity, -Infinity, 7]) },
    scalar: { shape: [], data: Float32Array.from([42]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  };
  const bytes = serializeSafetensors(tensors, { note: 'hello' });
  // Standard layout: header length is a multiple of 8 and the JSON is space-padded.
  const headerLen = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(headerLen % 8, 0);
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
  const header = JSON.parse(headerText);
  assert.deepEqual(header.__metadata__, { format: 'pt', note: 'hello' });
  assert.deepEqual(Object.keys(header).slice(1), ['a.bias', 'b.weight', 'empty', 'scalar']); // name order
  assert.deepEqual(header['a.bias'].data_offsets, [0, 12]);
  assert.equal(bytes.length, 8 + headerLen + 4 * (6 + 3 + 1));

  const path = join(tmp, 'sub', 'roundtrip.safetensors');
  await writeSafetensors(fs, path, tensors, { note: 'hello' });
  assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
  assert.deepEqual(readdirSync(join(tmp, 'sub')), ['roundtrip.safetensors']); // no temp file left behind

  const f = await openSafetensors(fs, path);
  try {
    assert.deepEqual(f.names().sort(), Object.keys(tensors).sort());
    assert.deepEqual(f.metadata, { format: 'pt', note: 'hello' });
    for (const [name, t] of Object.entries(tensors)) {
      assert.equal(f.dtype(name), 'F32');
      assert.deepEqual(f.shape(name), t.shape);
      const back = await f.readFloat32(name, t.shape);
      assert.deepEqual(back.shape, t.shape);
      assert.deepEqual(new Uint8Array(back.data.buffer), new Uint8Array(t.data.buffer), name); // bitwise (keeps -0)
    }
  } finally {
    await f.close();
  }
});

test('serializeSafetensors rejects data whose length does not match the shape', () => {
  assert.throws(
    () => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
    /tensor 'w' has 3 values but shape \[2, 2\] needs 4/,
  );
});

test('reads lazily: header at open, one ranged read per tensor, never the whole file', async () => {
  const path = join(tinyRandom, 'gpt2', 'model.safetensors');
  const cfs = new CountingFs();
  const { reads, wholeReads } = cfs;
  const f = await openSafetensors(cfs, path);
  const size = readFileSync(path).length;
  assert.equal(reads.length, 2); // length prefix + header
  assert.ok(reads.every((r) => r.offset + r.length < 20000));
  reads.length = 0;
  const t = await f.readFloat32('transformer.wte.weight', [211, 48]);
  assert.equal(reads.length, 1);
  assert.equal(reads[0]!.length, 211 * 48 * 4);
  assert.equal(t.data.length, 211 * 48);
  assert.ok(reads[0]!.length < size);
  assert.deepEqual(wholeReads, []);
  await f.close();
});

test('every tiny-random model.safetensors lists exactly the golden names, dtypes and shapes', async () => {
  const models = readdirSync(tinyRandom).filter((d) => !d.endsWith('.md'));
  assert.deepEqual(models.sort(), [
    'bloom', 'gemma', 'gemma2', 'gpt2', 'gpt_neo', 'gpt_neox', 'gptj', 'llama', 'mistral', 'opt', 'opt_project_in_out', 'phi3', 'qwen2', 'qwen3',
  ]);
  for (const m of models) {
    const golden = JSON.parse(readFileSync(join(tinyRandom, m, 'golden.json'), 'utf8'));
    const expected = golden.safetensors_tensors as Record<string, { dtype: string; shape: number[] }>;
    const w = await openSafetensorsCheckpoint(fs, join(tinyRandom, m));
    try {
      assert.deepEqual(w.names().sort(), Object.keys(expected).sort(), m);
      for (const [name, { dtype, shape }] of Object.entries(expected)) {
        assert.equal(w.dtype(name), dtype, `${m} ${name}`);
        assert.deepEqual(w.shape(name), shape, `${m} ${name}`);
        if (dtype === 'F32') {
          const t = await w.readFloat32(name, shape);
          assert.equal(t.data.length, shape.reduce((a, b) => a * b, 1));
        } else {
          // BOOL causal masks: readFloat32 refuses, readRaw gives the bytes (lower triangle of ones on the diagonal).
          await assert.rejects(w.readFloat32(name), new RegExp(`tensor '${name.replace(/\./g, '\\.')}' has dtype BOOL, which is not a float type`));
          const raw = await w.readRaw(name);
          assert.equal(raw.dtype, 'BOOL');
          assert.equal(raw.bytes.length, 32 * 32);
          assert.equal(raw.bytes[0], 1);
          assert.equal(raw.bytes[1], 0);
        }
      }
      for (const omitted of golden.safetensors_omitted_tied_keys as string[]) assert.equal(w.has(omitted), false);
    } finally {
      await w.close();
    }
  }
});

test('reference translators.safetensors matches translators.json bitwise', async () => {
  const dir = join(sharedDir(), 'golden', 'reference-lens');
  const json = JSON.parse(readFileSync(join(dir, 'translators.json'), 'utf8')) as Record<string, unknown>;
  const f = await openSafetensors(fs, join(dir, 'translators.safetensors'));
  try {
    assert.equal(f.names().length, 10);
    for (const name of f.names()) {
      const expected = Float32Array.from((json[name] as number[] | number[][]).flat());
      const t = await f.readFloat32(name);
      assert.deepEqual(t.data, expected, name);
    }
  } finally {
    await f.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// dtype conversion

/** Independent f16 decoder by arithmetic, for comparison with the bit-twiddling table. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test('F16 widening is exact for all 65536 bit patterns', () => {
  const src = new Uint16Array(65536).map((_, i) => i);
  const out = bytesToFloat32('F16', new Uint8Array(src.buffer), 65536);
  for (let h = 0; h < 65536; h++) {
    const want = halfToNumber(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]!), `0x${h.toString(16)}`);
    else assert.ok(Object.is(out[h], want), `0x${h.toString(16)}: ${out[h]} != ${want}`);
  }
});

test('BF16 widening is exact; F64 rounds to nearest float32', () => {
  const f = Float32Array.from([1, -2.5, 3.1415927, 1e-40, -0, Infinity, 65504.5, 1.1754944e-38]);
  const u32 = new Uint32Array(f.buffer);
  const bf = Uint16Array.from(u32, (v) => v >>> 16);
  const out = bytesToFloat32('BF16', new Uint8Array(bf.buffer), f.length);
  for (let i = 0; i < f.length; i++) {
    assert.equal(new Uint32Array(out.buffer)[i], (u32[i]! & 0xffff0000) >>> 0);
  }
  const d = Float64Array.from([0.1, -1 / 3, 1e300, 2 ** -149]);
  const o64 = bytesToFloat32('F64', new Uint8Array(d.buffer), d.length);
  assert.deepEqual([...o64], [...d].map(Math.fround));
});

test('F16/BF16/F64 tensors in a file are converted; unaligned byte offsets are handled', async () => {
  // Hand-made file whose header length is not a multiple of 8, so data start is unaligned.
  const h = Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7bff]); // 1, -2, 2^-24, 65504
  const b = Uint16Array.from([0x3f80, 0x4049]); // 1, 3.140625
  const d = Float64Array.from([0.5, -0.25]);
  const data = new Uint8Array(8 + 4 + 16);
  data.set(new Uint8Array(h.buffer), 0);
  data.set(new Uint8Array(b.buffer), 8);
  data.set(new Uint8Array(d.buffer), 12);
  const header = {
    h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
    d: { dtype: 'F64', shape: [2], data_offsets: [12, 28] },
  };
  const path = writeTmp('mixed.safetensors', rawFile(header, data, JSON.stringify(header) + ' '));
  const f = await openSafetensors(fs, path);
  assert.deepEqual([...(await f.readFloat32('h', [2, 2])).data], [1, -2, 2 ** -24, 65504]);
  assert.deepEqual([...(await f.readFloat32('b')).data], [1, 3.140625]);
  assert.deepEqual([...(await f.readFloat32('d')).data], [0.5, -0.25]);
  assert.deepEqual((await f.readRaw('h')).bytes, new Uint8Array(h.buffer));
  await f.close();
});

// ---------------------------------------------------------------------------------------------------------------
// errors

test('errors at open name the file and the problem', async (t) => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: [string, Uint8Array, RegExp][] = [
    ['short', new Uint8Array(5), /short\.safetensors: not a safetensors file: 5 bytes is shorter than the 8-byte header length/],
    ['absurd', Uint8Array.of(0, 0, 0, 0x40, 0, 0, 0, 0, 0x7b, 0x7d), /absurd\.safetensors: .*header length 1073741824 bytes is absurd/],
    ['too-long', Uint8Array.of(100, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d), /too-long\.safetensors: .*header length 100 bytes exceeds the file size \(10 bytes\)/],
    ['not-utf8', rawFile(null, undefined, Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)) /* {"\xff":1} */, /not-utf8\.safetensors: corrupt safetensors header: not valid UTF-8/],
    ['not-json', rawFile(null, undefined, '{"w": {"dtype": "F32",'), /not-json\.safetensors: corrupt safetensors header: not valid JSON/],
    ['array', rawFile([1, 2]), /array\.safetensors: corrupt safetensors header: expected a JSON object/],
    ['no-dtype', rawFile({ w: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /no-dtype\.safetensors: corrupt safetensors header: tensor 'w' has no dtype/],
    ['no-shape', rawFile({ w: { dtype: 'F32', data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'w' has no shape/],
    ['no-offsets', rawFile({ w: { dtype: 'F32', shape: [2] } }, new Uint8Array(8)), /tensor 'w' has no data_offsets/],
    ['bad-dtype', rawFile({ w: { ...ok, dtype: 'F33' } }, new Uint8Array(8)), /bad-dtype\.safetensors: .*tensor 'w' has unknown dtype 'F33'/],
    ['bad-shape', rawFile({ w: { ...ok, shape: [2, -1] } }, new Uint8Array(8)), /tensor 'w' has an invalid shape \[2,-1\]/],
    ['bad-range', rawFile({ w: { ...ok, shape: [3] } }, new Uint8Array(8)), /bad-range\.safetensors: .*tensor 'w' has data_offsets \[0, 8\] \(8 bytes\) but shape \[3\] of F32 needs 12 bytes/],
    ['reversed', rawFile({ w: { ...ok, data_offsets: [8, 0] } }, new Uint8Array(8)), /tensor 'w' has invalid data_offsets \[8,0\]/],
    ['bad-meta', rawFile({ __metadata__: 'x', w: ok }, new Uint8Array(8)), /__metadata__ is not an object/],
  ];
  for (const [name, bytes, re] of cases) {
    await t.test(name, async () => {
      const path = writeTmp(`${name}.safetensors`, bytes);
      await assert.rejects(openSafetensors(fs, path), (e: Error) => {
        assert.match(e.message, re);
        assert.ok(e.message.startsWith(path), e.message);
        return true;
      });
    });
  }
});

test('truncated file: error names the file, the tensor and the sizes', async () => {
  const full = readFileSync(join(tinyRandom, 'llama', 'model.safetensors'));
  const path = writeTmp('truncated.safetensors', full.subarray(0, full.length - 100));
  await assert.rejects(openSafetensors(fs, path), (e: Error) => {
    assert.ok(e.message.startsWith(`${path}: truncated or corrupt safetensors file: `), e.message);
    assert.match(e.message, /tensor 'model\.norm\.weight' ends at data byte 483136, but the data section has only 483036 bytes/);
    return true;
  });
});

test('corrupt header (garbage bytes over the JSON) is reported', async () => {
  const full = new Uint8Array(readFileSync(join(tinyRandom, 'opt', 'model.safetensors')));
  full.set(new TextEncoder().encode('@@@@'), 8); // over the opening '{"__'
  const path = writeTmp('corrupt-header.safetensors', full);
  await assert.rejects(openSafetensors(fs, path), /corrupt-header\.safetensors: corrupt safetensors header: not valid JSON/);
});

test('wrong tensor shape, unknown name, non-float dtype', async () => {
  const path = join(tinyRandom, 'gpt2', 'model.safetensors');
  const f = await openSafetensors(fs, path);
  try {
    await assert.rejects(f.readFloat32('transformer.wte.weight', [48, 211]), {
      message: `${path}: tensor 'transformer.wte.weight' has shape [211, 48], expected [48, 211]`,
    });
    await assert.rejects(f.readFloat32('transformer.wte.weight', [211]), /has shape \[211, 48\], expected \[211\]/);
    assert.throws(() => f.shape('model.h.0.mlp.c_fc.weight'), (e: Error) => {
      // Names sharing the most components come first.
      assert.ok(e.message.startsWith(`${path}: no tensor named 'model.h.0.mlp.c_fc.weight'; available: 'transformer.h.0.mlp.c_fc.weight', `), e.message);
      assert.match(e.message, /\.\.\. \(\d+ in all\)/);
      return true;
    });
    await assert.rejects(f.readRaw('nope'), /no tensor named 'nope'/);
  } finally {
    await f.close();
  }
});

test('sharded checkpoint via model.safetensors.index.json', async () => {
  const dir = join(tmp, 'sharded');
  const a = { 'x.weight': { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } };
  const b = { 'y.weight': { shape: [3], data: Float32Array.from([5, 6, 7]) }, 'z.bias': { shape: [1], data: Float32Array.from([8]) } };
  await writeSafetensors(fs, join(dir, 'model-00001-of-00002.safetensors'), a);
  await writeSafetensors(fs, join(dir, 'model-00002-of-00002.safetensors'), b);
  const index = {
    metadata: { total_size: 32 },
    weight_map: { 'x.weight': 'model-00001-of-00002.safetensors', 'y.weight': 'model-00002-of-00002.safetensors', 'z.bias': 'model-00002-of-00002.safetensors' },
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  const w = await openSafetensorsCheckpoint(fs, dir);
  try {
    assert.deepEqual(w.names(), ['x.weight', 'y.weight', 'z.bias']);
    assert.deepEqual([...(await w.readFloat32('x.weight', [2, 2])).data], [1, 2, 3, 4]);
    assert.deepEqual([...(await w.readFloat32('y.weight')).data], [5, 6, 7]);
    assert.deepEqual(w.shape('z.bias'), [1]);
    assert.equal(w.metadata.total_size, '32');
    assert.throws(() => w.dtype('w.weight'), /model\.safetensors\.index\.json: no tensor named 'w\.weight'/);
  } finally {
    await w.close();
  }

  // An index that points at a tensor its shard lacks.
  const bad = join(tmp, 'sharded-bad');
  await writeSafetensors(fs, join(bad, 'one.safetensors'), a);
  writeFileSync(join(bad, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'q.weight': 'one.safetensors' } }));
  await assert.rejects(openSafetensorsCheckpoint(fs, bad), /weight_map says tensor 'q\.weight' is in one\.safetensors, but .*one\.safetensors has no such tensor/);

  // A folder with neither file.
  const empty = join(tmp, 'empty-model');
  writeFileSync(join(tmp, 'placeholder'), '');
  await fs.mkdirp(empty);
  writeFileSync(join(empty, 'pytorch_model.bin'), '');
  await assert.rejects(openSafetensorsCheckpoint(fs, empty), /empty-model: no model\.safetensors or model\.safetensors\.index\.json found \(folder has: pytorch_model\.bin\)/);
});

test('bytesToFloat32 keeps handed-over F32 bytes as the array (no copy), and copies everything else', () => {
  const values = new Float32Array([1.5, -2, 3.25, 0]);
  const own = new Uint8Array(values.slice().buffer);
  const kept = bytesToFloat32('F32', own, 4, true);
  assert.equal(kept.buffer, own.buffer, 'a whole buffer handed over becomes the array');
  assert.deepEqual(Array.from(kept), Array.from(values));
  const notHandedOver = bytesToFloat32('F32', own, 4);
  assert.notEqual(notHandedOver.buffer, own.buffer, 'bytes the caller keeps are copied');
  // Part of a larger buffer (e.g. a storage shared by several tensors): copied even when handed over.
  const larger = new Uint8Array(24);
  larger.set(own, 4);
  const part = bytesToFloat32('F32', larger.subarray(4, 20), 4, true);
  assert.notEqual(part.buffer, larger.buffer);
  assert.deepEqual(Array.from(part), Array.from(values));
  // Other dtypes always convert into a new array.
  assert.deepEqual(Array.from(bytesToFloat32('F64', new Uint8Array(new Float64Array([0.5, 2]).buffer), 2, true)), [0.5, 2]);
});
