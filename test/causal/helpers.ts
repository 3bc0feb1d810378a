/** Shared pieces of the causal tests: an independent forward with an edited block output, and CE/KL in float64. */
import { Graph, type Value } from '../../src/graph/graph.js';
import type { HostData } from '../../src/graph/runtime.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { block, embed, finalNorm, outputHead, positionInputs, WeightInputs } from '../../src/models/transformer.js';

/**
 * Logits of the model with block `layer`'s output y replaced by `edit(g, x, y)` (x = the block input),
 * composed here from the exported forward pieces, independently of the library's intervention plumbing.
 */
export async function editedBlockOutputLogits(
  model: LanguageModel,
  ids: number[][],
  layer: number,
  edit: (g: Graph, x: Value, y: Value) => Value,
  extraFeeds: Record<string, Float32Array> = {},
): Promise<Float32Array> {
  const cfg = model.config;
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const idv = g.input('input_ids', 'int64', [ids.length, ids[0]!.length]);
  const pos = positionInputs(g, cfg, ids.length, ids[0]!.length, false);
  let x = embed(cfg, w, idv, pos);
  for (let i = 0; i < cfg.nLayers; i++) {
    const y = block(cfg, w, i, x, pos);
    x = i === layer ? edit(g, x, y) : y;
  }
  const logits = outputHead(cfg, w, finalNorm(cfg, w, x));
  const all: Record<string, HostData> = { ...w.feeds(), ...model.batchFeeds({ ids }), ...extraFeeds };
  const compiled = await model.runtime.compile({ logits });
  const feeds: Record<string, HostData> = {};
  for (const name of compiled.inputs.keys()) feeds[name] = all[name]!;
  return (await compiled.run(feeds)).logits!.data as Float32Array;
}

const originals = new WeakMap<number[][], Promise<Float32Array>>();
function originalLogits(model: LanguageModel, ids: number[][]): Promise<Float32Array> {
  let p = originals.get(ids);
  if (!p) {
    p = model.forward({ ids }).then((r) => r.logits.data as Float32Array);
    originals.set(ids, p);
  }
  return p;
}

function logSoftmaxRow(row: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

/**
 * Next-token CE of `logits` (mean over every predicted token), KL(original ‖ edited) (mean over all
 * positions) and the max |logit change|, in float64; `logits` null = the unedited model.
 */
export async function logitStats(model: LanguageModel, ids: number[][], logits: Float32Array | null): Promise<{ ce: number; kl: number; maxAbsDiff: number }> {
  const orig = await originalLogits(model, ids);
  const edited = logits ?? orig;
  const V = model.config.vocabSize;
  const T = ids[0]!.length;
  let ce = 0;
  let nCe = 0;
  let kl = 0;
  let maxAbsDiff = 0;
  for (let b = 0; b < ids.length; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * V;
      const lq = logSoftmaxRow(edited.subarray(o, o + V));
      const lp = logSoftmaxRow(orig.subarray(o, o + V));
      for (let v = 0; v < V; v++) {
        kl += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(edited[o + v]! - orig[o + v]!));
      }
      if (t < T - 1) {
        ce -= lq[ids[b]![t + 1]!]!;
        nCe++;
      }
    }
  }
  return { ce: ce / nCe, kl: kl / (ids.length * T), maxAbsDiff };
}
