/**
 * Applying a lens at a layer to an arbitrary hidden-state value of a graph (an ablated copy of
 * hidden_states[i], not the stream itself): the lens-rows engine's graph-level `lensLayerLogits`.
 */
import { Graph, type Value } from '../graph/graph.js';
import { lensLayerLogits, type Lens } from '../lens/lens.js';
import { WeightInputs } from '../models/transformer.js';

/** Lens logits of `h` [..., d] for layer `layer`: translator (if any), final norm, unembedding. */
export function lensLogitsOf(lens: Lens, weights: WeightInputs, h: Value, layer: number): Value {
  return lensLayerLogits(lens, weights, h, layer);
}

/** A new graph with the model's weights available as inputs (declared on first use). */
export function lensGraph(lens: Lens): { g: Graph; weights: WeightInputs } {
  const g = new Graph();
  return { g, weights: new WeightInputs(g, lens.model.weights) };
}
