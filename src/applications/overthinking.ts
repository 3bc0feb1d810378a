/**
 * Layer-wise accuracy with true and false demonstrations (paper §5.1, after Halawi et al. 2023,
 * "Overthinking the truth"): few-shot classification prompts whose demonstrations carry correct labels or
 * labels replaced through a seeded derangement of the label set; at every layer the lens's answer is
 * scored by calibrated accuracy.
 *
 * Calibration (Halawi et al.'s): at each layer, each example's probabilities restricted to the label words
 * (softmax over the labels' summed log-probabilities) are divided, label by label, by that label's mean
 * probability over the task, then renormalised; the prediction is the largest. A label the layer favours
 * for every input thus does not win by prior alone.
 */
import type { Lens } from '../lens/lens.js';
import { argmax, scoreChoices } from './choices.js';
import { derangement, SeededRandom } from './random.js';

export interface FewShotExample {
  demos: { text: string; label: string }[];
  query: string;
  label: string;
}

/** The prompt: each demo as "text label" on its own line, then the query (the label follows it). */
export function fewShotPrompt(demos: readonly { text: string; label: string }[], query: string): string {
  return [...demos.map((d) => `${d.text} ${d.label}`), query].join('\n');
}

/** The same examples with every demo label mapped through a seeded derangement of the label set (one per example). */
export function falseDemos(examples: readonly FewShotExample[], labels: readonly string[], seed: number): FewShotExample[] {
  const rng = new SeededRandom(seed);
  return examples.map((ex) => {
    const perm = derangement(labels.length, rng);
    return { ...ex, demos: ex.demos.map((d) => ({ text: d.text, label: labels[perm[labels.indexOf(d.label)]!]! })) };
  });
}

/**
 * Calibrated accuracy of one layer. probs[e][c]: example e's probabilities over the labels (each row sums
 * to 1); gold[e]: the correct label index.
 */
export function calibratedAccuracy(probs: readonly number[][], gold: readonly number[]): number | null {
  const n = probs.length;
  if (n === 0) return null;
  const C = probs[0]!.length;
  const mean = Array.from({ length: C }, (_, c) => probs.reduce((s, p) => s + p[c]!, 0) / n);
  let correct = 0;
  probs.forEach((p, e) => {
    const adjusted = p.map((v, c) => (mean[c]! > 0 ? v / mean[c]! : 0));
    const z = adjusted.reduce((a, b) => a + b, 0);
    if (argmax(adjusted.map((v) => v / z)) === gold[e]) correct++;
  });
  return correct / n;
}

/** Softmax of log-scores. */
export function softmax(logScores: readonly number[]): number[] {
  const m = Math.max(...logScores);
  const e = logScores.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export interface OverthinkingResult {
  /** Calibrated accuracy per row (lens layers 0..L−1, then the output), true demonstrations. */
  trueDemos: (number | null)[];
  falseDemos: (number | null)[];
  n: number;
  labels: string[];
}

export async function overthinking(
  lens: Lens,
  examples: readonly FewShotExample[],
  labels: readonly string[],
  options: { seed?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<OverthinkingResult> {
  if (examples.length === 0) throw new Error('the task has no examples');
  if (labels.length < 2) throw new Error(`need at least 2 label words, got ${labels.length}`);
  examples.forEach((ex, i) => {
    for (const l of [ex.label, ...ex.demos.map((d) => d.label)]) if (!labels.includes(l)) throw new Error(`example ${i}: label "${l}" is not one of the label words (${labels.join(', ')})`);
  });
  const R = lens.model.nLayers + 1;
  const gold = examples.map((ex) => labels.indexOf(ex.label));
  const conditions = [examples, falseDemos(examples, labels, options.seed ?? 0)];
  const total = 2 * examples.length * labels.length;
  const out: (number | null)[][] = [];
  for (const [k, exs] of conditions.entries()) {
    const questions = exs.map((ex) => ({ prompt: fewShotPrompt(ex.demos, ex.query), choices: [...labels] }));
    const { scores } = await scoreChoices(lens, questions, { onProgress: (d) => options.onProgress?.(k * (total / 2) + d, total) });
    out.push(Array.from({ length: R }, (_, r) => calibratedAccuracy(scores.map((s) => softmax(s[r]!)), gold)));
  }
  return { trueDemos: out[0]!, falseDemos: out[1]!, n: examples.length, labels: [...labels] };
}
