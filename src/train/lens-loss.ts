/**
 * The training loss as a reduction of the lens-rows engine (lens/rows.ts): for a block of positions,
 * all L translators' outputs are stacked into one [L, B, tb, d] tensor with one unembedding matmul (the
 * engine's rows), then the per-layer loss and its gradient w.r.t. those translated states, δ. The
 * parameters' gradients are δ's contraction with the hidden states over every position of a micro-batch,
 * done once per micro-batch by a second graph (`compileParameterGradients`). That is the same sum as
 * per-block parameter gradients added up, without a [d, d] gradient per layer leaving every block (28 MiB
 * for GPT-2-small, 27 blocks a sequence) to be added up in JavaScript: GPT-2-small lens training at seq
 * 1024, alternating runs against the previous commit, 65.0–66.6 → 68.4–70.7 tokens/s (docs/benchmarks.md).
 * A micro-batch that is one block keeps the parameters' gradients in its block (`parameterGradientsInBlock`).
 */
import { Graph, type Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { gradients } from '../graph/autodiff.js';
import type { LensParameter, TunedLens } from '../lens/lens.js';
import { stackRows, type HiddenStates, type RowReduction } from '../lens/rows.js';
import type { LanguageModel } from '../models/language-model.js';

export type LensLoss = 'kl' | 'ce';

export interface LensLossOptions {
  loss: LensLoss;
  /** Train only the biases (the paper's bias-only lens). */
  biasOnly: boolean;
  /**
   * The block is the whole micro-batch: output the parameters' gradients (named by `gradientName`) from
   * the block itself, sparing the second graph its run (stories260K's recipe: 1.2 ms of 30 a step).
   */
  parameterGradientsInBlock?: boolean;
}

/** Per-position weights [B, T] (position input): 1/(sequences · counted positions), 0 where a position does not count. */
export const POSITION_WEIGHTS = 'position_weights';
/** Next-token ids [B, T] (position input, CE only); any valid id where there is none. */
export const NEXT_IDS = 'next_ids';
/** Output: each layer's contribution to the mean loss, [L]. */
export const LOSSES = 'losses';
/** Output: the loss's gradient w.r.t. the translated states of the block, [L, B, tb, d]. */
export const TRANSLATED_GRADIENT = 'grad:translated';
/** Output name of the gradient of one lens parameter (`parameterGradientsInBlock`). */
export const gradientName = (p: LensParameter): string => `grad:${p.name}`;

/** The parameters training updates, in a fixed order (per layer: weight unless bias-only, then bias). */
export function trainedParameters(lens: TunedLens, biasOnly: boolean): LensParameter[] {
  return lens.parameters().filter((p) => !biasOnly || p.role === 'bias');
}

export function lensLossReduction(lens: TunedLens, options: LensLossOptions): RowReduction {
  const L = lens.translators.length;
  return {
    rowsPerBlock: L,
    build: (block) => {
      const { g, batch: B, positions: tb } = block;
      const posWeights = block.positionInput(POSITION_WEIGHTS, 'float32');
      const hidden = Array.from({ length: L }, (_, layer) => block.hidden(layer));
      const translated = stackRows(hidden.map((h, layer) => g.scope(`lens.${layer}`, () => lens.transformHidden(h, layer))));
      const logits = op.reshape(block.logitsOf(lens, [{ h: translated, layer: null }]), [L, B, tb, lens.model.config.vocabSize]);
      const logq = op.logSoftmax(logits);
      let losses: Value;
      let grad: Value;
      if (options.loss === 'kl') {
        // KL(final ‖ lens) at the same position (shift 0); the target carries no gradient.
        const logp = op.stopGradient(op.logSoftmax(block.logits(lens, ['output'])));
        const p = op.exp(logp);
        const perPosition = op.reduceSum(op.mul(p, op.sub(logp, logq)), [-1]);
        losses = op.reduceSum(op.mul(perPosition, posWeights), [1, 2]);
        // d KL(p ‖ softmax(z)) / dz = softmax(z) − p: seeding the backward pass at the logits with it saves
        // several full [L, B, tb, vocab] passes over differentiating log-softmax and the KL sum generically.
        // (Exp of log q, which is needed anyway: onnxruntime's Softmax took 22 ms a block here, Exp 17.)
        // A position's weight scales its seed row, and the backward to the translated states is linear in
        // each row's seed (the final norm acts per position), so the weights are applied to δ [L, B, tb, d]
        // instead of the seed [.., vocab]: one pass over the vocabulary less.
        const seed = op.sub(op.exp(logq), p);
        const [unweighted] = gradients(logits, [translated], seed) as [Value];
        grad = op.mul(unweighted, op.reshape(posWeights, [1, B, tb, 1]));
      } else {
        // Next-token cross-entropy (shift 1): ids of the following position, weight 0 where there is none.
        const next = op.expand(block.positionInput(NEXT_IDS, 'int64'), [L, B, tb]);
        losses = op.reduceSum(op.mul(op.neg(op.gatherLast(logq, next)), posWeights), [1, 2]);
        [grad] = gradients(op.reduceSum(losses, [0]), [translated]) as [Value];
      }
      const outputs: Record<string, Value> = { [LOSSES]: losses };
      if (!options.parameterGradientsInBlock) {
        outputs[TRANSLATED_GRADIENT] = grad;
        return outputs;
      }
      const trained = trainedParameters(lens, options.biasOnly);
      const grads = parameterGradients(lens, trained, hidden, op.stopGradient(grad));
      trained.forEach((p, k) => (outputs[gradientName(p)] = grads[k]!));
      return outputs;
    },
  };
}

/**
 * The trained parameters' gradients of a micro-batch [B, T] from its hidden states and δ [L, B, T, d]
 * (every block's TRANSLATED_GRADIENT in place): the gradient of Σ_ℓ ⟨δ_ℓ, translator_ℓ(h_ℓ)⟩, which for
 * a weight is δ_ℓᵀ h_ℓ over all positions (one [d, B·T] · [B·T, d] matmul) and for a bias Σ δ_ℓ.
 * Returns the arrays in `trainedParameters` order.
 */
export async function compileParameterGradients(model: LanguageModel, lens: TunedLens, B: number, T: number, biasOnly: boolean): Promise<(hidden: HiddenStates, delta: Float32Array) => Promise<Float32Array[]>> {
  const L = lens.translators.length;
  const d = model.config.dModel;
  const g = new Graph();
  const trained = trainedParameters(lens, biasOnly);
  const hidden = Array.from({ length: L }, (_, layer) => g.input(`h_${layer}`, 'float32', [B, T, d]));
  const grads = parameterGradients(lens, trained, hidden, g.input('delta', 'float32', [L, B, T, d]));
  const compiled = await model.runtime.compile(Object.fromEntries(trained.map((p, k) => [p.name, grads[k]!])));
  return async (states, deltaData) => {
    if (states.batch !== B || states.positions !== T) throw new Error(`parameter gradients were compiled for ${B} × ${T} positions, got ${states.batch} × ${states.positions}`);
    const feeds: Record<string, Float32Array> = { ...lens.feeds(), delta: deltaData };
    states.layers.forEach((h, layer) => (feeds[`h_${layer}`] = h));
    const r = await compiled.run(feeds);
    return trained.map((p) => r[p.name]!.data as Float32Array);
  };
}

/** Gradients of Σ_ℓ ⟨δ_ℓ, translator_ℓ(h_ℓ)⟩ w.r.t. `trained`, for hidden states [B, T, d] and δ [L, B, T, d]. */
function parameterGradients(lens: TunedLens, trained: readonly LensParameter[], hidden: readonly Value[], delta: Value): Value[] {
  const g = delta.graph;
  let surrogate: Value | null = null;
  hidden.forEach((h, layer) => {
    const out = lens.transformHidden(h, layer);
    const term = op.reduceSum(op.mul(op.slice(delta, 0, layer, layer + 1), op.reshape(out, [1, ...out.shape])), [0, 1, 2, 3]);
    surrogate = surrogate ? op.add(surrogate, term) : term;
  });
  return gradients(surrogate!, trained.map((p) => g.inputs.get(p.name)!));
}
