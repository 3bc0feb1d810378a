import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openSafetensors, serializeSafetensors } from '../../src/formats/safetensors.js';
import { readTorchStateDict, serializeTorchStateDict } from '../../src/formats/torch-pickle.js';
import type { HostTensor } from '../../src/formats/weights.js';
import { NodeFileSystem } from '../../src/node/file-system.js';
import {
  parseLensConfig,
  readLensFolder,
  serializeLensConfig,
  writeLensFolder,
  type Translator,
  type TunedLensConfig,
} from '../../src/lens/lens-files.js';
import { sharedDir } from '../helpers/shared-data.js';

const fs = new NodeFileSystem();
const GOLDEN = join(sharedDir(), 'golden', 'reference-lens');

const GOLDEN_CONFIG: TunedLensConfig = {
  base_model_name_or_path: 'stories260K',
  d_model: 64,
  num_hidden_layers: 5,
  bias: true,
  base_model_revision: null,
  unembed_hash: '8251ab7bb00f2278cf8636203711c83d3301d2c1c982cb75edf7127147b41b6c',
  lens_type: 'linear_tuned_lens',
};

function bits(t: HostTensor): Uint32Array {
  return new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
}

function assertSameTranslators(got: readonly Translator[], want: readonly Translator[]): void {
  assert.equal(got.length, want.length);
  got.forEach((t, i) => {
    assert.deepEqual(t.weight.shape, want[i]!.weight.shape);
    assert.deepEqual(bits(t.weight), bits(want[i]!.weight), `translator ${i} weight`);
    if (want[i]!.bias === null) assert.equal(t.bias, null);
    else assert.deepEqual(bits(t.bias!), bits(want[i]!.bias!), `translator ${i} bias`);
  });
}

async function goldenTranslators(): Promise<Translator[]> {
  const src = await openSafetensors(fs, join(GOLDEN, 'translators.safetensors'));
  try {
    const out: Translator[] = [];
    for (let i = 0; i < 5; i++) out.push({ weight: await src.readFloat32(`${i}.weight`), bias: await src.readFloat32(`${i}.bias`) });
    return out;
  } finally {
    await src.close();
  }
}

function randomTranslators(n: number, d: number, bias: boolean, seed: number): Translator[] {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: n }, () => ({
    weight: { shape: [d, d], data: Float32Array.from({ length: d * d }, rand) },
    bias: bias ? { shape: [d], data: Float32Array.from({ length: d }, rand) } : null,
  }));
}

describe('parseLensConfig / serializeLensConfig', () => {
  it('parses the golden config and serialises it back byte for byte (Python json.dump format)', async () => {
    const path = join(GOLDEN, 'lens', 'config.json');
    const text = await fs.readText(path);
    const cfg = parseLensConfig(text, path, () => assert.fail('no warnings expected'));
    assert.deepEqual(cfg, GOLDEN_CONFIG);
    assert.equal(serializeLensConfig(cfg), text);
  });

  it('escapes strings as Python json.dumps (ensure_ascii) does', () => {
    const cfg = { ...GOLDEN_CONFIG, base_model_name_or_path: 'Mödel/é😀"\\\n\t\x7f\x01', d_model: 8, num_hidden_layers: 2, bias: false, base_model_revision: 'main', unembed_hash: null };
    // Expected text produced by python3's json.dumps on the same dict.
    const python =
      '{"base_model_name_or_path": "M\\u00f6del/\\u00e9\\ud83d\\ude00\\"\\\\\\n\\t\\u007f\\u0001", "d_model": 8, "num_hidden_layers": 2, ' +
      '"bias": false, "base_model_revision": "main", "unembed_hash": null, "lens_type": "linear_tuned_lens"}';
    assert.equal(serializeLensConfig(cfg), python);
    assert.deepEqual(parseLensConfig(python, 'c.json'), cfg);
  });

  it('warns about unknown keys and ignores them, like the reference', () => {
    const warnings: string[] = [];
    const cfg = parseLensConfig({ ...GOLDEN_CONFIG, extra_layers: 0, include_input: true }, 'lens/config.json', (m) => warnings.push(m));
    assert.deepEqual(cfg, GOLDEN_CONFIG);
    assert.deepEqual(warnings, ["lens/config.json: Ignoring config key 'extra_layers'", "lens/config.json: Ignoring config key 'include_input'"]);
  });

  it('fills the dataclass defaults for optional keys', () => {
    const cfg = parseLensConfig({ base_model_name_or_path: 'gpt2', d_model: 768, num_hidden_layers: 12 }, 'c.json');
    assert.deepEqual(cfg, { base_model_name_or_path: 'gpt2', d_model: 768, num_hidden_layers: 12, bias: true, base_model_revision: null, unembed_hash: null, lens_type: 'linear_tuned_lens' });
  });

  it('errors clearly on missing or invalid required keys', () => {
    const { d_model: _omit, ...noDModel } = GOLDEN_CONFIG;
    assert.throws(() => parseLensConfig(noDModel, 'c.json'), /^Error: c\.json: missing required config key 'd_model'$/);
    assert.throws(() => parseLensConfig({ ...GOLDEN_CONFIG, d_model: '64' }, 'c.json'), /c\.json: config key 'd_model' must be a positive integer, got string "64"/);
    assert.throws(() => parseLensConfig({ ...GOLDEN_CONFIG, num_hidden_layers: 2.5 }, 'c.json'), /'num_hidden_layers' must be a positive integer/);
    assert.throws(() => parseLensConfig({ ...GOLDEN_CONFIG, bias: 'yes' }, 'c.json'), /'bias' must be true or false/);
    assert.throws(() => parseLensConfig({ ...GOLDEN_CONFIG, unembed_hash: 5 }, 'c.json'), /'unembed_hash' must be a string or null/);
    assert.throws(() => parseLensConfig({ ...GOLDEN_CONFIG, lens_type: 'other' }, 'c.json'), /unsupported lens_type 'other'/);
    assert.throws(() => parseLensConfig('{"d_model": 64,', 'c.json'), /c\.json: invalid JSON/);
    assert.throws(() => parseLensConfig('[1]', 'c.json'), /c\.json: expected a JSON object, got an array/);
  });
});

describe('readLensFolder on the golden reference lenses', () => {
  let golden: Translator[];
  before(async () => {
    golden = await goldenTranslators();
  });

  it('loads lens/ (fp32 params.pt) bit-identical to translators.safetensors', async () => {
    const lens = await readLensFolder(fs, join(GOLDEN, 'lens'));
    assert.deepEqual(lens.config, GOLDEN_CONFIG);
    assert.equal(lens.paramsPath, join(GOLDEN, 'lens', 'params.pt'));
    assertSameTranslators(lens.translators, golden);
  });

  for (const [variant, relTol] of [['lens_fp16', 2 ** -11], ['lens_bf16', 2 ** -8]] as const) {
    it(`loads ${variant} within the format's rounding error of the fp32 weights`, async () => {
      const lens = await readLensFolder(fs, join(GOLDEN, variant));
      assert.deepEqual(lens.config, GOLDEN_CONFIG);
      assert.equal(lens.translators.length, 5);
      lens.translators.forEach((t, i) => {
        for (const [got, want] of [[t.weight, golden[i]!.weight], [t.bias!, golden[i]!.bias!]] as const) {
          assert.deepEqual(got.shape, want.shape);
          got.data.forEach((v, j) => assert.ok(Math.abs(v - want.data[j]!) <= relTol * Math.abs(want.data[j]!) + 2 ** -25, `translator ${i} [${j}]`));
        }
      });
    });
  }
});

describe('writeLensFolder', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lens-files-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the golden lens byte-identical to the reference (config.json, params.pt) and reads it back', async () => {
    const golden = await goldenTranslators();
    const out = join(dir, 'golden-copy');
    await writeLensFolder(fs, out, GOLDEN_CONFIG, golden);
    assert.deepEqual((await fs.list(out)).sort(), ['config.json', 'params.pt', 'params.safetensors']);
    assert.equal(await fs.readText(join(out, 'config.json')), await fs.readText(join(GOLDEN, 'lens', 'config.json')));
    assert.deepEqual(await fs.readBytes(join(out, 'params.pt')), await fs.readBytes(join(GOLDEN, 'lens', 'params.pt')));

    const viaSafetensors = await readLensFolder(fs, out);
    assert.equal(viaSafetensors.paramsPath, join(out, 'params.safetensors'), 'params.safetensors is preferred');
    assert.deepEqual(viaSafetensors.config, GOLDEN_CONFIG);
    assertSameTranslators(viaSafetensors.translators, golden);

    await unlink(join(out, 'params.safetensors'));
    const viaPt = await readLensFolder(fs, out);
    assert.equal(viaPt.paramsPath, join(out, 'params.pt'));
    assertSameTranslators(viaPt.translators, golden);
  });

  it('round-trips a bias: false lens (which the reference itself cannot build)', async () => {
    const cfg: TunedLensConfig = { ...GOLDEN_CONFIG, d_model: 8, num_hidden_layers: 3, bias: false, unembed_hash: null };
    const translators = randomTranslators(3, 8, false, 7);
    const out = join(dir, 'nobias');
    await writeLensFolder(fs, out, cfg, translators);
    const back = await readLensFolder(fs, out);
    assert.deepEqual(back.config, cfg);
    assertSameTranslators(back.translators, translators);
    // params.pt holds only the weights, in reference order.
    assert.deepEqual(Object.keys(await readTorchStateDict(fs, join(out, 'params.pt'))), ['0.weight', '1.weight', '2.weight']);
    assert.match(await fs.readText(join(out, 'config.json')), /"bias": false/);
  });

  it('files from two different writes do not load: params.safetensors records the sha256 of config.json and params.pt', async () => {
    const cfg: TunedLensConfig = { ...GOLDEN_CONFIG, d_model: 4, num_hidden_layers: 2, unembed_hash: null };
    const a = join(dir, 'agree-a');
    const b = join(dir, 'agree-b');
    await writeLensFolder(fs, a, cfg, randomTranslators(2, 4, true, 11));
    await writeLensFolder(fs, b, cfg, randomTranslators(2, 4, true, 12));
    // A write of b killed after its params.pt: the folder holds b's params.pt next to a's other files.
    await copyFile(join(b, 'params.pt'), join(a, 'params.pt'));
    await assert.rejects(readLensFolder(fs, a), /params\.pt is not the file written together with .*params\.safetensors.*interrupted/);
    await copyFile(join(b, 'params.pt'), join(dir, 'b-pt'));
    await copyFile(join(b, 'config.json'), join(a, 'config.json')); // same text: still agrees
    await writeFile(join(a, 'config.json'), (await fs.readText(join(b, 'config.json'))).replace('stories260K', 'other'));
    await assert.rejects(readLensFolder(fs, a), /config\.json is not the file written together with/);
    // Writing again makes the folder whole.
    await writeLensFolder(fs, a, cfg, randomTranslators(2, 4, true, 11));
    assert.equal((await readLensFolder(fs, a)).config.d_model, 4);
  });

  it('removes temporaries that killed writes left behind', async () => {
    const cfg: TunedLensConfig = { ...GOLDEN_CONFIG, d_model: 4, num_hidden_layers: 2, unembed_hash: null };
    const out = join(dir, 'stale');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'params.safetensors.tmp-99999-0'), 'half a file');
    await writeFile(join(out, 'config.json.tmp-1-2'), '{');
    await writeFile(join(out, 'train_log.jsonl'), '');
    await writeLensFolder(fs, out, cfg, randomTranslators(2, 4, true, 3));
    assert.deepEqual((await fs.list(out)).sort(), ['config.json', 'params.pt', 'params.safetensors', 'train_log.jsonl']);
  });

  it('refuses translators that do not match the config', async () => {
    const cfg: TunedLensConfig = { ...GOLDEN_CONFIG, d_model: 4, num_hidden_layers: 2 };
    await assert.rejects(writeLensFolder(fs, join(dir, 'bad1'), cfg, randomTranslators(3, 4, true, 1)), /3 translators, but num_hidden_layers is 2/);
    await assert.rejects(writeLensFolder(fs, join(dir, 'bad2'), cfg, randomTranslators(2, 4, false, 1)), /translator 0 lacks a bias, but the config says bias: true/);
    await assert.rejects(writeLensFolder(fs, join(dir, 'bad3'), cfg, randomTranslators(2, 5, true, 1)), /tensor '0.weight' has shape \[5, 5\], expected \[4, 4\]/);
    assert.equal(await fs.exists(join(dir, 'bad1')), false, 'nothing is written on error');
  });
});

describe('readLensFolder validation', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lens-files-bad-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A folder with the golden params.pt and a config.json with the given changes. */
  async function folderWithConfig(name: string, changes: Record<string, unknown>): Promise<string> {
    const out = join(dir, name);
    await mkdir(out);
    await copyFile(join(GOLDEN, 'lens', 'params.pt'), join(out, 'params.pt'));
    await writeFile(join(out, 'config.json'), JSON.stringify({ ...GOLDEN_CONFIG, ...changes }));
    return out;
  }

  it('errors naming the file and key when the tensors do not match the config', async () => {
    const more = await folderWithConfig('more-layers', { num_hidden_layers: 6 });
    await assert.rejects(readLensFolder(fs, more), (e: Error) => {
      assert.equal(e.message, `${join(more, 'params.pt')}: missing tensors '5.weight', '5.bias' (config.json says num_hidden_layers: 6, bias: true)`);
      return true;
    });
    const fewer = await folderWithConfig('fewer-layers', { num_hidden_layers: 4 });
    await assert.rejects(readLensFolder(fs, fewer), /params\.pt: unexpected tensors '4\.weight', '4\.bias'/);
    const nobias = await folderWithConfig('nobias', { bias: false });
    await assert.rejects(readLensFolder(fs, nobias), /params\.pt: unexpected tensors '0\.bias'/);
    const width = await folderWithConfig('width', { d_model: 32 });
    await assert.rejects(readLensFolder(fs, width), /params\.pt: tensor '0\.weight' has shape \[64, 64\], expected \[32, 32\] \(d_model: 32 in config\.json\)/);
  });

  it('checks params.safetensors the same way and prefers it over params.pt', async () => {
    const out = await folderWithConfig('st', {});
    const golden = await goldenTranslators();
    const sd: Record<string, HostTensor> = { '0.weight': golden[0]!.weight, '0.bias': { shape: [63], data: new Float32Array(63) } };
    await writeFile(join(out, 'params.safetensors'), serializeSafetensors(sd));
    await assert.rejects(readLensFolder(fs, out), /params\.safetensors: missing tensors '1\.weight'/);
    // Even when params.pt is fine: the safetensors file wins, so its problem is reported.
    assert.ok(await fs.exists(join(out, 'params.pt')));
  });

  it('warns about unknown config keys when reading a folder', async () => {
    const out = await folderWithConfig('unknown-key', { reuse_unembedding: true });
    const warnings: string[] = [];
    const lens = await readLensFolder(fs, out, { warn: (m) => warnings.push(m) });
    assert.equal(lens.translators.length, 5);
    assert.deepEqual(warnings, [`${join(out, 'config.json')}: Ignoring config key 'reuse_unembedding'`]);
  });

  it('errors on a missing folder, config or parameter file', async () => {
    await assert.rejects(readLensFolder(fs, join(dir, 'nope')), /nope: lens folder not found/);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await assert.rejects(readLensFolder(fs, empty), /empty[/\\]config\.json: not found/);
    await writeFile(join(empty, 'config.json'), serializeLensConfig(GOLDEN_CONFIG));
    await assert.rejects(readLensFolder(fs, empty), /empty: lens folder has neither params\.safetensors nor params\.pt/);
    // A params.pt with a different layout (e.g. a legacy lens) is reported by key.
    const legacy = serializeTorchStateDict({ 'input_translator.weight': { shape: [64, 64], data: new Float32Array(4096) } });
    await writeFile(join(empty, 'params.pt'), legacy);
    await assert.rejects(readLensFolder(fs, empty), /params\.pt: missing tensors '0\.weight', '0\.bias', '1\.weight', '1\.bias', '2\.weight', '2\.bias', \.\.\. \(10 in all\)/);
  });
});
