/**
 * Causal fidelity (paper §4, Fig. 20): for each lens layer i and each causal basis direction v,
 * - influence on the lens: mean over tokens of KL(p_lens(h) ‖ p_lens(h with v ablated)), h = hidden_states[i];
 * - influence on the model: mean over tokens of KL(p_model ‖ p_model with v ablated in hidden_states[i]
 *   and the model run on from there);
 * and the Spearman rank correlation of the two over the directions of a layer. The mean for mean ablation
 * is the mean of hidden_states[i] over the same tokens (the fidelity data).
 */
import * as op from '../graph/ops.js';
import type { Value } from '../graph/graph.js';
import type { Lens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { removeSubspace, type AblationMode } from './ablation.js';
import { LensInfluence, rowMean, type HiddenRows } from './lens-influence.js';
import { countTokens, equalLengthBatches } from './sequences.js';
import { spearman } from './stats.js';

export interface LayerBasis {
  layer: number;
  /** [d, k] row-major. */
  vectors: Float32Array;
  k: number;
}

export interface FidelityLayer {
  layer: number;
  lens_influence: number[];
  model_influence: number[];
  spearman: number;
}

/** Column j of a [d, k] row-major matrix. */
function columnOf(v: Float32Array, d: number, k: number, j: number): Float32Array {
  return Float32Array.from({ length: d }, (_, r) => v[r * k + j]!);
}

/**
 * Mean over every token of KL(p_model ‖ p_model with span(basis) ablated in hidden_states[layer]), for
 * each basis ([d, m] row-major orthonormal; a single direction is m = 1). The clean log-probs of a batch
 * are computed once and fed to the edited runs.
 */
export async function modelInfluence(
  model: LanguageModel,
  sequences: readonly number[][],
  layer: number,
  bases: readonly Float32Array[],
  how: { mode: AblationMode; mean: Float32Array; hidden: HiddenRows; perm?: Int32Array },
  maxTokens = 4096,
): Promise<number[]> {
  const d = model.config.dModel;
  const m = bases[0]!.length / d;
  if (!Number.isInteger(m) || bases.some((b) => b.length !== d * m)) throw new Error(`model influence: every basis must be [${d}, m] with the same m`);
  const totals = new Float64Array(bases.length);
  for (const batch of equalLengthBatches(sequences, maxTokens)) {
    const [B, T] = [batch.ids.length, batch.ids[0]!.length];
    const clean = model.buildGraph({ ids: batch.ids });
    const logP = (await model.run(clean, { lp: op.logSoftmax(clean.forward.logits) })).lp!.data as Float32Array;
    const mg = model.buildGraph(
      { ids: batch.ids },
      {
        edits: {
          residual: (index, x, inputs) => {
            if (index !== layer) return x;
            const basis = inputs.input('fidelity.basis', [d, m]);
            const replacement: Value | undefined =
              how.mode === 'mean' ? inputs.input('fidelity.mean', [1, d], how.mean) : how.mode === 'resample' ? inputs.input('fidelity.r', [B, T, d]) : undefined;
            return removeSubspace(x, basis, { mode: how.mode, replacement });
          },
        },
      },
    );
    const lp = mg.g.input('fidelity.logp', 'float32', [B, T, model.config.vocabSize]);
    const logQ = op.logSoftmax(mg.forward.logits);
    const kl = op.reduceSum(op.mul(op.exp(lp), op.sub(lp, logQ)), [0, 1, 2]);
    const extra: Record<string, Float32Array> = { 'fidelity.logp': logP };
    if (how.mode === 'resample') {
      const r = new Float32Array(B * T * d);
      batch.offsets.forEach((off, b) => {
        for (let t = 0; t < T; t++) {
          const src = how.perm![off + t]!;
          r.set(how.hidden.data.subarray(src * d, src * d + d), (b * T + t) * d);
        }
      });
      extra['fidelity.r'] = r;
    }
    for (let j = 0; j < bases.length; j++) {
      const out = await model.run(mg, { kl }, { ...extra, 'fidelity.basis': bases[j]! });
      totals[j] += (out.kl!.data as Float32Array)[0]!;
    }
  }
  const n = countTokens(sequences);
  return Array.from(totals, (t) => t / n);
}

/** Lens and model influence of every direction of one layer's basis, and their Spearman ρ. */
export async function causalFidelity(
  lens: Lens,
  sequences: readonly number[][],
  basis: LayerBasis,
  hidden: HiddenRows,
  opts: { mode: AblationMode; perm?: Int32Array },
): Promise<FidelityLayer> {
  const d = hidden.d;
  const mean = rowMean(hidden);
  const directions = Array.from({ length: basis.k }, (_, j) => columnOf(basis.vectors, d, basis.k, j));
  const inf = new LensInfluence(lens, basis.layer, hidden, { mode: opts.mode, mean, perm: opts.perm });
  const lensInfluence: number[] = [];
  try {
    for (const v of directions) lensInfluence.push((await inf.evaluate(v, 1)).value);
  } finally {
    await inf.release();
  }
  const model = await modelInfluence(lens.model, sequences, basis.layer, directions, { mode: opts.mode, mean, hidden, perm: opts.perm });
  return { layer: basis.layer, lens_influence: lensInfluence, model_influence: model, spearman: spearman(lensInfluence, model) };
}
