/**
 * The causal edits as forward-pass interventions (src/models/interventions.ts): subspace removal at a
 * residual index and whole-block ablation, with the reference's semantics. Use them as `edits` of
 * `model.buildGraph(batch, { edits })` / `model.forward(batch, { edits })`.
 */
import * as op from '../graph/ops.js';
import type { Value } from '../graph/graph.js';
import type { ForwardEdits } from '../models/interventions.js';
import { ablatedUpdate, removeSubspace, replacementFromBatch, type AblationMode, type BlockAblationMode, type Replacement } from './ablation.js';

export interface SubspaceAblation {
  /** hidden_states index (0 = embedding output, i = output of block i−1, L = final_norm_input). */
  index: number;
  /** Orthonormal basis [d, k] row-major. */
  basis: Float32Array;
  mode: AblationMode;
  /** Mean for mean ablation; omitted = the mean over every token of the batch (the reference's hook). */
  mean?: Float32Array;
  /** Resample: derangement of the B·T flattened tokens of the batch. */
  perm?: readonly number[];
}

/** Removes span(basis) from hidden_states[index] and lets the model run on. */
export function subspaceAblationEdits(a: SubspaceAblation): ForwardEdits {
  return {
    residual: (index, x, inputs) => {
      if (index !== a.index) return x;
      const d = x.shape[x.rank - 1]!;
      const k = a.basis.length / d;
      const basis = inputs.input('ablation.basis', [d, k], a.basis);
      let how: Replacement;
      if (a.mode === 'mean' && a.mean) how = { mode: 'mean', replacement: inputs.input('ablation.mean', [1, d], a.mean) };
      else how = replacementFromBatch(x, a.mode, a.perm ? op.constant(x.graph, a.perm, [a.perm.length], 'int64') : undefined);
      return removeSubspace(x, basis, how);
    },
  };
}

/**
 * The reference's `ablate_layer`: block `layer`'s update F(h) = block(h) − h is replaced (zero = the block is
 * skipped; mean over the batch per position or over all tokens; resample by a derangement of sequences or tokens).
 */
export function blockAblationEdits(layer: number, method: AblationMode, mode: BlockAblationMode = 'batch', perm?: readonly number[]): ForwardEdits {
  return {
    blockUpdate: (block, update: Value) => {
      if (block.layer !== layer) return update;
      const p = perm ? op.constant(update.graph, perm, [perm.length], 'int64') : undefined;
      return ablatedUpdate(update, method, mode, p);
    },
  };
}
