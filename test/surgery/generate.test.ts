import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens, lensLogProbs, type Lens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { chooseToken, defaultStopIds, generateFromLayer } from '../../src/surgery/generate.js';
import { SeededRandom } from '../../src/weights/random.js';
import { goldenPath, readGolden } from '../helpers/golden.js';

/** Independent greedy loop: the full unpadded prefix through lensLogProbs (or the model's logits) every step. */
async function referenceGreedy(lens: Lens, layer: number, prompt: number[], n: number): Promise<number[]> {
  const ids = [...prompt];
  const V = lens.model.config.vocabSize;
  for (let s = 0; s < n; s++) {
    const r = await lensLogProbs(lens, { ids: [ids] });
    const row = (layer === lens.model.nLayers ? r.output : r.layers[layer]!).data as Float32Array;
    const last = row.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
    ids.push(best);
  }
  return ids;
}

test('stories260K: generating from the output layer reproduces the golden 40-token greedy continuation of HF', async () => {
  const model = await loadModel('stories260K');
  const golden = readGolden<{ input_ids: number[]; output_ids: number[]; n_new_tokens: number }>('stories260K', 'greedy.json');
  const g = await generateFromLayer(new LogitLens(model), model.nLayers, golden.input_ids, { maxNewTokens: golden.n_new_tokens, stopIds: [] });
  assert.deepEqual(g.ids, golden.output_ids);
  assert.equal(g.stop, 'max-new-tokens');
});

test('stories260K: tuned lens at layer 2 and logit lens at layer 3 agree with an unpadded full-prefix recomputation', async () => {
  const model = await loadModel('stories260K');
  const tuned = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const prompt = model.encode('One day, Tom went to the park');
  for (const [lens, layer] of [[tuned, 2], [new LogitLens(model), 3]] as const) {
    const g = await generateFromLayer(lens, layer, prompt, { maxNewTokens: 6, stopIds: [] });
    assert.deepEqual(g.ids, await referenceGreedy(lens, layer, prompt, 6), `${lens.kind} layer ${layer}`);
  }
});

test('tiny GPT-2 (learned positions): logit-lens generation equals the recomputation across a padding bucket boundary', async () => {
  const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', 'gpt2') }, createRuntime(), 'gpt2');
  const lens = new LogitLens(model);
  const prompt = [5, 17, 3];
  const g = await generateFromLayer(lens, 1, prompt, { maxNewTokens: 7, stopIds: [] });
  assert.deepEqual(g.ids, await referenceGreedy(lens, 1, prompt, 7));
});

test('stop tokens: EOS and (llama2.c) BOS by default; generation ends on the first stop token and keeps it', async () => {
  const model = await loadModel('stories260K');
  assert.deepEqual(defaultStopIds(model).sort(), [1, 2]);
  const lens = new LogitLens(model);
  const prompt = model.encode('Once upon a time');
  const free = await generateFromLayer(lens, model.nLayers, prompt, { maxNewTokens: 5, stopIds: [] });
  const stopAt = free.newIds[2]!;
  const stopped = await generateFromLayer(lens, model.nLayers, prompt, { maxNewTokens: 5, stopIds: [stopAt] });
  assert.equal(stopped.stop, 'stop-token');
  assert.deepEqual(stopped.newIds, free.newIds.slice(0, free.newIds.indexOf(stopAt) + 1));
});

test('sampling: seeded and reproducible; token frequencies follow softmax(logits / T)', async () => {
  const model = await loadModel('stories260K');
  const lens = new LogitLens(model);
  const prompt = model.encode('Once upon a time');
  const a = await generateFromLayer(lens, 4, prompt, { maxNewTokens: 8, temperature: 1.5, seed: 11, stopIds: [] });
  const b = await generateFromLayer(lens, 4, prompt, { maxNewTokens: 8, temperature: 1.5, seed: 11, stopIds: [] });
  assert.deepEqual(a.ids, b.ids);
  const logits = [1, 2, 0, 2.5];
  const T = 0.7;
  const p = logits.map((x) => Math.exp(x / T));
  const z = p.reduce((s, x) => s + x, 0);
  const rng = new SeededRandom(1);
  const counts = [0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[chooseToken(logits, T, rng)]!++;
  counts.forEach((c, i) => assert.ok(Math.abs(c / n - p[i]! / z) < 0.015, `token ${i}: ${c / n} vs ${p[i]! / z}`));
  assert.equal(chooseToken(logits, 0, rng), 3);
});
