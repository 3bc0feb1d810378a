import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';
import { readHfConfig } from '../../src/formats/hf-config.js';

const tinyRandom = join(sharedDir(), 'golden', 'tiny-random');

test('reads every tiny-random config.json', async () => {
  const expected: Record<string, string> = {
    gpt2: 'gpt2', gpt_neox: 'gpt_neox', gpt_neo: 'gpt_neo', gptj: 'gptj', opt: 'opt', opt_project_in_out: 'opt', bloom: 'bloom', llama: 'llama',
    mistral: 'mistral', qwen2: 'qwen2', qwen3: 'qwen3', gemma: 'gemma', gemma2: 'gemma2', phi3: 'phi3',
  };
  const dirs = readdirSync(tinyRandom).filter((d) => !d.endsWith('.md'));
  assert.deepEqual(dirs.sort(), Object.keys(expected).sort());
  for (const d of dirs) {
    const cfg = await readHfConfig(fs, join(tinyRandom, d));
    assert.equal(cfg.model_type, expected[d]);
  }
  const llama = await readHfConfig(fs, join(tinyRandom, 'llama'));
  assert.equal(llama.hidden_size, 64);
  assert.equal(llama.rms_norm_eps, 1e-6);
});

test('errors name the file', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tl-hfconfig-'));
  const dir = (name: string, content?: string) => {
    const p = join(tmp, name);
    mkdirSync(p);
    if (content !== undefined) writeFileSync(join(p, 'config.json'), content);
    return p;
  };
  const missing = dir('missing');
  await assert.rejects(readHfConfig(fs, missing), { message: `${join(missing, 'config.json')}: not found (a Hugging Face model folder needs a config.json)` });
  const bad = dir('bad', '{"model_type": ');
  await assert.rejects(readHfConfig(fs, bad), (e: Error) => e.message.startsWith(`${join(bad, 'config.json')}: not valid JSON (`));
  const arr = dir('arr', '[1]');
  await assert.rejects(readHfConfig(fs, arr), { message: `${join(arr, 'config.json')}: expected a JSON object` });
  const noType = dir('notype', '{"hidden_size": 4}');
  await assert.rejects(readHfConfig(fs, noType), /notype\/config\.json: has no "model_type" string/);
});
