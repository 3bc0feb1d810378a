/**
 * Reading a direction as tokens: a direction is not a point, so it goes through the linear part of the
 * lens only — the translator's (I + W_i) without bias, the final norm's weight (no normalisation, no
 * bias) and the unembedding (no bias) — and both +v and −v are shown.
 */
import { TunedLens, type Lens } from '../lens/lens.js';
import { W } from '../models/load-weights.js';

export interface DirectionTokens {
  /** Top token ids for +v and for −v, best first, with their logit scores. */
  positive: { id: number; score: number }[];
  negative: { id: number; score: number }[];
}

/** The logit change per unit of v at layer `layer`: W_U diag(g) (I + W_i) v, [vocab]. */
export function directionLogits(lens: Lens, layer: number, v: ArrayLike<number>): Float64Array {
  const model = lens.model;
  const d = model.config.dModel;
  let u = Float64Array.from(v);
  if (lens instanceof TunedLens) {
    const w = lens.translators[layer]!.weight.data;
    const t = Float64Array.from(u);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += w[i * d + j]! * u[j]!;
      t[i] += s;
    }
    u = t;
  }
  const g = model.weights.get(W.finalNormW)?.data;
  const offset = model.config.norm.weightOffset ?? 0;
  if (g) u = u.map((x, i) => x * (offset + g[i]!));
  const head = model.weights.get(W.lmHead)!;
  const V = head.shape[0]!;
  const out = new Float64Array(V);
  for (let t = 0; t < V; t++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += head.data[t * d + j]! * u[j]!;
    out[t] = s;
  }
  return out;
}

export function directionTokens(lens: Lens, layer: number, v: ArrayLike<number>, topK = 10): DirectionTokens {
  const logits = directionLogits(lens, layer, v);
  const ids = Array.from(logits.keys());
  const top = (sign: number): { id: number; score: number }[] =>
    [...ids].sort((a, b) => sign * (logits[b]! - logits[a]!)).slice(0, topK).map((id) => ({ id, score: sign * logits[id]! }));
  return { positive: top(1), negative: top(-1) };
}
