/**
 * The residual-stream edits against the reference's own numbers (shared/golden/causal):
 * remove_subspace on a small tensor, and ablate_subspace / ablate_layer on stories260K through the
 * library's forward-pass interventions (the reference's block `layer_index` output = our hidden_states
 * index `layer_index + 1`; the last block's = final_norm_input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/graph/graph.js';
import { loadModel } from '../../src/node/load-model.js';
import { removeSubspace, replacementFromBatch, type AblationMode, type BlockAblationMode } from '../../src/causal/ablation.js';
import { blockAblationEdits, subspaceAblationEdits } from '../../src/causal/interventions.js';
import { flat, maxAbsDiff, readGolden } from '../helpers/golden.js';
import { logitStats } from './helpers.js';

interface RemoveSubspaceGolden {
  input_ids: number[][];
  unablated_ce: number;
  basis_A: number[][];
  direct_example: { u: unknown; zero: unknown; mean: unknown };
  results: { layer_index: number; mode: AblationMode; ce: number; kl_orig_to_ablated: number; max_abs_logits_diff: number; permutation?: number[] }[];
}

interface AblateLayerGolden {
  input_ids: number[][];
  unablated_ce: number;
  results: { layer_index: number; method: AblationMode; mode: BlockAblationMode; ce: number; kl_orig_to_ablated: number; max_abs_logits_diff: number; permutation?: number[] }[];
}

const rs = readGolden<RemoveSubspaceGolden>('causal', 'remove_subspace.json');
const al = readGolden<AblateLayerGolden>('causal', 'ablate_layer.json');
const modelPromise = loadModel('stories260K');

test('remove_subspace direct example: zero and mean match the reference to 1e-5', async () => {
  const model = await modelPromise;
  for (const mode of ['zero', 'mean'] as const) {
    const g = new Graph();
    const u = g.input('u', 'float32', [2, 3, 64]);
    const A = g.input('A', 'float32', [64, 3]);
    const out = removeSubspace(u, A, replacementFromBatch(u, mode));
    const r = await model.runtime.run({ out }, { u: Float32Array.from(flat(rs.direct_example.u)), A: Float32Array.from(flat(rs.basis_A)) });
    const diff = maxAbsDiff(r.out!.data as Float32Array, flat(rs.direct_example[mode]));
    assert.ok(diff < 1e-5, `${mode}: ${diff}`);
  }
});

test('ablate_subspace on every block output of stories260K: CE, KL and max logit change as the reference', async () => {
  const model = await modelPromise;
  const A = Float32Array.from(flat(rs.basis_A));
  for (const row of rs.results) {
    const edits = subspaceAblationEdits({ index: row.layer_index + 1, basis: A, mode: row.mode, perm: row.permutation });
    const logits = (await model.forward({ ids: rs.input_ids }, { edits })).logits.data as Float32Array;
    const s = await logitStats(model, rs.input_ids, logits);
    const where = `layer ${row.layer_index} ${row.mode}`;
    assert.ok(Math.abs(s.ce - row.ce) < 1e-4, `${where}: ce ${s.ce} vs ${row.ce}`);
    assert.ok(Math.abs(s.kl - row.kl_orig_to_ablated) < 5e-5, `${where}: kl ${s.kl} vs ${row.kl_orig_to_ablated}`);
    assert.ok(Math.abs(s.maxAbsDiff - row.max_abs_logits_diff) < 2e-4, `${where}: max diff ${s.maxAbsDiff} vs ${row.max_abs_logits_diff}`);
  }
});

test('ablate_layer (zero / mean / resample × batch / token) on stories260K as the reference', async () => {
  const model = await modelPromise;
  // zero ignores the mode (the golden batch and token rows are identical): run it once.
  for (const row of al.results.filter((r) => !(r.method === 'zero' && r.mode === 'token'))) {
    const edits = blockAblationEdits(row.layer_index, row.method, row.mode, row.permutation);
    const logits = (await model.forward({ ids: al.input_ids }, { edits })).logits.data as Float32Array;
    const s = await logitStats(model, al.input_ids, logits);
    const where = `layer ${row.layer_index} ${row.method}/${row.mode}`;
    assert.ok(Math.abs(s.ce - row.ce) < 1e-4, `${where}: ce ${s.ce} vs ${row.ce}`);
    assert.ok(Math.abs(s.kl - row.kl_orig_to_ablated) < 5e-5, `${where}: kl ${s.kl} vs ${row.kl_orig_to_ablated}`);
    assert.ok(Math.abs(s.maxAbsDiff - row.max_abs_logits_diff) < 2e-4, `${where}: max diff ${s.maxAbsDiff} vs ${row.max_abs_logits_diff}`);
  }
  const base = await logitStats(model, al.input_ids, null);
  assert.ok(Math.abs(base.ce - al.unablated_ce) < 1e-4, `unablated ce ${base.ce}`);
});
