/**
 * Layer surgery checked against independent numbers: deleting block i on stories260K equals the reference's
 * zero-ablation of block i (shared/golden/causal, 4 × 256 tokens), and a moved block keeps its own sliding
 * window (tiny GPT-Neo: a plan swapping blocks 0 and 1 equals a model whose weights AND windows were swapped
 * by hand, and differs from one where only the weights were swapped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/node/load-model.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { LanguageModel } from '../../src/models/language-model.js';
import { W, type ModelWeights } from '../../src/models/load-weights.js';
import { crossEntropyOnData } from '../../src/surgery/cross-entropy.js';
import { deletePlan, duplicatePlan, permutePlan } from '../../src/surgery/plans.js';
import { goldenPath, readGolden } from '../helpers/golden.js';

interface AblateGolden {
  input_ids: number[][];
  unablated_ce: number;
  results: { layer_index: number; method: string; mode: string; ce: number }[];
}

test('plans: delete, duplicate, permute (which may drop or repeat blocks), with index checks', () => {
  assert.deepEqual(deletePlan(5, [3, 4]), [0, 1, 2]);
  assert.deepEqual(duplicatePlan(4, [2]), [0, 1, 2, 2, 3]);
  assert.deepEqual(permutePlan(4, [0, 2, 1, 1]), [0, 2, 1, 1]);
  assert.throws(() => deletePlan(5, [5]), /5 is not a block index \(0\.\.4\)/);
  assert.throws(() => permutePlan(3, []), /no block/);
});

test('stories260K: CE with block i deleted equals the reference zero-ablation of block i (golden, 1020 tokens)', async () => {
  const model = await loadModel('stories260K');
  const golden = readGolden<AblateGolden>('causal', 'ablate_layer.json');
  const base = await crossEntropyOnData(model, golden.input_ids);
  assert.equal(base.tokens, 1020);
  assert.ok(Math.abs(base.ce - golden.unablated_ce) < 1e-4, `baseline ${base.ce} vs ${golden.unablated_ce}`);
  for (let i = 0; i < model.nLayers; i++) {
    const expected = golden.results.find((r) => r.layer_index === i && r.method === 'zero')!.ce;
    const r = await crossEntropyOnData(model, golden.input_ids, { plan: deletePlan(model.nLayers, [i]) });
    assert.ok(Math.abs(r.ce - expected) < 2e-4, `delete ${i}: ${r.ce} vs reference ${expected}`);
  }
  const identity = await crossEntropyOnData(model, golden.input_ids, { plan: [0, 1, 2, 3, 4] });
  assert.equal(identity.ce, base.ce);
});

function swapLayers(weights: ModelWeights, a: number, b: number): ModelWeights {
  const out: ModelWeights = new Map(weights);
  const prefix = (i: number): string => W.layer(i, '');
  for (const [name, t] of weights) {
    if (name.startsWith(prefix(a))) out.set(prefix(b) + name.slice(prefix(a).length), t);
    if (name.startsWith(prefix(b))) out.set(prefix(a) + name.slice(prefix(b).length), t);
  }
  return out;
}

test('tiny GPT-Neo: a permuted block keeps its own sliding window', async () => {
  const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', 'gpt_neo') }, createRuntime(), 'gpt_neo');
  assert.notEqual(model.config.localWindow[0], model.config.localWindow[1]);
  const data = [Array.from({ length: 20 }, (_, t) => (t * 7 + 3) % model.config.vocabSize), Array.from({ length: 20 }, (_, t) => (t * 11 + 1) % model.config.vocabSize)];
  const swapped = swapLayers(model.weights, 0, 1);
  const windows = [...model.config.localWindow];
  [windows[0], windows[1]] = [windows[1]!, windows[0]!];
  const byHand = new LanguageModel('swapped', { ...model.config, localWindow: windows }, model.architecture, swapped, model.tokenizer, model.runtime);
  const weightsOnly = new LanguageModel('weights-only', model.config, model.architecture, swapped, model.tokenizer, model.runtime);
  const plan = await crossEntropyOnData(model, data, { plan: [1, 0, 2] });
  const hand = await crossEntropyOnData(byHand, data);
  const wrong = await crossEntropyOnData(weightsOnly, data);
  assert.ok(Math.abs(plan.ce - hand.ce) < 1e-6, `plan ${plan.ce} vs hand-swapped ${hand.ce}`);
  assert.ok(Math.abs(plan.ce - wrong.ce) > 1e-4, `the window must matter here: ${plan.ce} vs ${wrong.ce}`);
});
