/**
 * The diff view's "most changed token" per cell, checked against an independent float64 computation:
 * both trajectories' full log-probabilities (lensLogProbs), |p_self − p_other| sorted over the whole
 * vocabulary. Covers the lens comparison (tuned vs logit, one prompt) and the prompt comparison (A vs B),
 * through the viewer engine's own responses, plus the host-side merge on a hand-made case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodePath from 'node:path';
import { sharedDataDir } from '../helpers/shared-data.js';
import { lensLogProbs, LogitLens, type Lens } from '../../src/lens/lens.js';
import { mergeLargestChanges } from '../../src/trajectory/row-statistics.js';
import { ViewerEngine } from '../../src/viewer/engine.js';
import { nodeEngineLoaders } from '../../src/viewer/node-loaders.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import type { DistancePayload } from '../../src/viewer/protocol.js';

const LENS_DIR = nodePath.join(sharedDataDir(), 'golden', 'reference-lens', 'lens');
const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const PROMPT_B = 'Once upon a time, there was a big dog named Max.';

test('mergeLargestChanges: the k largest |change| from a top-k of rises and a top-k of falls', () => {
  // Two cells, k = 3. Cell 0: rises 0.5 (id 1), 0.1 (2), 0 (3); falls 0.4 (id 4), 0.3 (5), 0 (3).
  const rise = { values: [0.5, 0.1, 0, 0.2, 0.1, 0.05], ids: [1, 2, 3, 7, 8, 9] };
  const fall = { values: [0.4, 0.3, 0, 0.6, 0.01, 0], ids: [4, 5, 3, 6, 10, 11] };
  const m = mergeLargestChanges(rise, fall, 3);
  assert.deepEqual(Array.from(m.ids), [1, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(m.changes).map((v) => Number(v.toFixed(6))), [0.5, -0.4, -0.3, -0.6, 0.2, 0.1]);
});

/** For every cell, the top-k of |p − q| from the full distributions, in float64. */
async function expectedChanges(self: Lens, other: Lens, idsSelf: number[], idsOther: number[], k: number): Promise<{ ids: number[][]; changes: number[][] }> {
  const a = await lensLogProbs(self, { ids: [idsSelf] });
  const b = await lensLogProbs(other, { ids: [idsOther] });
  const rowsA = [...a.layers, a.output];
  const rowsB = [...b.layers, b.output];
  const V = self.model.config.vocabSize;
  const T = idsSelf.length;
  const ids: number[][] = [];
  const changes: number[][] = [];
  for (let r = 0; r < rowsA.length; r++) {
    for (let t = 0; t < T; t++) {
      const d = Array.from({ length: V }, (_, v) => Math.exp(Number(rowsA[r]!.data[t * V + v])) - Math.exp(Number(rowsB[r]!.data[t * V + v])));
      const order = Array.from({ length: V }, (_, v) => v).sort((x, y) => Math.abs(d[y]!) - Math.abs(d[x]!));
      ids.push(order.slice(0, k));
      changes.push(order.slice(0, k).map((v) => d[v]!));
    }
  }
  return { ids, changes };
}

function check(dist: DistancePayload, want: { ids: number[][]; changes: number[][] }, what: string): void {
  const K = dist.changeK;
  let worst = 0;
  want.ids.forEach((ids, cell) => {
    for (let k = 0; k < K; k++) {
      const got = dist.changeIds[cell * K + k]!;
      const change = dist.changes[cell * K + k]!;
      worst = Math.max(worst, Math.abs(change - want.changes[cell]![k]!));
      // Equal |changes| may swap places; otherwise the token must be the same.
      if (got !== ids[k]) assert.ok(Math.abs(Math.abs(change) - Math.abs(want.changes[cell]![k]!)) < 1e-5, `${what}: cell ${cell} rank ${k}: token ${got}, expected ${ids[k]}`);
    }
  });
  // 5 significant digits in the payload, float32 in the graph.
  assert.ok(worst < 2e-5, `${what}: worst change difference ${worst}`);
}

test('diff view: the most changed tokens per cell equal a float64 recomputation from both full distributions', { timeout: 60_000 }, async () => {
  const engine = new ViewerEngine({ models: ['stories260K'], lenses: { stories260K: [LENS_DIR] } }, nodeEngineLoaders());
  const model = await loadModel('stories260K');
  const tuned = await loadTunedLens(model, LENS_DIR);
  const logit = new LogitLens(model);
  const ids = model.encode(PROMPT);

  // Tuned vs logit lens on one prompt: Δ = P(tuned) − P(logit).
  const diff = await engine.trajectory({ model: 0, lens: 'diff', tunedLens: 0, prompt: PROMPT, topK: 5 });
  const lensDist = diff.distance!;
  assert.equal(lensDist.changeK, 5);
  assert.equal(lensDist.changeIds.length, lensDist.rows * lensDist.positions * 5);
  check(lensDist, await expectedChanges(tuned, logit, ids, ids, 5), 'tuned vs logit');
  for (const id of lensDist.changeIds) assert.ok(String(id) in diff.pieces, `piece of ${id} sent`);

  // Prompt A vs prompt B with the logit lens: Δ = P(A) − P(B) at the same position.
  const two = await engine.trajectory({ model: 0, lens: 'logit', prompt: PROMPT, prompt2: PROMPT_B, topK: 3 });
  const promptDist = two.distance!;
  const idsB = model.encode(PROMPT_B);
  const T = Math.min(ids.length, idsB.length);
  assert.equal(promptDist.positions, T);
  check(promptDist, await expectedChanges(logit, logit, ids.slice(0, T), idsB.slice(0, T), 3), 'prompt A vs B');
});
