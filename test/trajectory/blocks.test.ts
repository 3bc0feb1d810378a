/** Processing positions in blocks (to bound memory) gives the same trajectory as one block. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { computeTrajectory } from '../../src/trajectory/compute.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

test('a trajectory computed in 5-position blocks equals the single-block one (with comparison and masking)', async () => {
  const model = await loadModel('stories260K');
  const tuned = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const ids = model.encode('One day, Tom went to the park with his mom. He saw');
  // The exact length (no length bucket), so the block count below is the prompt's.
  const opts = { compareWith: new LogitLens(model), maskInput: true, antiTargets: [ids.map(() => 410)], lengthBucket: false };
  const whole = await computeTrajectory(tuned, { ids: [ids] }, opts);
  let blocks = 0;
  const split = await computeTrajectory(tuned, { ids: [ids] }, { ...opts, blockBytes: 4 * 6 * 2 * 512 * 5, onProgress: (_d, total) => (blocks = total) });
  assert.equal(blocks, Math.ceil(ids.length / 5));
  for (const key of ['entropy', 'maxProb', 'forwardKl', 'topProbs'] as const) { const dd = maxAbsDiff(split[key], whole[key]); assert.ok(dd < 1e-5, `${key} ${dd}`); }
  assert.deepEqual(Array.from(split.topIds), Array.from(whole.topIds));
  assert.ok(maxAbsDiff(split.comparison!.js, whole.comparison!.js) < 1e-5);
  const finite = (a: Float32Array) => Array.from(a).map((x) => (Number.isNaN(x) ? -1 : x));
  assert.ok(maxAbsDiff(finite(split.crossEntropy), finite(whole.crossEntropy)) < 1e-4);
  assert.deepEqual(finite(split.rank), finite(whole.rank));
  // mask_input: no lens row predicts a token of the input; the output row is the model's own.
  const K = whole.topK;
  for (let r = 0; r < whole.rows - 1; r++) for (let t = 0; t < ids.length; t++) assert.ok(!ids.includes(whole.topIds[(r * ids.length + t) * K]!), `row ${r} position ${t}`);
});
