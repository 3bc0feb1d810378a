/**
 * The training loss as a reduction of the lens-rows engine (lens/rows.ts): for a block of positions,
 * all L translators' outputs are stacked into one [L, B, tb, d] tensor with one unembedding matmul (the
 * engine's rows), then the per-layer loss and its gradient w.r.t. the trained lens parameters. The
 * loss is a sum over positions, so summing block gradients gives exactly the full gradient.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { gradients } from '../graph/autodiff.js';
import type { LensParameter, TunedLens } from '../lens/lens.js';
import { lensRows, type RowReduction } from '../lens/rows.js';

export type LensLoss = 'kl' | 'ce';

export interface LensLossOptions {
  loss: LensLoss;
  /** Train only the biases (the paper's bias-only lens). */
  biasOnly: boolean;
}

/** Per-position weights [B, T] (position input): 1/(sequences · counted positions), 0 where a position does not count. */
export const POSITION_WEIGHTS = 'position_weights';
/** Next-token ids [B, T] (position input, CE only); any valid id where there is none. */
export const NEXT_IDS = 'next_ids';
/** Output: each layer's contribution to the mean loss, [L]. */
export const LOSSES = 'losses';
/** Output name of the gradient of one lens parameter. */
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
      const logits = block.logits(lens, lensRows(L));
      const trained = trainedParameters(lens, options.biasOnly);
      const params = trained.map((p) => g.inputs.get(p.name)!);
      const logq = op.logSoftmax(logits);
      let losses: Value;
      let grads: Value[];
      if (options.loss === 'kl') {
        // KL(final ‖ lens) at the same position (shift 0); the target carries no gradient.
        const logp = op.stopGradient(op.logSoftmax(block.logits(lens, ['output'])));
        const p = op.exp(logp);
        const perPosition = op.reduceSum(op.mul(p, op.sub(logp, logq)), [-1]);
        losses = op.reduceSum(op.mul(perPosition, posWeights), [1, 2]);
        // d KL(p ‖ softmax(z)) / dz = softmax(z) − p: seeding the backward pass at the logits with it saves
        // several full [L, B, tb, vocab] passes over differentiating log-softmax and the KL sum generically.
        const seed = op.mul(op.sub(op.exp(logq), p), op.reshape(posWeights, [1, B, tb, 1]));
        grads = gradients(logits, params, seed);
      } else {
        // Next-token cross-entropy (shift 1): ids of the following position, weight 0 where there is none.
        const next = op.expand(block.positionInput(NEXT_IDS, 'int64'), [L, B, tb]);
        losses = op.reduceSum(op.mul(op.neg(op.gatherLast(logq, next)), posWeights), [1, 2]);
        grads = gradients(op.reduceSum(losses, [0]), params);
      }
      const outputs: Record<string, Value> = { [LOSSES]: losses };
      trained.forEach((p, k) => (outputs[gradientName(p)] = grads[k]!));
      return outputs;
    },
  };
}
