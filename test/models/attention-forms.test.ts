/**
 * The fused attention op (onnxruntime's kernel) equals its decomposition built explicitly (fusedAttention: false),
 * with local windows, ALiBi, GQA, learned positions, padding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { loadModel } from '../../src/node/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import type { Batch } from '../../src/models/position-inputs.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

const runtime = createRuntime();

async function logits(model: LanguageModel, batch: Batch, fusedAttention: boolean): Promise<Float32Array> {
  const mg = model.buildGraph(batch, { fusedAttention });
  return (await model.run(mg, { logits: mg.forward.logits })).logits!.data as Float32Array;
}

async function check(model: LanguageModel, T: number): Promise<void> {
  const V = model.config.vocabSize;
  const row = (seed: number): number[] => Array.from({ length: T }, (_, i) => (i * 37 + seed * 11 + 3) % V);
  const batch: Batch = { ids: [row(1), row(2)], attentionMask: [new Array(T).fill(1), [...new Array(5).fill(0), ...new Array(T - 5).fill(1)]] };
  const decomposed = await logits(model, batch, false);
  const fused = await logits(model, batch, true);
  // Queries that are padding have no defined attention; compare real tokens only.
  const real = (a: Float32Array): number[] => Array.from(a).filter((_, i) => !(Math.floor(i / V) >= T && Math.floor(i / V) < T + 5));
  const d = maxAbsDiff(real(fused), real(decomposed));
  assert.ok(d < 1e-4, `${model.name}: fused vs decomposed logits differ by ${d}`);
}

for (const name of ['gpt_neo', 'bloom', 'opt', 'gpt_neox', 'gptj', 'mistral', 'qwen3', 'phi3']) {
  test(`${name}: fused attention equals the decomposed form`, async () => {
    await check(await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name), 30);
  });
}

test('stories260K (grouped-query attention): fused attention equals the decomposed form', async () => {
  await check(await loadModel('stories260K'), 30);
});
