/**
 * Lenses: a per-layer transform of a hidden state followed by the model's own unembedding (final norm
 * exactly once, then the output head). The logit lens transforms nothing; the tuned lens adds an affine
 * translator `h + h Wᵀ + b` per layer. Translator i applies to HF hidden_states[i], i = 0..L-1.
 */
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { HostTensor } from '../formats/weights.js';
import type { LanguageModel, ModelGraph } from '../models/language-model.js';
import { unembed, type WeightInputs } from '../models/transformer.js';

export interface Translator {
  /** [d, d], PyTorch Linear layout (y = x Wᵀ + b). */
  weight: HostTensor;
  /** [d], or null for a bias-free lens. */
  bias: HostTensor | null;
}

/** One trainable tensor of a lens, under the graph-input name its layer declares. */
export interface LensParameter {
  /** Graph input name, e.g. "lens.3.weight". */
  name: string;
  layer: number;
  role: 'weight' | 'bias';
  /** Updated in place by training; fed as-is on every run. */
  tensor: HostTensor;
}

export interface LensLayerOptions {
  /**
   * Apply only the linear part of the translator, h + h Wᵀ (no bias): the map of directions, not of
   * points, in the residual space (a difference of two hidden states, a basis vector).
   */
  linearOnly?: boolean;
}

export interface Lens {
  readonly kind: 'logit' | 'tuned';
  readonly model: LanguageModel;
  /** The translated hidden state for layer `layer` (declares the lens parameters it needs in h's graph). */
  transformHidden(h: Value, layer: number, options?: LensLayerOptions): Value;
  /** The lens's tensors in a fixed order (per layer: weight, then bias); empty for the logit lens. */
  parameters(): LensParameter[];
  /** Feeds for the lens parameters declared by transformHidden. */
  feeds(): Record<string, Float32Array>;
}

export class LogitLens implements Lens {
  readonly kind = 'logit';
  constructor(readonly model: LanguageModel) {}
  transformHidden(h: Value): Value {
    return h;
  }
  parameters(): LensParameter[] {
    return [];
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

  transformHidden(h: Value, layer: number, options: LensLayerOptions = {}): Value {
    const t = this.translators[layer]!;
    const w = paramInput(h.graph, translatorWeightName(layer), t.weight.shape);
    const b = t.bias && !options.linearOnly ? paramInput(h.graph, translatorBiasName(layer), t.bias.shape) : null;
    return op.add(h, op.linear(h, w, b));
  }

  parameters(): LensParameter[] {
    return this.translators.flatMap((t, layer) => [
      { name: translatorWeightName(layer), layer, role: 'weight' as const, tensor: t.weight },
      ...(t.bias ? [{ name: translatorBiasName(layer), layer, role: 'bias' as const, tensor: t.bias }] : []),
    ]);
  }

  feeds(): Record<string, Float32Array> {
    return Object.fromEntries(this.parameters().map((p) => [p.name, p.tensor.data]));
  }
}

/** A graph input for a lens parameter, declared once per graph. */
export function paramInput(g: Graph, name: string, shape: readonly number[]): Value {
  return g.inputs.get(name) ?? g.input(name, 'float32', shape);
}

/**
 * Lens layer `layer` applied to any residual-space value `h` ([..., d]: hidden states, edited hidden
 * states, bare directions), then the model's unembedding (final norm, OPT's project_out, output head):
 * logits [..., vocab]. `weights` are the model weights declared in h's graph. With `linearOnly`, only the
 * translator's linear part h + h Wᵀ is applied (no bias). The logit lens is the unembedding alone.
 */
export function lensLayerLogits(lens: Lens, weights: WeightInputs, h: Value, layer: number, options: LensLayerOptions = {}): Value {
  return unembed(lens.model.config, weights, lens.transformHidden(h, layer, options));
}

/** Lens logits for layer `layer` of the model graph (0..L-1). */
export function lensLogits(lens: Lens, mg: ModelGraph, layer: number): Value {
  const h = mg.forward.hiddenStates[layer]!;
  return mg.g.scope(`lens.${layer}`, () => lensLayerLogits(lens, mg.weights, h, layer));
}

// Full log-probabilities of every layer are one reduction of the lens-rows engine; re-exported here,
// where callers have always found them.
export { lensLogProbs, type LensLogProbs } from './rows.js';
