/**
 * Hostile and broken files (issue 7, items 2, 3, 5, 8): every size is validated before anything is allocated, a zip
 * bomb is stopped while inflating, a FIFO is refused instead of read, and every error names the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { parseHfConfig } from '../../src/formats/hf-config.js';
import { openLlama2cCheckpoint } from '../../src/formats/llama2c.js';
import { openSafetensors, serializeSafetensors } from '../../src/formats/safetensors.js';
import { parseTorchStateDict, serializeTorchStateDict } from '../../src/formats/torch-pickle.js';
import { ZipReader, bytesAsRandomAccessFile } from '../../src/formats/zip.js';
import { readLensFolder, serializeLensConfig, type TunedLensConfig } from '../../src/lens/lens-files.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { createRuntime } from '../../src/node/runtime.js';
import { goldenPath } from '../helpers/golden.js';
import { craftZip, llama2cFile, llama2cSize } from '../fuzz/craft.js';

const tmp = mkdtempSync(join(tmpdir(), 'tl-hostile-'));
const runtime = createRuntime();

test('model config.json: absurd, fractional, negative or zero sizes and impossible head splits fail naming file and key', () => {
  const base = { model_type: 'gpt2', n_embd: 48, n_head: 4, n_layer: 3, n_positions: 32, vocab_size: 211 };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n_layer: 1e9 }, /cfg\.json: "n_layer" must be an integer from 1 to 10000, got 1000000000/],
    [{ n_layer: 1.5 }, /cfg\.json: "n_layer" must be an integer .* got 1\.5/],
    [{ n_layer: -1 }, /cfg\.json: "n_layer" must be an integer .* got -1/],
    [{ n_layer: 0 }, /cfg\.json: "n_layer" must be an integer .* got 0/],
    [{ n_layer: '3' }, /cfg\.json: "n_layer" must be an integer .* got string "3"/],
    [{ n_head: 0 }, /cfg\.json: "n_head" must be an integer .* got 0/],
    [{ n_head: 5 }, /cfg\.json: "n_embd" = 48 is not divisible by "n_head" = 5/],
    [{ vocab_size: 2 ** 40 }, /"vocab_size" must be an integer/],
  ];
  for (const [change, message] of cases) assert.throws(() => parseHfConfig(JSON.stringify({ ...base, ...change }), 'cfg.json'), message);
  const llama = { model_type: 'llama', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 3 };
  assert.throws(() => parseHfConfig(JSON.stringify(llama), 'cfg.json'), /"num_attention_heads" = 4 is not a multiple of "num_key_value_heads" = 3/);
  // null means "default" in HF configs (gpt2's n_inner), and an explicit head_dim allows any split (gemma).
  assert.doesNotThrow(() => parseHfConfig(JSON.stringify({ ...base, n_inner: null }), 'cfg.json'));
  assert.doesNotThrow(() => parseHfConfig(JSON.stringify({ model_type: 'gemma', hidden_size: 64, num_attention_heads: 4, head_dim: 24 }), 'cfg.json'));
});

test('a model config.json that claims more layers than its checkpoint holds fails before the weights are read', async () => {
  const dir = join(tmp, 'gpt2-more-layers');
  mkdirSync(dir);
  copyFileSync(goldenPath('tiny-random', 'gpt2', 'model.safetensors'), join(dir, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(goldenPath('tiny-random', 'gpt2', 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_layer: 9000 }));
  await assert.rejects(loadModelFrom(fs, { kind: 'hf-folder', dir }, runtime), (e: Error) => {
    assert.match(e.message, /config\.json: the config declares 9000 layers, but .*model\.safetensors holds tensors for at most 3/);
    return true;
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_layer: 1e9 }));
  await assert.rejects(loadModelFrom(fs, { kind: 'hf-folder', dir }, runtime), /gpt2-more-layers\/config\.json: "n_layer" must be an integer/);
});

test('llama2.c header: 2^20 layers is refused from the header alone; sizes are checked against the file before any layout', async () => {
  const huge = join(tmp, 'huge-layers.bin');
  writeFileSync(huge, llama2cFile([64, 172, 2 ** 20, 8, 4, 512, 512], 1000));
  await assert.rejects(openLlama2cCheckpoint(fs, huge), /huge-layers\.bin: not a valid llama2\.c checkpoint: n_layers = 1048576 is out of range \(1 to 10000\)/);
  // In range but not backed by the file: the size check comes first and costs nothing.
  const header = [64, 172, 9000, 8, 4, 512, 512];
  const short = join(tmp, 'short.bin');
  writeFileSync(short, llama2cFile(header, 1000));
  const before = process.memoryUsage().heapUsed;
  await assert.rejects(openLlama2cCheckpoint(fs, short), new RegExp(`short\\.bin: llama2\\.c checkpoint size does not match its header: expected ${llama2cSize(header)} bytes, found 1028`));
  assert.ok(process.memoryUsage().heapUsed - before < 50e6, 'no per-layer entries were built');
});

/** A small lens folder: config.json plus the given parameter file. */
function lensFolder(name: string, config: Partial<TunedLensConfig>, params: { file: string; bytes: Uint8Array }): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const cfg: TunedLensConfig = { base_model_name_or_path: 'tiny', d_model: 4, num_hidden_layers: 1, bias: true, base_model_revision: null, unembed_hash: null, lens_type: 'linear_tuned_lens', ...config };
  writeFileSync(join(dir, 'config.json'), serializeLensConfig(cfg));
  writeFileSync(join(dir, params.file), params.bytes);
  return dir;
}

function lensParams(d: number, fill = 0.5): Record<string, { shape: number[]; data: Float32Array }> {
  return { '0.weight': { shape: [d, d], data: new Float32Array(d * d).fill(fill) }, '0.bias': { shape: [d], data: new Float32Array(d).fill(fill) } };
}

test('lens config.json with num_hidden_layers 1e9 fails naming the file and key (before building 1e9 names)', async () => {
  const dir = lensFolder('lens-1e9', {}, { file: 'params.safetensors', bytes: serializeSafetensors(lensParams(4)) });
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('"num_hidden_layers": 1', '"num_hidden_layers": 1000000000'));
  await assert.rejects(readLensFolder(fs, dir), /lens-1e9\/config\.json: config key 'num_hidden_layers' is 1000000000, more than any model has \(at most 10000\)/);
});

/** The records of a torch.save archive of `sd`, by their names inside the archive. */
async function torchRecords(sd: Record<string, { shape: number[]; data: Float32Array }>): Promise<Map<string, Uint8Array>> {
  const zip = await ZipReader.fromFile(bytesAsRandomAccessFile('params.pt', serializeTorchStateDict(sd, 'params')));
  const out = new Map<string, Uint8Array>();
  for (const e of zip.entries()) out.set(e.name, await zip.read(e.name));
  return out;
}

test('zip bomb in params.pt: an entry that inflates past its declared size, or declares more than its tensors need, is refused', async () => {
  const records = await torchRecords(lensParams(4));
  const entries = [...records].map(([name, data]) => ({ name, data }));
  // The deflated archive itself is fine.
  const good = craftZip(entries.map((e) => ({ ...e, deflate: true })));
  const sd = await parseTorchStateDict(good, 'good.pt');
  assert.deepEqual(Array.from(sd['0.bias']!.data), [0.5, 0.5, 0.5, 0.5]);

  // Storage '0' holds 16 floats (64 bytes); make it 64 MiB of zeros that deflate to ~64 KiB.
  const bomb = new Uint8Array(64 * 1024 * 1024);
  const withBomb = (declaredSize: number) =>
    craftZip(entries.map((e) => (e.name === 'params/data/0' ? { name: e.name, data: bomb, deflate: true, declaredSize } : { ...e, deflate: true })));
  // Declares its true size: more than the storage's 16 floats can use, refused before inflating.
  await assert.rejects(parseTorchStateDict(withBomb(bomb.length), 'bomb.pt'), /bomb\.pt: zip entry 'params\/data\/0' declares 67108864 bytes, but at most 64 can be used from it/);
  // Lies about its size: inflating stops as soon as the output passes the declared 64 bytes.
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(parseTorchStateDict(withBomb(64), 'liar.pt'), /liar\.pt: zip entry 'params\/data\/0' inflates to more than its declared 64 bytes; .*zip bomb/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 32e6, 'the bomb was not inflated in full');
  // data.pkl declaring a gigabyte is not a state dict.
  const bigPickle = craftZip(entries.map((e) => (e.name === 'params/data.pkl' ? { ...e, deflate: true, declaredSize: 2 ** 30 } : e)));
  await assert.rejects(parseTorchStateDict(bigPickle, 'pkl.pt'), /pkl\.pt: zip entry 'params\/data\.pkl' declares 1073741824 bytes/);
});

test('a lens params.pt whose tensors have shapes its config does not allow is refused before any data is read', async () => {
  // The pickle claims [4096, 4096] tensors (64 MiB) backed by a deflated record; config says d_model 4.
  const big = await torchRecords({ '0.weight': { shape: [4096, 4096], data: new Float32Array(4096 * 4096) }, '0.bias': { shape: [4096], data: new Float32Array(4096) } });
  const dir = lensFolder('lens-big-shapes', {}, { file: 'params.pt', bytes: craftZip([...big].map(([name, data]) => ({ name, data, deflate: true }))) });
  await assert.rejects(readLensFolder(fs, dir), /lens-big-shapes\/params\.pt: tensor '0\.weight' has shape \[4096, 4096\], expected \[4, 4\]/);
});

test('a pickle GLOBAL name that is not UTF-8 is a clear error naming the file', async () => {
  const records = await torchRecords(lensParams(4));
  const pkl = records.get('params/data.pkl')!;
  const at = Buffer.from(pkl).indexOf('collections');
  assert.ok(at > 0);
  const bad = pkl.slice();
  bad[at] = 0xff;
  const zip = craftZip([...records].map(([name, data]) => ({ name, data: name === 'params/data.pkl' ? bad : data })));
  await assert.rejects(parseTorchStateDict(zip, 'x.pt'), /^Error: x\.pt: invalid UTF-8 in a pickle GLOBAL name at byte \d+/);
});

test('a FIFO given as a parameter file is refused at once instead of blocking forever', { skip: process.platform === 'win32', timeout: 10_000 }, async () => {
  const fifo = join(tmp, 'params.safetensors');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(openSafetensors(fs, fifo), /params\.safetensors: is a named pipe \(FIFO\), not a regular file/);
  await assert.rejects(fs.readText(fifo), /not a regular file/);
});

test('writeAtomic errors name the target file, not the internal temporary file', async () => {
  const blocker = join(tmp, 'a-file');
  writeFileSync(blocker, 'x');
  await assert.rejects(fs.writeAtomic(join(blocker, 'out.svg'), 'x'), (e: Error) => {
    assert.match(e.message, /a-file\/out\.svg: cannot write it: a folder in the path is a file \(ENOTDIR\)|a-file\/out\.svg: cannot write it: a folder or file in the way already exists \(EEXIST\)/);
    assert.doesNotMatch(e.message, /\.tmp-/);
    return true;
  });
});
