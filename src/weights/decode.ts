/**
 * Decoding a residual-space *direction* (not a hidden state) to tokens: the translator's linear part
 * (I + W, no bias), the final norm's weight (no normalisation, no norm bias), OPT's project_out, the
 * output head (no bias), top-k. Every step is linear, so the ranking is the same for any positive
 * multiple of the vector. This is the one place that does it, so it can move onto a shared lens-rows
 * engine without touching the analysis.
 */
import { Graph } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Translator } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { W } from '../models/load-weights.js';
import { WeightInputs } from '../models/transformer.js';

/** At most this many logits per graph run (rows × vocabulary), to bound memory. */
const MAX_LOGITS_PER_RUN = 1 << 24;

/**
 * Top-`k` token ids [n × k] (best first) of `n` directions stored row-major in `vectors` [n, d],
 * decoded through `translator` (null: the logit lens).
 */
export async function decodeDirections(model: LanguageModel, translator: Translator | null, vectors: Float32Array, n: number, k: number): Promise<Int32Array> {
  const cfg = model.config;
  const d = cfg.dModel;
  if (vectors.length !== n * d) throw new Error(`decodeDirections: ${vectors.length} floats for ${n} vectors of ${d}`);
  const out = new Int32Array(n * k);
  if (n === 0) return out;
  const rows = Math.max(1, Math.min(n, Math.floor(MAX_LOGITS_PER_RUN / cfg.vocabSize)));
  // One graph for every chunk (the last one is zero-padded), so one compiled session serves them all.
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const x = g.input('directions', 'float32', [rows, d]);
  let h = x;
  if (translator) h = op.add(x, op.linear(x, g.input('translator.w', 'float32', [d, d])));
  const normW = w.get(W.finalNormW);
  h = op.mul(h, cfg.norm.kind === 'rmsnorm' && cfg.norm.weightOffset ? op.add(normW, cfg.norm.weightOffset) : normW);
  if (cfg.projectInOut) h = op.linear(h, w.get(W.projectOut));
  const logits = op.linear(h, w.get(W.lmHead));
  const [, ids] = op.topK(logits, k);
  const compiled = await model.runtime.compile({ ids });
  const feeds: Record<string, Float32Array> = { ...w.feeds() };
  if (translator) feeds['translator.w'] = translator.weight.data as Float32Array;
  for (let start = 0; start < n; start += rows) {
    const count = Math.min(rows, n - start);
    const chunk = new Float32Array(rows * d);
    chunk.set(vectors.subarray(start * d, (start + count) * d));
    const r = await compiled.run({ ...feeds, directions: chunk });
    const got = r.ids!.data as BigInt64Array;
    for (let i = 0; i < count * k; i++) out[start * k + i] = Number(got[i]!);
  }
  return out;
}
