/** layerLogProbsAt (padded batches, chosen positions) against the full lens log-probs of each sequence alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerLogProbsAt } from '../../src/applications/layer-log-probs.js';
import { lensLogProbs } from '../../src/lens/rows.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';

test('log-probs at chosen positions of left-padded batches equal each sequence run alone', async () => {
  const model = await loadModel('stories260K');
  const lens = await loadTunedLens(model, '../shared/golden/reference-lens/lens');
  const V = model.config.vocabSize;
  const L = model.nLayers;
  const seqs = ['Once upon a time, there was a little girl named Lily.', 'Hi there', 'The cat sat on the mat and looked at the bird in the tree.'].map((t) => model.encode(t));
  const positions = [[3, seqs[0]!.length - 1], [seqs[1]!.length - 1], [0, 5, 9]];
  const got = await layerLogProbsAt(lens, seqs, positions, { batchSize: 2, lengthStep: 8 });
  let maxDiff = 0;
  for (let s = 0; s < seqs.length; s++) {
    const ref = await lensLogProbs(lens, { ids: [seqs[s]!] });
    assert.equal(got[s]!.length, positions[s]!.length);
    positions[s]!.forEach((p, k) => {
      for (let r = 0; r <= L; r++) {
        const src = (r < L ? ref.layers[r]! : ref.output).data as Float32Array;
        for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(got[s]![k]![r * V + v]! - src[p * V + v]!));
      }
    });
  }
  assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
  await assert.rejects(layerLogProbsAt(lens, [[1, 2]], [[2]]), /outside sequence 0/);
});
