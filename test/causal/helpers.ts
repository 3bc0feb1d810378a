/** Shared pieces of the causal tests: CE, KL and max logit change of edited logits, in float64. */
import type { LanguageModel } from '../../src/models/language-model.js';
import { TunedLens, type Lens } from '../../src/lens/lens.js';
import { W } from '../../src/models/load-weights.js';

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

/**
 * Log-probs of one residual vector h [d] through lens layer `layer`, all in float64 and independent of the
 * compute graph: translator (h + W h + b for a tuned lens), RMS final norm, unembedding, log-softmax.
 * Llama-family models without a head bias (stories260K).
 */
export function lensLogProbs64(lens: Lens, layer: number, h: ArrayLike<number>): Float64Array {
  const model = lens.model;
  const d = model.config.dModel;
  const head = model.weights.get(W.lmHead)!;
  const g = model.weights.get(W.finalNormW)!.data;
  const eps = model.config.norm.eps;
  const V = head.shape[0]!;
  const tr = lens instanceof TunedLens ? lens.translators[layer]! : null;
  const a = Float64Array.from(h);
  if (tr) {
    for (let i = 0; i < d; i++) {
      let s = tr.bias ? tr.bias.data[i]! : 0;
      for (let j = 0; j < d; j++) s += tr.weight.data[i * d + j]! * h[j]!;
      a[i] += s;
    }
  }
  const ms = a.reduce((s, x) => s + x * x, 0) / d;
  const r = 1 / Math.sqrt(ms + eps);
  const z = new Float64Array(V);
  for (let t = 0; t < V; t++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += head.data[t * d + j]! * a[j]! * r * g[j]!;
    z[t] = s;
  }
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
}

/** KL(p ‖ q) of two log-prob vectors, float64. */
export function kl64(lp: Float64Array, lq: Float64Array): number {
  let s = 0;
  for (let k = 0; k < lp.length; k++) s += Math.exp(lp[k]!) * (lp[k]! - lq[k]!);
  return s;
}
