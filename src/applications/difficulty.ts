/**
 * Example difficulty (paper §5.3, Table 2): for a multiple-choice task, each example's prediction depth
 * (the layer from which the lens's preferred choice stays the final model's choice) against its
 * "iteration learned" (the earliest checkpoint from which the model answers correctly at every later
 * checkpoint), compared by Spearman's ρ.
 */
import type { Lens } from '../lens/lens.js';
import { argmax, scoreChoices, type ChoiceQuestion } from './choices.js';
import { predictionDepth } from './depth.js';

export interface MultipleChoiceExample extends ChoiceQuestion {
  answer: number;
}

/** Average ranks (1-based), ties sharing the mean of their positions. */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's ρ = Pearson correlation of the average ranks (scipy's definition); null when either side is constant or n < 2. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length) throw new Error(`spearman: ${a.length} vs ${b.length} values`);
  const n = a.length;
  if (n < 2) return null;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? null : sab / Math.sqrt(saa * sbb);
}

/**
 * correct[k][e]: whether checkpoint k answers example e correctly. Iteration learned = the earliest k from
 * which every later checkpoint is correct; K (the number of checkpoints) when the last one is wrong.
 */
export function iterationLearned(correct: readonly (readonly boolean[])[]): number[] {
  const K = correct.length;
  if (K === 0) throw new Error('no checkpoints');
  return correct[0]!.map((_, e) => {
    let k = K;
    while (k > 0 && correct[k - 1]![e]) k--;
    return k;
  });
}

export interface ChoiceDepths {
  /** The final model's choice per example (argmax of its output scores). */
  finalChoice: number[];
  /** Depth per example: layers whose preferred choice equals the final choice from there on. */
  depth: number[];
}

/** Per example: the lens's preferred choice at every layer, and its depth against the model's own choice. */
export async function choiceDepths(lens: Lens, examples: readonly ChoiceQuestion[], options: { lengthNormalize?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<ChoiceDepths> {
  const L = lens.model.nLayers;
  const { scores } = await scoreChoices(lens, examples, options);
  const finalChoice = scores.map((s) => argmax(s[L]!));
  const depth = scores.map((s, e) => predictionDepth(s.slice(0, L).map(argmax), finalChoice[e]!));
  return { finalChoice, depth };
}

/** The model's own choice per example (its output row), e.g. at each checkpoint. */
export async function modelChoices(lens: Lens, examples: readonly ChoiceQuestion[], options: { lengthNormalize?: boolean } = {}): Promise<number[]> {
  const L = lens.model.nLayers;
  const { scores } = await scoreChoices(lens, examples, options);
  return scores.map((s) => argmax(s[L]!));
}
