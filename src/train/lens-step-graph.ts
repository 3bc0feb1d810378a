/**
 * One training micro-batch as a single graph: the frozen model forward, the KL (or CE) loss of every
 * lens layer, and each layer's gradient right after its own loss. Emitting row i's backward before row
 * i+1's forward lets onnxruntime free each layer's [B, T, vocab] buffers early (the reference runs its
 * per-layer backward sequentially for the same reason).
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { gradients } from '../graph/autodiff.js';
import { paramInput, translatorBiasName, translatorWeightName, type TunedLens } from '../lens/lens.js';
import type { ModelGraph } from '../models/language-model.js';
import { unembed } from '../models/transformer.js';

export type LensLoss = 'kl' | 'ce';

export interface StepGraphOptions {
  loss: LensLoss;
  /** Train only the biases (the paper's bias-only lens). */
  biasOnly: boolean;
}

export interface StepGraphOutputs {
  outputs: Record<string, Value>;
  /** Output names: loss of layer i, gradient of its weight and bias. */
  lossName: (i: number) => string;
  gradWeightName: (i: number) => string;
  gradBiasName: (i: number) => string;
}

export function buildLensStepGraph(lens: TunedLens, mg: ModelGraph, options: StepGraphOptions): StepGraphOutputs {
  const { g, forward, ids } = mg;
  const cfg = lens.model.config;
  const [B, T] = ids.shape as [number, number];
  const outputs: Record<string, Value> = {};
  const lossName = (i: number): string => `loss_${i}`;
  const gradWeightName = (i: number): string => `grad_w_${i}`;
  const gradBiasName = (i: number): string => `grad_b_${i}`;

  // Targets carry no gradient: the model is frozen.
  const targetLogp = options.loss === 'kl' ? op.stopGradient(op.logSoftmax(forward.logits)) : null;
  const nextIds = options.loss === 'ce' ? op.slice(ids, 1, 1, T) : null;

  for (let i = 0; i < lens.translators.length; i++) {
    g.scope(`lens.${i}`, () => {
      const t = lens.translators[i]!;
      const w = paramInput(g, translatorWeightName(i), t.weight.shape);
      const b = t.bias ? paramInput(g, translatorBiasName(i), t.bias.shape) : null;
      const h = forward.hiddenStates[i]!;
      const logq = op.logSoftmax(unembed(cfg, mg.weights, op.add(h, op.linear(h, w, b))));
      let loss: Value;
      if (targetLogp) {
        // KL(final ‖ lens) at the same position (shift 0), mean over batch and positions.
        const kl = op.reduceSum(op.mul(op.exp(targetLogp), op.sub(targetLogp, logq)), [-1]);
        loss = op.reduceMean(kl, [0, 1]);
      } else {
        // Next-token cross-entropy (shift 1).
        const nll = op.neg(op.gatherLast(op.slice(logq, 1, 0, T - 1), nextIds!));
        loss = op.reduceMean(nll, [0, 1]);
      }
      outputs[lossName(i)] = loss;
      const wrt = [...(options.biasOnly ? [] : [w]), ...(b ? [b] : [])];
      const grads = gradients(loss, wrt);
      let k = 0;
      if (!options.biasOnly) outputs[gradWeightName(i)] = grads[k++]!;
      if (b) outputs[gradBiasName(i)] = grads[k++]!;
    });
  }
  void B;
  return { outputs, lossName, gradWeightName, gradBiasName };
}
