/** Shared pieces of the causal tests: CE, KL and max logit change of edited logits, in float64. */
import type { LanguageModel } from '../../src/models/language-model.js';

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
