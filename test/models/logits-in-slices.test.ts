/**
 * The output head over blocks of positions × vocabulary slices equals the head in one graph, on every
 * tiny random architecture (biased heads: gptj; softcapped: gemma2), with remainders in both directions;
 * and a forward written into a previous result returns that result's arrays with fresh contents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { logitsInSlices } from '../../src/models/logits-in-slices.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

const runtime = createRuntime();
const ARCHITECTURES = ['gpt2', 'gpt_neox', 'gpt_neo', 'gptj', 'opt', 'opt_project_in_out', 'bloom', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3'];

for (const name of ARCHITECTURES) {
  test(`${name}: logits over 2-position blocks × 37-entry vocabulary slices equal the head in one graph`, async () => {
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
    const ids = [[1, 5, 9, 2, 7], [3, 3, 8, 1, 4]];
    const whole = await model.forward({ ids }, { logitBlockBytes: Infinity });
    const normed = whole.hiddenStates[whole.hiddenStates.length - 1]!;
    const sliced = await logitsInSlices(model.runtime, model.config, model.weights, normed, { blockRows: 2, sliceWidth: 37 });
    assert.deepEqual(sliced.shape, whole.logits.shape);
    const diff = maxAbsDiff(sliced.data as Float32Array, whole.logits.data as Float32Array);
    assert.ok(diff < 1e-5, `max abs diff ${diff}`);
  });
}

test('forward into a previous result: same arrays, contents of the new batch (sliced and in-graph logits)', async () => {
  const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', 'gpt2') }, runtime, 'gpt2');
  const a = [[1, 2, 3, 4, 5, 6]];
  const b = [[9, 8, 7, 6, 5, 4]];
  for (const logitBlockBytes of [Infinity, 64]) {
    const first = await model.forward({ ids: a }, { logitBlockBytes });
    const arrays = [first.logits.data, first.finalNormInput.data, ...first.hiddenStates.map((h) => h.data)];
    const expected = await model.forward({ ids: b }, { logitBlockBytes });
    const reused = await model.forward({ ids: b }, { logitBlockBytes, into: first });
    const got = [reused.logits.data, reused.finalNormInput.data, ...reused.hiddenStates.map((h) => h.data)];
    got.forEach((g, i) => assert.equal(g, arrays[i], `array ${i} is the one given`));
    assert.equal(maxAbsDiff(reused.logits.data as Float32Array, expected.logits.data as Float32Array), 0);
    reused.hiddenStates.forEach((h, i) => assert.equal(maxAbsDiff(h.data as Float32Array, expected.hiddenStates[i]!.data as Float32Array), 0));
  }
  const other = await model.forward({ ids: [[1, 2, 3]] });
  await assert.rejects(model.forward({ ids: a }, { into: other }), /write|elements|needs/);
});
