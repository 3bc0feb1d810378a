import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openSafetensors } from '../../src/formats/safetensors.js';
import {
  f32BitsToBf16,
  f32BitsToF16,
  parseStateDictPickle,
  parseTorchStateDict,
  readTorchStateDict,
  serializeTorchStateDict,
} from '../../src/formats/torch-pickle.js';
import type { HostTensor } from '../../src/formats/weights.js';
import { ZipReader, ZipWriter, bytesAsRandomAccessFile, crc32 } from '../../src/formats/zip.js';
import { NodeFileSystem } from '../../src/node/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';

const fs = new NodeFileSystem();
const GOLDEN = join(sharedDir(), 'golden', 'reference-lens');
const KEYS = ['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias', '3.weight', '3.bias', '4.weight', '4.bias'];

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** f16 bits → float32 value, for checking that widened values are exactly representable. */
function f16ToNumber(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

async function goldenFp32(): Promise<Record<string, HostTensor>> {
  const src = await openSafetensors(fs, join(GOLDEN, 'translators.safetensors'));
  try {
    const out: Record<string, HostTensor> = {};
    for (const k of KEYS) out[k] = await src.readFloat32(k);
    return out;
  } finally {
    await src.close();
  }
}

// ------------------------------------------------------------------------------------------------------------
// Hand-built pickles (opcode by opcode) for the refusal and layout tests

class PickleBytes {
  private readonly b: number[] = [0x80, 2]; // PROTO 2
  op(...codes: number[]): this {
    this.b.push(...codes);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const e = new TextEncoder().encode(s);
    return this.op(0x58, e.length & 0xff, (e.length >> 8) & 0xff, 0, 0, ...e);
  }
  int(v: number): this {
    return this.op(0x4b, v); // BININT1
  }
  done(): Uint8Array {
    return Uint8Array.from([...this.b, 0x2e]); // STOP
  }
}

const MARK = 0x28, TUPLE = 0x74, TUPLE1 = 0x85, REDUCE = 0x52, EMPTY_TUPLE = 0x29, EMPTY_DICT = 0x7d;
const SETITEM = 0x73, BINPERSID = 0x51, NEWFALSE = 0x89;

/** A one-tensor state dict {'t': _rebuild_tensor_v2(storage '0' of `numel` floats, offset, size, stride)}. */
function oneTensorPickle(numel: number, offset: number, size: number[], stride: number[]): Uint8Array {
  const p = new PickleBytes().op(EMPTY_DICT).str('t').global('torch._utils', '_rebuild_tensor_v2').op(MARK);
  p.op(MARK).str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel).op(TUPLE, BINPERSID);
  p.int(offset);
  p.op(MARK);
  size.forEach((s) => p.int(s));
  p.op(TUPLE, MARK);
  stride.forEach((s) => p.int(s));
  p.op(TUPLE, NEWFALSE).global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, TUPLE, REDUCE, SETITEM);
  return p.done();
}

function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  const z = new ZipWriter();
  z.add('archive/data.pkl', pickle);
  for (const [k, v] of Object.entries(storages)) z.add(`archive/data/${k}`, v);
  z.add('archive/version', new TextEncoder().encode('3\n'));
  return z.finish();
}

function floatBytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

// ------------------------------------------------------------------------------------------------------------

describe('zip', () => {
  it('crc32 matches the standard check value', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  it('re-writing the golden params.pt records reproduces the file byte for byte (torch layout, 64-byte alignment)', async () => {
    for (const variant of ['lens', 'lens_fp16', 'lens_bf16']) {
      const path = join(GOLDEN, variant, 'params.pt');
      const zip = await ZipReader.open(fs, path);
      const w = new ZipWriter();
      for (const e of zip.entries()) {
        w.add(e.name, await zip.read(e.name));
        assert.equal((await zip.dataOffset(e.name)) % 64, 0, `${e.name} data is 64-byte aligned`);
      }
      await zip.close();
      assert.deepEqual(w.finish(), await fs.readBytes(path), variant);
    }
  });

  it('reads deflated entries through DecompressionStream', async (t) => {
    if (typeof CompressionStream === 'undefined') return t.skip('no CompressionStream in this runtime');
    const text = new TextEncoder().encode('hello hello hello hello hello '.repeat(20));
    const deflated = new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer());
    // Build a stored archive, then patch the entry into a deflated one (method 8, compressed size).
    const name = new TextEncoder().encode('a.txt');
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, 8, true);
    lv.setUint32(14, crc32(text), true);
    lv.setUint32(18, deflated.length, true);
    lv.setUint32(22, text.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, 8, true);
    cv.setUint32(16, crc32(text), true);
    cv.setUint32(20, deflated.length, true);
    cv.setUint32(24, text.length, true);
    cv.setUint16(28, name.length, true);
    central.set(name, 46);
    const eocd = new Uint8Array(22);
    const ev = new DataView(eocd.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, 1, true);
    ev.setUint16(10, 1, true);
    ev.setUint32(12, central.length, true);
    ev.setUint32(16, local.length + deflated.length, true);
    const all = new Uint8Array([...local, ...deflated, ...central, ...eocd]);
    const zip = await ZipReader.fromFile(bytesAsRandomAccessFile('deflated.zip', all));
    assert.deepEqual(await zip.read('a.txt'), text);
  });

  it('detects a corrupted record through its CRC', async () => {
    const bytes = torchZip(new PickleBytes().op(EMPTY_DICT).done(), { '0': floatBytes([1, 2, 3]) });
    const zip = await ZipReader.fromFile(bytesAsRandomAccessFile('corrupt.pt', bytes));
    const at = await zip.dataOffset('archive/data/0');
    bytes[at] ^= 1;
    await assert.rejects(zip.read('archive/data/0'), /corrupt\.pt: CRC-32 mismatch in zip entry 'archive\/data\/0'/);
  });
});

describe('readTorchStateDict on the golden reference lens', () => {
  let fp32: Record<string, HostTensor>;
  before(async () => {
    fp32 = await goldenFp32();
  });

  it('reads the fp32 params.pt bit-identical to translators.safetensors, in state-dict order', async () => {
    const sd = await readTorchStateDict(fs, join(GOLDEN, 'lens', 'params.pt'));
    assert.deepEqual(Object.keys(sd), KEYS);
    for (const k of KEYS) {
      assert.deepEqual(sd[k]!.shape, k.endsWith('weight') ? [64, 64] : [64]);
      assert.deepEqual(bits(sd[k]!.data), bits(fp32[k]!.data), k);
    }
  });

  for (const [variant, toBits, fromBits, relTol] of [
    ['lens_fp16', f32BitsToF16, f16ToNumber, 2 ** -11],
    ['lens_bf16', f32BitsToBf16, (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!, 2 ** -8],
  ] as const) {
    it(`reads ${variant}: exact widening of the rounded fp32 weights`, async () => {
      const sd = await readTorchStateDict(fs, join(GOLDEN, variant, 'params.pt'));
      assert.deepEqual(Object.keys(sd), KEYS);
      for (const k of KEYS) {
        const got = sd[k]!.data;
        const ref = fp32[k]!.data;
        assert.equal(got.length, ref.length);
        for (let i = 0; i < got.length; i++) {
          // Exactly representable in the narrow format: narrowing and widening again changes nothing.
          const narrow = toBits(bits(got)[i]!);
          assert.equal(fromBits(narrow), got[i], `${k}[${i}] is representable`);
          // It is the round-to-nearest-even value of the fp32 weight (what tensor.to(dtype) does) ...
          assert.equal(narrow, toBits(bits(ref)[i]!), `${k}[${i}] is the rounded fp32 value`);
          // ... hence within the format's half-ulp of it (relative, or absolute for fp16 subnormals).
          assert.ok(Math.abs(got[i]! - ref[i]!) <= relTol * Math.abs(ref[i]!) + 2 ** -25, `${k}[${i}] within rounding error`);
        }
      }
    });
  }
});

describe('serializeTorchStateDict', () => {
  it('is byte-identical to the golden params.pt written by torch 1.13 (fp32, and fp16/bf16 via the dtype option)', async () => {
    const fp32 = await goldenFp32();
    for (const [variant, dtype] of [['lens', 'float32'], ['lens_fp16', 'float16'], ['lens_bf16', 'bfloat16']] as const) {
      const golden = await fs.readBytes(join(GOLDEN, variant, 'params.pt'));
      // From the fp32 weights: also checks that our f32 → f16/bf16 rounding is torch's.
      assert.deepEqual(serializeTorchStateDict(fp32, 'params', { dtype }), golden, `${variant} from fp32 weights`);
      const read = await readTorchStateDict(fs, join(GOLDEN, variant, 'params.pt'));
      assert.deepEqual(serializeTorchStateDict(read, 'params', { dtype }), golden, `${variant} re-written`);
    }
  });

  it('round-trips odd shapes, shared storages, many entries, special values and a key named __proto__', async () => {
    const shared = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const tensors = new Map<string, HostTensor>([
      ['scalar', { shape: [], data: Float32Array.from([Math.PI]) }],
      ['empty', { shape: [3, 0], data: new Float32Array(0) }],
      ['block.w4', { shape: [2, 3, 1, 2], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) }],
      ['special', { shape: [5], data: Float32Array.from([NaN, Infinity, -Infinity, -0, 1e-45]) }],
      ['tied.a', { shape: [2, 3], data: shared }],
      ['tied.b', { shape: [6], data: shared }],
      ['__proto__', { shape: [1], data: Float32Array.from([7]) }],
    ]);
    for (let i = 0; i < 1100; i++) tensors.set(`many.${i}`, { shape: [1], data: Float32Array.from([i]) });
    const bytes = serializeTorchStateDict(tensors, 'archive');
    const back = await parseTorchStateDict(bytes, 'roundtrip.pt');
    assert.deepEqual(Object.keys(back), [...tensors.keys()]);
    for (const [k, t] of tensors) {
      assert.deepEqual(back[k]!.shape, t.shape, k);
      assert.deepEqual(bits(back[k]!.data), bits(t.data), k);
    }
    // The tied pair is stored once (2 + 1100 + 5 distinct storages), as torch shares a tied parameter's storage.
    const zip = await ZipReader.fromFile(bytesAsRandomAccessFile('roundtrip.pt', bytes));
    assert.equal(zip.entries().filter((e) => e.name.startsWith('archive/data/')).length, tensors.size - 1);
  });

  it('rounds to float16 / bfloat16 to nearest even, with overflow, subnormals and NaN as torch does', () => {
    const f = (v: number): number => new Uint32Array(Float32Array.from([v]).buffer)[0]!;
    assert.equal(f32BitsToF16(f(1)), 0x3c00);
    assert.equal(f32BitsToF16(f(65504)), 0x7bff);
    assert.equal(f32BitsToF16(f(65520)), 0x7c00); // rounds up to inf
    assert.equal(f32BitsToF16(f(2 ** -24)), 0x0001); // smallest subnormal
    assert.equal(f32BitsToF16(f(2 ** -25)), 0x0000); // tie → even (0)
    assert.equal(f32BitsToF16(f(3 * 2 ** -25)), 0x0002); // tie → even (2)
    assert.equal(f32BitsToF16(f(1 + 2 ** -11)), 0x3c00); // tie → even
    assert.equal(f32BitsToF16(f(-NaN)) & 0x7e00, 0x7e00);
    assert.equal(f32BitsToBf16(f(1 + 2 ** -8)), 0x3f80); // tie → even
    assert.equal(f32BitsToBf16(f(1 + 3 * 2 ** -8)), 0x3f82); // tie → even (up)
    assert.equal(f32BitsToBf16(f(NaN)), 0x7fc0);
  });
});

describe('restricted unpickler', () => {
  it('refuses os.system + REDUCE, naming the file and the global, without running anything', async () => {
    // cos\nsystem\n ; ('echo pwned',) ; REDUCE ; STOP: the classic pickle exploit.
    const evil = new PickleBytes().global('os', 'system').str('echo pwned').op(TUPLE1, REDUCE).done();
    assert.throws(() => parseStateDictPickle(evil, 'evil/data.pkl'), /^Error: evil\/data\.pkl: refusing to unpickle global 'os\.system'/);
    // The same inside a torch zip: the message names the .pt file.
    await assert.rejects(parseTorchStateDict(torchZip(evil), 'evil.pt'), /evil\.pt: refusing to unpickle global 'os\.system'/);
  });

  it('refuses builtins.eval and a GLOBAL smuggled in as a state-dict value', () => {
    const evalPickle = new PickleBytes().global('builtins', 'eval').str('1+1').op(TUPLE1, REDUCE).done();
    assert.throws(() => parseStateDictPickle(evalPickle, 'x.pkl'), /refusing to unpickle global 'builtins\.eval'/);
    const nested = new PickleBytes().op(EMPTY_DICT).str('w').global('subprocess', 'Popen').op(SETITEM).done();
    assert.throws(() => parseStateDictPickle(nested, 'x.pkl'), /refusing to unpickle global 'subprocess\.Popen'/);
  });

  it('refuses opcodes outside the state-dict subset, naming them', () => {
    const inst = new PickleBytes().op(MARK).op(0x69, ...new TextEncoder().encode('os\nsystem\n')).done(); // INST
    assert.throws(() => parseStateDictPickle(inst, 'x.pkl'), /x\.pkl: refusing pickle opcode INST \(0x69\) at byte 3/);
    const newobj = new PickleBytes().global('collections', 'OrderedDict').op(EMPTY_TUPLE, 0x81).done(); // NEWOBJ
    assert.throws(() => parseStateDictPickle(newobj, 'x.pkl'), /refusing pickle opcode NEWOBJ \(0x81\)/);
  });

  it('refuses to call a whitelisted class that is not a function, and unsupported storage dtypes', () => {
    const callStorage = new PickleBytes().global('torch', 'FloatStorage').op(EMPTY_TUPLE, REDUCE).done();
    assert.throws(() => parseStateDictPickle(callStorage, 'x.pkl'), /refusing to call torch\.FloatStorage/);
    const f64 = new PickleBytes().global('torch', 'DoubleStorage').done();
    assert.throws(() => parseStateDictPickle(f64, 'x.pkl'), /unsupported tensor storage type torch\.DoubleStorage/);
  });

  it('rejects a pickle that is not a dict of tensors', () => {
    const notDict = new PickleBytes().int(3).done();
    assert.throws(() => parseStateDictPickle(notDict, 'x.pkl'), /x\.pkl: the pickle holds a number 3, not a state dict/);
    const notTensor = new PickleBytes().op(EMPTY_DICT).str('step').int(3).op(SETITEM).done();
    assert.throws(() => parseStateDictPickle(notTensor, 'x.pkl'), /state dict entry 'step' is a number 3, not a tensor/);
  });

  it('honours the storage offset and rejects non-contiguous tensors', async () => {
    const storage = { '0': floatBytes([0, 1, 2, 3, 4, 5, 6, 7]) };
    const sliced = await parseTorchStateDict(torchZip(oneTensorPickle(8, 2, [2, 3], [3, 1]), storage), 'offset.pt');
    assert.deepEqual(sliced.t, { shape: [2, 3], data: Float32Array.from([2, 3, 4, 5, 6, 7]) });
    await assert.rejects(
      parseTorchStateDict(torchZip(oneTensorPickle(6, 0, [2, 3], [1, 2]), storage), 'transposed.pt'),
      /transposed\.pt: tensor 't' is not contiguous \(size \[2, 3\], stride \[1, 2\]\)/,
    );
    await assert.rejects(
      parseTorchStateDict(torchZip(oneTensorPickle(8, 4, [2, 3], [3, 1]), storage), 'overrun.pt'),
      /overrun\.pt: tensor 't' \(offset 4, 6 elements\) does not fit in its storage '0' of 8 elements/,
    );
  });
});

describe('damaged files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'torch-pickle-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a truncated params.pt errors naming the file', async () => {
    const golden = await fs.readBytes(join(GOLDEN, 'lens', 'params.pt'));
    for (const keep of [golden.length - 30, Math.floor(golden.length / 2), 100]) {
      const path = join(dir, `truncated-${keep}.pt`);
      await fs.writeAtomic(path, golden.slice(0, keep));
      await assert.rejects(readTorchStateDict(fs, path), (e: Error) => {
        assert.ok(e.message.startsWith(`${path}: `), e.message);
        assert.match(e.message, /truncated/);
        return true;
      });
    }
  });

  it('the legacy (non-zip) format and non-zip files get a clear error', async () => {
    const legacy = join(dir, 'legacy.pt');
    await fs.writeAtomic(legacy, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]));
    await assert.rejects(readTorchStateDict(fs, legacy), /legacy\.pt: this is the legacy \(pre-PyTorch-1\.6, non-zip\) torch\.save format/);
    const text = join(dir, 'text.pt');
    await fs.writeAtomic(text, 'hello, world');
    await assert.rejects(readTorchStateDict(fs, text), /text\.pt: not a torch zip checkpoint/);
  });
});
