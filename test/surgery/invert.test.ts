import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/node/load-model.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { invertUnembedding } from '../../src/surgery/invert.js';
import { goldenPath } from '../helpers/golden.js';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

const centered = (x: ArrayLike<number>): number[] => {
  const mean = Array.from(x).reduce((s, v) => s + v, 0) / x.length;
  return Array.from(x, (v) => v - mean);
};

/** A real residual (before the final norm) and the model's logits for it. */
async function knownState(model: LanguageModel, ids: number[], pos: number): Promise<{ h: Float32Array; logits: Float32Array }> {
  const r = await model.forward({ ids: [ids] });
  const d = model.config.dModel;
  const V = model.config.vocabSize;
  return {
    h: (r.finalNormInput.data as Float32Array).slice(pos * d, (pos + 1) * d),
    logits: (r.logits.data as Float32Array).slice(pos * V, (pos + 1) * V),
  };
}

test('stories260K (RMSNorm): inversion from zeros recovers a real residual up to scale, with KL ≈ 0', async () => {
  const model = await loadModel('stories260K');
  const { h, logits } = await knownState(model, model.encode('Once upon a time, there was a little girl'), 6);
  const r = await invertUnembedding(model, logits, { tolerance: 1e-8, maxEvaluations: 3000 });
  assert.ok(r.converged && r.kl < 1e-7, `KL ${r.kl} after ${r.evaluations} evaluations`);
  assert.ok(cosine(r.hidden, h) > 0.999, `cosine ${cosine(r.hidden, h)}`);
  // Scale is what RMSNorm cannot see: the found vector's norm is arbitrary, its direction is not.
  assert.equal(r.preimage.length, model.config.dModel);
});

test('tiny GPT-2 (LayerNorm): inversion recovers the residual up to shift and scale; the reported KL is the true one', async () => {
  const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', 'gpt2') }, createRuntime(), 'gpt2');
  const { h, logits } = await knownState(model, [3, 14, 15, 92, 6], 4);
  const r = await invertUnembedding(model, logits, { tolerance: 1e-8, maxEvaluations: 4000 });
  assert.ok(r.converged && r.kl < 1e-7, `KL ${r.kl} after ${r.evaluations} evaluations`);
  assert.ok(cosine(centered(r.hidden), centered(h)) > 0.999, `cosine of centered vectors ${cosine(centered(r.hidden), centered(h))}`);
  // An independent KL check at a perturbed start: a far-off h0 has a large loss, and the budget is respected.
  const short = await invertUnembedding(model, logits, { h0: h.map((v, i) => (i % 2 ? -v : v)), maxEvaluations: 3, tolerance: 0 });
  assert.ok(short.evaluations <= 3 && !short.converged && short.kl > r.kl);
});
