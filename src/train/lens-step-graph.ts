/**
 * One training micro-batch, in two graphs:
 *  1. the frozen model's forward pass, returning every hidden state the lens needs ([B, T, d] each);
 *  2. the lens over a block of positions: all L translators' outputs stacked into one
 *     [L, B, tb, d] tensor, one unembedding matmul, the per-layer loss and its gradient.
 * Blocks bound the memory of the [L, B, tb, vocab] tensors whatever the sequence length and vocabulary;
 * the loss is a sum over positions, so summing block gradients gives exactly the full gradient.
 */
import { Graph, type Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { gradients } from '../graph/autodiff.js';
import { paramInput, translatorBiasName, translatorWeightName, type TunedLens } from '../lens/lens.js';
import { unembed, WeightInputs } from '../models/transformer.js';

export type LensLoss = 'kl' | 'ce';

export interface StepGraphOptions {
  loss: LensLoss;
  /** Train only the biases (the paper's bias-only lens). */
  biasOnly: boolean;
}

export interface LensBlockGraph {
  g: Graph;
  weights: WeightInputs;
  outputs: Record<string, Value>;
  /** Input names: hidden state of layer i, the final residual, per-position weights, next-token ids. */
  hiddenName: (i: number) => string;
  /** Output names: per-layer loss sums [L], gradient of layer i's weight and bias. */
  gradWeightName: (i: number) => string;
  gradBiasName: (i: number) => string;
}

export const FINAL_HIDDEN = 'h_final';
export const POSITION_WEIGHTS = 'position_weights';
export const NEXT_IDS = 'next_ids';
export const LOSSES = 'losses';

/**
 * The lens part for a block of `tb` positions of `B` sequences. `position_weights` [B, tb] holds
 * 1/(B·T) for positions that count (0 for block padding and, with CE, the last position), so the
 * `losses` output is each layer's contribution to the mean loss.
 */
export function buildLensBlockGraph(lens: TunedLens, B: number, tb: number, options: StepGraphOptions): LensBlockGraph {
  const model = lens.model;
  const cfg = model.config;
  const L = lens.translators.length;
  const d = cfg.dModel;
  const g = new Graph();
  const weights = new WeightInputs(g, model.weights);
  const hiddenName = (i: number): string => `h_${i}`;
  const hs = Array.from({ length: L }, (_, i) => g.input(hiddenName(i), 'float32', [B, tb, d]));
  const posWeights = g.input(POSITION_WEIGHTS, 'float32', [B, tb]);

  const params: Value[] = [];
  const rows = hs.map((h, i) =>
    g.scope(`lens.${i}`, () => {
      const t = lens.translators[i]!;
      const w = paramInput(g, translatorWeightName(i), t.weight.shape);
      const b = t.bias ? paramInput(g, translatorBiasName(i), t.bias.shape) : null;
      if (!options.biasOnly) params.push(w);
      if (b) params.push(b);
      return op.reshape(op.add(h, op.linear(h, w, b)), [1, B, tb, d]);
    }),
  );
  const logits = unembed(cfg, weights, op.concat(rows, 0));
  const logq = op.logSoftmax(logits);
  let losses: Value;
  let grads: Value[];
  if (options.loss === 'kl') {
    // KL(final ‖ lens) at the same position (shift 0); the target carries no gradient.
    const final = g.input(FINAL_HIDDEN, 'float32', [B, tb, d]);
    const logp = op.stopGradient(op.reshape(op.logSoftmax(unembed(cfg, weights, final)), [1, B, tb, cfg.vocabSize]));
    const p = op.exp(logp);
    const perPosition = op.reduceSum(op.mul(p, op.sub(logp, logq)), [-1]);
    losses = op.reduceSum(op.mul(perPosition, posWeights), [1, 2]);
    // d KL(p ‖ softmax(z)) / dz = softmax(z) − p: seeding the backward pass at the logits with it saves
    // several full [L, B, tb, vocab] passes over differentiating log-softmax and the KL sum generically.
    const seed = op.mul(op.sub(op.exp(logq), p), op.reshape(posWeights, [1, B, tb, 1]));
    grads = gradients(logits, params, seed);
  } else {
    // Next-token cross-entropy (shift 1): ids of the following position, weight 0 where there is none.
    const next = op.expand(g.input(NEXT_IDS, 'int64', [B, tb]), [L, B, tb]);
    losses = op.reduceSum(op.mul(op.neg(op.gatherLast(logq, next)), posWeights), [1, 2]);
    grads = gradients(op.reduceSum(losses, [0]), params);
  }
  const outputs: Record<string, Value> = { [LOSSES]: losses };
  const gradWeightName = (i: number): string => `grad_w_${i}`;
  const gradBiasName = (i: number): string => `grad_b_${i}`;
  let k = 0;
  lens.translators.forEach((t, i) => {
    if (!options.biasOnly) outputs[gradWeightName(i)] = grads[k++]!;
    if (t.bias) outputs[gradBiasName(i)] = grads[k++]!;
  });
  return { g, weights, outputs, hiddenName, gradWeightName, gradBiasName };
}

/** Positions per block so that one [L, B, tb, vocab] tensor stays within `bytes`. */
export function trainingBlockPositions(L: number, B: number, V: number, T: number, bytes = 96e6): number {
  return Math.max(1, Math.min(T, Math.floor(bytes / (4 * L * B * V))));
}
