/**
 * Iterative inference (paper App. C, Fig. 19).
 *
 * Residual–gradient alignment: for each block ℓ and each sequence, the cosine between the block's update
 * F_ℓ = h_{ℓ+1} − h_ℓ and ∂L/∂h_ℓ, where h_ℓ = hidden_states[ℓ] is the residual entering block ℓ
 * (h_L = the raw residual before the final norm, never the post-norm last hidden state) and L the mean
 * next-token cross-entropy of that sequence; both flattened over (sequence × hidden). The gradient
 * comes from reverse-mode autodiff through the whole model (differentiable attention).
 */
import * as op from '../graph/ops.js';
import { gradients } from '../graph/autodiff.js';
import type { Value } from '../graph/graph.js';
import type { LanguageModel } from '../models/language-model.js';
import type { ForwardValues } from '../models/transformer.js';
import { equalLengthBatches } from './sequences.js';
import { crossEntropyOnData } from '../surgery/cross-entropy.js';
import { deletePlan } from '../surgery/plans.js';
import { percentile } from './stats.js';

/** Sum over sequences of each sequence's mean next-token CE (so the gradient for sequence b is that of its own loss). */
export function perSequenceMeanCe(logits: Value, targets: Value): Value {
  const T = logits.shape[1]!;
  const lp = op.logSoftmax(op.slice(logits, 1, 0, T - 1));
  const picked = op.gatherLast(lp, targets); // [B, T-1]
  return op.neg(op.reduceSum(op.div(op.reduceSum(picked, [1]), T - 1), [0]));
}

/** The int64 targets [B, T-1] of next-token prediction. */
export function nextTokenTargets(ids: readonly number[][]): BigInt64Array {
  return BigInt64Array.from(ids.flatMap((row) => row.slice(1)), (v) => BigInt(v));
}

/**
 * Per block ℓ: its update F_ℓ [B, T, d], ∂L/∂h_ℓ [B, T, d] (L = sum over sequences of each one's mean CE)
 * and the per-sequence cosine [B]. Needs a graph built with differentiable attention.
 */
export function alignmentValues(f: ForwardValues, targets: Value, nLayers: number): { update: Value; gradient: Value; cosine: Value }[] {
  const loss = perSequenceMeanCe(f.logits, targets);
  const hs = f.hiddenStates.slice(0, nLayers);
  const grads = gradients(loss, hs);
  return hs.map((h, l) => {
    // The last block's update ends at the raw residual, not at the post-norm last hidden state.
    const next = l + 1 < nLayers ? f.hiddenStates[l + 1]! : f.finalNormInput;
    const update = op.sub(next, h);
    const g = grads[l]!;
    const dot = op.reduceSum(op.mul(update, g), [1, 2]);
    const norms = op.mul(op.reduceSum(op.mul(update, update), [1, 2]), op.reduceSum(op.mul(g, g), [1, 2]));
    return { update, gradient: g, cosine: op.div(dot, op.sqrt(norms)) };
  });
}

export interface AlignmentResult {
  /** cosines[ℓ][s]: block ℓ, sequence s (sequences of one token, which have no loss, are skipped). */
  cosines: number[][];
  /** Index (in the input list) of each sequence that has a cosine. */
  sequences: number[];
}

export async function residualAlignment(model: LanguageModel, sequences: readonly number[][], opts: { maxTokens?: number; onBatch?: (done: number, total: number) => void } = {}): Promise<AlignmentResult> {
  const L = model.nLayers;
  const usable = sequences.map((s, i) => ({ s, i })).filter((x) => x.s.length >= 2);
  const cosines: number[][] = Array.from({ length: L }, () => []);
  // Backward through attention holds a few [B, H, T, T] tensors per layer: keep batches small.
  const batches = equalLengthBatches(usable.map((x) => x.s), opts.maxTokens ?? 2048);
  let done = 0;
  for (const batch of batches) {
    const [B, T] = [batch.ids.length, batch.ids[0]!.length];
    const mg = model.buildGraph({ ids: batch.ids }, { fusedAttention: false });
    const parts = alignmentValues(mg.forward, mg.g.input('causal.targets', 'int64', [B, T - 1]), L);
    const outputs: Record<string, Value> = {};
    parts.forEach((p, l) => (outputs[`cos_${l}`] = p.cosine));
    const r = await model.run(mg, outputs, { 'causal.targets': nextTokenTargets(batch.ids) });
    for (let l = 0; l < L; l++) cosines[l]!.push(...Array.from(r[`cos_${l}`]!.data as Float32Array));
    done += B;
    opts.onBatch?.(done, usable.length);
  }
  return { cosines, sequences: usable.map((x) => x.i) };
}

export interface Distribution {
  median: number;
  p5: number;
  p95: number;
  frac_negative: number;
}

export function summarize(x: readonly number[]): Distribution {
  return {
    median: percentile(x, 50),
    p5: percentile(x, 5),
    p95: percentile(x, 95),
    frac_negative: x.length ? x.filter((v) => v < 0).length / x.length : NaN,
  };
}

export interface DeletionResult {
  baselineCe: number;
  /** CE with block ℓ replaced by the identity, for every ℓ. */
  ceWithoutLayer: number[];
  predictedTokens: number;
}

/**
 * Next-token CE (mean over all predicted tokens) of the intact model and with each block deleted (plan without
 * it), through the one CE function `tuned-lens surgery` uses too, so `--delete i` equals `ceWithoutLayer[i]`.
 */
export async function layerDeletion(model: LanguageModel, sequences: readonly number[][], opts: { maxTokens?: number; onLayer?: (done: number) => void } = {}): Promise<DeletionResult> {
  const usable = sequences.filter((s) => s.length >= 2);
  const plans: (number[] | undefined)[] = [undefined, ...Array.from({ length: model.nLayers }, (_, l) => deletePlan(model.nLayers, [l]))];
  const ce: number[] = [];
  let predicted = 0;
  for (const [p, plan] of plans.entries()) {
    const r = await crossEntropyOnData(model, usable, { ...(plan ? { plan } : {}), maxTokens: opts.maxTokens ?? 8192 });
    ce.push(r.ce);
    predicted = r.tokens;
    opts.onLayer?.(p + 1);
  }
  return { baselineCe: ce[0]!, ceWithoutLayer: ce.slice(1), predictedTokens: predicted };
}
