/**
 * Applying a lens at a layer to an arbitrary hidden-state value of a graph (an ablated copy of
 * hidden_states[i], not the stream itself). The one place the causal analyses touch the lens, so the
 * shared lens-rows engine can replace it without changing the analyses.
 */
import { Graph, type Value } from '../graph/graph.js';
import type { Lens } from '../lens/lens.js';
import { unembed, WeightInputs } from '../models/transformer.js';

/** Lens logits of `h` [..., d] for layer `layer`: translator (if any), final norm, unembedding. */
export function lensLogitsOf(lens: Lens, weights: WeightInputs, h: Value, layer: number): Value {
  return unembed(lens.model.config, weights, lens.transformHidden(h, layer));
}

/** A new graph with the model's weights available as inputs (declared on first use). */
export function lensGraph(lens: Lens): { g: Graph; weights: WeightInputs } {
  const g = new Graph();
  return { g, weights: new WeightInputs(g, lens.model.weights) };
}
