/**
 * Ranking metrics for detectors: AUROC (the Mann–Whitney statistic, ties counted half, as sklearn's
 * `roc_auc_score`), the ROC curve with tied scores merged into one step, and a seeded bootstrap 95%
 * interval as in the reference's removed `bootstrap_auroc` (resample all examples with replacement,
 * recompute, take the 2.5 / 97.5 percentiles). Label 1 = positive (anomalous); higher score = more
 * positive. A set without both classes has no AUROC: `null`.
 */
import { SeededRandom } from './random.js';

/** AUROC = P(score of a random positive > score of a random negative) + ½ P(tie); null without both classes. */
export function auroc(labels: readonly number[], scores: readonly number[]): number | null {
  if (labels.length !== scores.length) throw new Error(`auroc: ${labels.length} labels but ${scores.length} scores`);
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Average ranks (1-based) over groups of tied scores.
  const ranks = new Float64Array(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = avg;
    i = j + 1;
  }
  let nPos = 0;
  let rankSum = 0;
  labels.forEach((l, i) => {
    if (l === 1) {
      nPos++;
      rankSum += ranks[i]!;
    } else if (l !== 0) throw new Error(`auroc: labels must be 0 or 1, got ${l}`);
  });
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  /** Examples with score ≥ threshold are called positive (Infinity for the (0, 0) start). */
  threshold: number;
}

/** The ROC curve from (0, 0) to (1, 1), one point per distinct score (highest first); [] without both classes. */
export function rocCurve(labels: readonly number[], scores: readonly number[]): RocPoint[] {
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return [];
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    while (i < order.length && scores[order[i]!] === s) {
      if (labels[order[i]!] === 1) tp++;
      else fp++;
      i++;
    }
    points.push({ fpr: fp / nNeg, tpr: tp / nPos, threshold: s });
  }
  return points;
}

/** numpy's default ("linear") percentile of sorted values, q in [0, 100]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface BootstrapResult {
  /** [2.5th, 97.5th] percentile of the resampled AUROCs; null when no resample had both classes. */
  ci95: [number, number] | null;
  /** Resamples drawn. */
  samples: number;
  /** Resamples that lacked one class and were skipped (sklearn would raise on them). */
  skipped: number;
}

/** Seeded percentile bootstrap of the AUROC: `samples` resamples of all examples with replacement. */
export function bootstrapAuroc(labels: readonly number[], scores: readonly number[], options: { samples?: number; seed?: number } = {}): BootstrapResult {
  const samples = options.samples ?? 1000;
  const rng = new SeededRandom(options.seed ?? 0);
  const n = labels.length;
  const values: number[] = [];
  let skipped = 0;
  const l = new Array<number>(n);
  const s = new Array<number>(n);
  for (let b = 0; b < samples; b++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      l[i] = labels[j]!;
      s[i] = scores[j]!;
    }
    const a = n > 0 ? auroc(l, s) : null;
    if (a === null) skipped++;
    else values.push(a);
  }
  values.sort((a, b) => a - b);
  return { ci95: values.length ? [percentile(values, 2.5), percentile(values, 97.5)] : null, samples, skipped };
}
