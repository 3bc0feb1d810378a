/**
 * Cached generation equals uncached recomputation token for token: stories260K (rotary, GQA) with the
 * output head, the tuned lens and sampling; tiny checkpoints with learned positions (GPT-2), ALiBi (BLOOM),
 * local attention windows shorter than the generation (GPT-Neo) and a sliding window with GQA (Mistral).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens, type Lens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { generateFromLayer, type GenerateOptions } from '../../src/surgery/generate.js';
import { goldenPath } from '../helpers/golden.js';

async function same(lens: Lens, layer: number, prompt: number[], options: GenerateOptions): Promise<number[]> {
  const cached = await generateFromLayer(lens, layer, prompt, { ...options, stopIds: [], kvCache: true });
  const uncached = await generateFromLayer(lens, layer, prompt, { ...options, stopIds: [], kvCache: false });
  assert.deepEqual(cached.ids, uncached.ids, `${lens.kind} lens, layer ${layer}`);
  return cached.ids;
}

test('stories260K: cached = uncached for the output layer, the tuned lens at layer 2, and seeded sampling', async () => {
  const model = await loadModel('stories260K');
  const tuned = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const prompt = model.encode('Once upon a time, there was a');
  await same(new LogitLens(model), model.nLayers, prompt, { maxNewTokens: 24 });
  await same(tuned, 2, prompt, { maxNewTokens: 12 });
  await same(new LogitLens(model), 3, prompt, { maxNewTokens: 12, temperature: 1, seed: 5 });
});

for (const name of ['gpt2', 'bloom', 'gpt_neo', 'mistral']) {
  test(`tiny ${name}: cached = uncached over 14 new tokens`, async () => {
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, createRuntime(), name);
    await same(new LogitLens(model), model.nLayers, [3, 9, 27, 81 % model.config.vocabSize], { maxNewTokens: 14, temperature: 0.8, seed: 2 });
  });
}
