/** The real stories260K model against PyTorch/HF golden numbers: ids, hidden states, logits, logit lens, greedy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/node/load-model.js';
import { LogitLens, lensLogProbs } from '../../src/lens/lens.js';
import { flat, maxAbsDiff, readGolden, type StoriesPrompt } from '../helpers/golden.js';

const modelPromise = loadModel('stories260K');

for (const k of [0, 1, 2]) {
  test(`stories260K prompt ${k}: ids exact, hidden states, logits and logit lens within tolerance`, async () => {
    const model = await modelPromise;
    const golden = readGolden<StoriesPrompt>('stories260K', `prompt_${k}.json`);
    const ids = model.encode(golden.prompt);
    assert.deepEqual(ids, golden.input_ids);
    const r = await model.forward({ ids: [ids] });
    r.hiddenStates.forEach((h, i) => {
      const d = maxAbsDiff(h.data as Float32Array, flat(golden.hidden_states[i]));
      assert.ok(d < 1e-5, `hidden_states[${i}] max abs diff ${d}`);
    });
    const dn = maxAbsDiff(r.finalNormInput.data as Float32Array, flat(golden.final_norm_input));
    assert.ok(dn < 1e-5, `final_norm_input ${dn}`);
    const dl = maxAbsDiff(r.logits.data as Float32Array, flat(golden.logits));
    assert.ok(dl < 1e-4, `logits ${dl}`);

    const lens = await lensLogProbs(new LogitLens(model), { ids: [ids] });
    assert.equal(lens.layers.length, 5);
    lens.layers.forEach((lp, i) => {
      const d = maxAbsDiff(lp.data as Float32Array, flat(golden.logit_lens_log_probs[i]));
      assert.ok(d < 1e-4, `logit lens layer ${i} log-probs ${d}`);
    });
    const dout = maxAbsDiff(lens.output.data as Float32Array, flat(golden.log_probs));
    assert.ok(dout < 1e-4, `output log-probs ${dout}`);
  });
}

test('stories260K greedy continuation of 40 tokens matches exactly', async () => {
  const model = await modelPromise;
  const golden = readGolden<{ input_ids: number[]; output_ids: number[]; text: string }>('stories260K', 'greedy.json');
  const out = await model.generateGreedy(golden.input_ids, 40);
  assert.deepEqual(out, golden.output_ids);
  assert.equal(model.tokenizer.decode(out), golden.text);
});

test('stories260K logits computed in blocks of positions (written in place for one sequence) match the golden logits', async () => {
  const model = await modelPromise;
  const golden = readGolden<StoriesPrompt>('stories260K', 'prompt_0.json');
  const V = model.config.vocabSize;
  // 3 positions per block: full blocks go straight into the result, the last (shorter) one through a copy.
  const one = await model.forward({ ids: [golden.input_ids] }, { logitBlockBytes: 3 * V * 4 });
  assert.ok(golden.input_ids.length % 3 !== 0, 'the prompt should leave a partial last block');
  const d1 = maxAbsDiff(one.logits.data as Float32Array, flat(golden.logits));
  assert.ok(d1 < 1e-4, `blocked logits ${d1}`);
  // Two sequences: blocks are not contiguous in [B, T, vocab], so each is copied into place.
  const two = await model.forward({ ids: [golden.input_ids, golden.input_ids] }, { logitBlockBytes: 2 * 3 * V * 4 });
  const T = golden.input_ids.length;
  const data = two.logits.data as Float32Array;
  for (const b of [0, 1]) {
    const d2 = maxAbsDiff(data.subarray(b * T * V, (b + 1) * T * V), flat(golden.logits));
    assert.ok(d2 < 1e-4, `sequence ${b}: blocked logits ${d2}`);
  }
});
