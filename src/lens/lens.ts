/**
 * Lenses: a per-layer transform of a hidden state followed by the model's own unembedding (final norm
 * exactly once, then the output head). The logit lens transforms nothing; the tuned lens adds an affine
 * translator `h + h Wᵀ + b` per layer. Translator i applies to HF hidden_states[i], i = 0..L-1.
 */
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { HostTensor } from '../formats/weights.js';
import type { HostArray } from '../graph/runtime.js';
import type { LanguageModel, ModelGraph } from '../models/language-model.js';
import type { Batch } from '../models/position-inputs.js';
import { unembed } from '../models/transformer.js';

export interface Translator {
  /** [d, d], PyTorch Linear layout (y = x Wᵀ + b). */
  weight: HostTensor;
  /** [d], or null for a bias-free lens. */
  bias: HostTensor | null;
}

export interface Lens {
  readonly kind: 'logit' | 'tuned';
  readonly model: LanguageModel;
  /** The translated hidden state for layer `layer` (declares the lens parameters it needs in h's graph). */
  transformHidden(h: Value, layer: number): Value;
  /** Feeds for the lens parameters declared by transformHidden. */
  feeds(): Record<string, Float32Array>;
}

export class LogitLens implements Lens {
  readonly kind = 'logit';
  constructor(readonly model: LanguageModel) {}
  transformHidden(h: Value): Value {
    return h;
  }
  feeds(): Record<string, Float32Array> {
    return {};
  }
}

export const translatorWeightName = (i: number): string => `lens.${i}.weight`;
export const translatorBiasName = (i: number): string => `lens.${i}.bias`;

export class TunedLens implements Lens {
  readonly kind = 'tuned';
  constructor(
    readonly model: LanguageModel,
    readonly translators: Translator[],
  ) {
    const d = model.config.dModel;
    if (translators.length !== model.nLayers) {
      throw new Error(`the lens has ${translators.length} translators but ${model.name} has ${model.nLayers} layers`);
    }
    translators.forEach((t, i) => {
      if (t.weight.shape[0] !== d || t.weight.shape[1] !== d) throw new Error(`translator ${i} weight is [${t.weight.shape.join(', ')}], the model needs [${d}, ${d}]`);
      if (t.bias && t.bias.shape[0] !== d) throw new Error(`translator ${i} bias is [${t.bias.shape.join(', ')}], the model needs [${d}]`);
    });
  }

  /** A zero-initialised lens: exactly the logit lens until trained. */
  static identity(model: LanguageModel, bias = true): TunedLens {
    const d = model.config.dModel;
    return new TunedLens(
      model,
      Array.from({ length: model.nLayers }, () => ({ weight: { shape: [d, d], data: new Float32Array(d * d) }, bias: bias ? { shape: [d], data: new Float32Array(d) } : null })),
    );
  }

  get hasBias(): boolean {
    return this.translators.every((t) => t.bias !== null);
  }

  transformHidden(h: Value, layer: number): Value {
    const t = this.translators[layer]!;
    const w = paramInput(h.graph, translatorWeightName(layer), t.weight.shape);
    const b = t.bias ? paramInput(h.graph, translatorBiasName(layer), t.bias.shape) : null;
    return op.add(h, op.linear(h, w, b));
  }

  feeds(): Record<string, Float32Array> {
    const f: Record<string, Float32Array> = {};
    this.translators.forEach((t, i) => {
      f[translatorWeightName(i)] = t.weight.data;
      if (t.bias) f[translatorBiasName(i)] = t.bias.data;
    });
    return f;
  }
}

/** A graph input for a lens parameter, declared once per graph. */
export function paramInput(g: Graph, name: string, shape: readonly number[]): Value {
  return g.inputs.get(name) ?? g.input(name, 'float32', shape);
}

/** Lens logits for layer `layer` of the model graph (0..L-1). */
export function lensLogits(lens: Lens, mg: ModelGraph, layer: number): Value {
  const h = mg.forward.hiddenStates[layer]!;
  return mg.g.scope(`lens.${layer}`, () => unembed(lens.model.config, mg.weights, lens.transformHidden(h, layer)));
}

export interface LensLogProbs {
  /** L arrays [B, T, vocab]: log-softmax of the lens at hidden_states[0..L-1]. */
  layers: HostArray[];
  /** [B, T, vocab]: log-softmax of the model's own logits (the "output" row). */
  output: HostArray;
}

/**
 * Full log-probabilities of every lens layer and of the model. Holds L × B × T × vocab floats: for
 * long inputs or large vocabularies use the trajectory statistics, which reduce inside the graph.
 */
export async function lensLogProbs(lens: Lens, batch: Batch): Promise<LensLogProbs> {
  const model = lens.model;
  const mg = model.buildGraph(batch);
  const outputs: Record<string, Value> = { output: op.logSoftmax(mg.forward.logits) };
  for (let i = 0; i < model.nLayers; i++) outputs[`layer_${i}`] = op.logSoftmax(lensLogits(lens, mg, i));
  const r = await model.run(mg, outputs, lens.feeds());
  return { layers: Array.from({ length: model.nLayers }, (_, i) => r[`layer_${i}`]!), output: r.output! };
}
