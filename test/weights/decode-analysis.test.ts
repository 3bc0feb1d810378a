import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { W } from '../../src/models/load-weights.js';
import { decodeDirections } from '../../src/weights/decode.js';
import { analyzeWeights, translatorFor } from '../../src/weights/analysis.js';
import { SeededRandom } from '../../src/weights/random.js';
import { sharedDir } from '../helpers/shared-data.js';
import { buildPpmiVectors } from '../../src/weights/word-vectors.js';
import { goldenPath } from '../helpers/golden.js';

const lensDir = goldenPath('reference-lens', 'lens');

test('decodeDirections on stories260K equals a float64 recomputation: E · (w_norm ⊙ (v + W v)), top-k ids', async () => {
  const model = await loadModel('stories260K');
  const lens = await loadTunedLens(model, lensDir);
  const d = model.config.dModel;
  const V = model.config.vocabSize;
  const E = model.weights.get(W.lmHead)!.data;
  const g = model.weights.get(W.finalNormW)!.data;
  const rng = new SeededRandom(3);
  const n = 9;
  const vecs = Float32Array.from({ length: n * d }, () => rng.gaussian());
  for (const t of [null, lens.translators[2]!]) {
    const ids = await decodeDirections(model, lens, t ? 2 : null, vecs, n, 5);
    for (let r = 0; r < n; r++) {
      const v = vecs.subarray(r * d, (r + 1) * d);
      const h = Array.from(v, (x, i) => {
        let y = x;
        if (t) for (let j = 0; j < d; j++) y += t.weight.data[i * d + j]! * v[j]!;
        return y * g[i]!;
      });
      const logits = Array.from({ length: V }, (_, tok) => h.reduce((s, x, i) => s + x * E[tok * d + i]!, 0));
      const order = logits.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]);
      const expected = order.slice(0, 5).map(([, i]) => i);
      assert.deepEqual(Array.from(ids.subarray(r * 5, r * 5 + 5)), expected, `vector ${r}, ${t ? 'tuned' : 'logit'}`);
    }
  }
});

test('which translator decodes a source: reads use ℓ, writes ℓ + 1, the last block writes through the output head alone', () => {
  assert.equal(translatorFor(5, 'w_in_columns', 2), 2);
  assert.equal(translatorFor(5, 'qk_svd_right', 4), 4);
  assert.equal(translatorFor(5, 'ov_svd_left', 2), 3);
  assert.equal(translatorFor(5, 'w_out_rows', 3), 4);
  assert.equal(translatorFor(5, 'w_out_svd', 4), null);
});

test('analyzeWeights on stories260K: each table cell is the mean of its per-layer scores; the output head decodes the last block identically for both lenses', async () => {
  const model = await loadModel('stories260K');
  const lens = await loadTunedLens(model, lensDir);
  const words = buildPpmiVectors([readFileSync(join(sharedDir(), 'corpora', 'tinystories_sample.txt'), 'utf8')], { dim: 30 });
  const seen: { lens: string; matrix: string; index: number; sign: number; ids: number[] }[] = [];
  const a = await analyzeWeights(model, lens, words, {
    k: 6,
    layers: [3, 4],
    sources: ['w_out_rows', 'w_in_svd'],
    onVector: (v) => void (v.layer === 4 && v.source === 'w_out_rows' && seen.push(v)),
  });
  assert.deepEqual(a.sources.sort(), ['w_in_svd', 'w_out_rows']);
  for (const row of ['logit_real', 'logit_random', 'tuned_real', 'tuned_random'] as const) {
    for (const s of a.sources) {
      const all = a.perLayer[row][s]!.flat();
      assert.equal(a.counts[row][s]!.scored, all.length);
      assert.ok(Math.abs(a.rows[row][s]! - all.reduce((x, y) => x + y, 0) / all.length) < 1e-12);
      assert.equal(a.counts[row][s]!.scored + a.counts[row][s]!.unscored, s === 'w_out_rows' ? 2 * model.config.dFF : 2 * 2 * model.config.dModel);
    }
  }
  // Block 4 is the last: its written vectors go through the output head alone, so logit and tuned agree.
  const logit = seen.filter((v) => v.lens === 'logit');
  const tuned = seen.filter((v) => v.lens === 'tuned');
  assert.equal(logit.length, tuned.length);
  logit.forEach((v, i) => assert.deepEqual(v.ids, tuned[i]!.ids));
  // Same seed, same random baseline.
  const again = await analyzeWeights(model, lens, words, { k: 6, layers: [3, 4], sources: ['w_out_rows', 'w_in_svd'] });
  assert.deepEqual(again.rows, a.rows);
});
