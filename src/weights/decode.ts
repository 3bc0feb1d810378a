/**
 * Decoding a residual-space *direction* (not a hidden state) to tokens: the translator's linear part
 * (I + W, no bias: the lens's own `linearOnly` transform), the final norm's weight (no normalisation, no
 * norm bias), OPT's project_out, the output head (no bias), top-k. Every step is linear, so the ranking
 * is the same for any positive multiple of the vector. The lens-rows engine's `lensLayerLogits(…,
 * { linearOnly })` applies the whole final norm instead: the same ranking for RMSNorm, but LayerNorm
 * would centre the direction and add its bias (a pull towards the same tokens for every vector), which
 * App. E's recipe (the norm's weight only) leaves out.
 */
import { Graph } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { W } from '../models/load-weights.js';
import { WeightInputs } from '../models/transformer.js';

/** At most this many logits per graph run (rows × vocabulary), to bound memory. */
const MAX_LOGITS_PER_RUN = 1 << 24;

/** Rows per graph run: fixed, so one compiled graph per translator serves every source size. */
function rowsPerRun(vocabSize: number): number {
  return Math.max(1, Math.min(1024, Math.floor(MAX_LOGITS_PER_RUN / vocabSize)));
}

/**
 * Top-`k` token ids [n × k] (best first) of `n` directions stored row-major in `vectors` [n, d],
 * decoded through translator `layer` of `lens` (null: no translator, the output head alone).
 */
export async function decodeDirections(model: LanguageModel, lens: Lens, layer: number | null, vectors: Float32Array, n: number, k: number): Promise<Int32Array> {
  const cfg = model.config;
  const d = cfg.dModel;
  if (vectors.length !== n * d) throw new Error(`decodeDirections: ${vectors.length} floats for ${n} vectors of ${d}`);
  const out = new Int32Array(n * k);
  if (n === 0) return out;
  const rows = rowsPerRun(cfg.vocabSize);
  // One graph for every chunk (the last one is zero-padded), so one compiled session serves them all.
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const x = g.input('directions', 'float32', [rows, d]);
  let h = layer === null ? x : lens.transformHidden(x, layer, { linearOnly: true });
  const normW = w.get(W.finalNormW);
  h = op.mul(h, cfg.norm.kind === 'rmsnorm' && cfg.norm.weightOffset ? op.add(normW, cfg.norm.weightOffset) : normW);
  if (cfg.projectInOut) h = op.linear(h, w.get(W.projectOut));
  const logits = op.linear(h, w.get(W.lmHead));
  const [, ids] = op.topK(logits, k);
  const compiled = await model.runtime.compile({ ids });
  const feeds: Record<string, Float32Array> = { ...w.feeds(), ...lens.feeds() };
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
