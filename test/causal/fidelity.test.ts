/**
 * Fidelity and layer deletion against the reference's own ablation numbers on stories260K
 * (shared/golden/causal): the model influence of a subspace is the reference's KL(orig ‖ ablated) of
 * `ablate_subspace`, and deleting a block is `ablate_layer(…, "zero")`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/node/load-model.js';
import { LogitLens } from '../../src/lens/lens.js';
import { causalFidelity, modelInfluence } from '../../src/causal/fidelity.js';
import { layerDeletion } from '../../src/causal/iterative.js';
import { rowMean } from '../../src/causal/lens-influence.js';
import { collectHidden } from '../../src/causal/sequences.js';
import { spearman } from '../../src/causal/stats.js';
import { flat, readGolden } from '../helpers/golden.js';

interface Golden {
  input_ids: number[][];
  unablated_ce: number;
  basis_A: number[][];
  results: { layer_index: number; mode: string; method?: string; ce: number; kl_orig_to_ablated: number }[];
}
const rs = readGolden<Golden>('causal', 'remove_subspace.json');
const al = readGolden<Golden>('causal', 'ablate_layer.json');
const modelPromise = loadModel('stories260K');

test('model influence of a mean-ablated subspace = the reference ablate_subspace KL (mean over all tokens)', async () => {
  const model = await modelPromise;
  const A = Float32Array.from(flat(rs.basis_A));
  for (const li of [0, 2, 3]) {
    const index = li + 1; // the reference's block output = our hidden_states[li + 1]
    const hidden = await collectHidden(model, rs.input_ids, index);
    const [kl] = await modelInfluence(model, rs.input_ids, index, [A], { mode: 'mean', mean: rowMean(hidden), hidden }, 512);
    const ref = rs.results.find((r) => r.layer_index === li && r.mode === 'mean')!.kl_orig_to_ablated;
    assert.ok(Math.abs(kl! - ref) < 5e-5, `layer_index ${li}: ${kl} vs ${ref}`);
  }
});

test('layer deletion = the reference ablate_layer zero CE for every block; intact CE as the reference', async () => {
  const model = await modelPromise;
  const r = await layerDeletion(model, al.input_ids);
  assert.equal(r.predictedTokens, 1020);
  assert.ok(Math.abs(r.baselineCe - al.unablated_ce) < 1e-4, `intact ${r.baselineCe}`);
  r.ceWithoutLayer.forEach((ce, l) => {
    const ref = al.results.find((x) => x.layer_index === l && x.method === 'zero')!.ce;
    assert.ok(Math.abs(ce - ref) < 1e-4, `layer ${l}: ${ce} vs ${ref}`);
  });
});

test('causal fidelity: per-direction influences and their Spearman ρ', async () => {
  const model = await modelPromise;
  const ids = rs.input_ids.map((s) => s.slice(0, 64));
  const hidden = await collectHidden(model, ids, 2);
  const A = Float32Array.from(flat(rs.basis_A));
  const r = await causalFidelity(new LogitLens(model), ids, { layer: 2, vectors: A, k: 3 }, hidden, { mode: 'mean' });
  assert.equal(r.lens_influence.length, 3);
  assert.ok(r.lens_influence.every((x) => x > 0) && r.model_influence.every((x) => x > 0));
  assert.equal(r.spearman, spearman(r.lens_influence, r.model_influence));
  // Each model influence is the one-direction special case of the subspace computation.
  const col = (j: number) => Float32Array.from({ length: 64 }, (_, i) => A[i * 3 + j]!);
  const direct = await modelInfluence(model, ids, 2, [col(1)], { mode: 'mean', mean: rowMean(hidden), hidden });
  assert.ok(Math.abs(direct[0]! - r.model_influence[1]!) < 1e-6);
});
