/**
 * Scoring answer choices with the lens at every layer (difficulty and overthinking): a choice's score at a
 * row is the summed log-probability of its tokens after the prompt, teacher-forced, optionally divided by
 * its token count. The choice is appended to the prompt with one space (none when the prompt ends in
 * whitespace or the choice starts with it); its tokens are those of tokenize(prompt + choice) after the
 * longest common prefix with tokenize(prompt), so a merge across the boundary is handled.
 */
import type { Lens } from '../lens/lens.js';
import { layerLogProbsAt } from './layer-log-probs.js';

export interface ChoiceQuestion {
  prompt: string;
  choices: string[];
}

export interface ChoiceScores {
  /** scores[q][row][c]: rows 0..L−1 are lens layers, row L the model output. */
  scores: number[][][];
  /** Tokens scored per choice, [q][c]. */
  tokenCounts: number[][];
}

export class EmptyChoiceError extends Error {
  constructor(
    readonly question: number,
    readonly choice: number,
  ) {
    super(`question ${question}, choice ${choice}: the choice is empty or adds no tokens after the prompt`);
  }
}

export function joinPromptChoice(prompt: string, choice: string): string {
  return /\s$/.test(prompt) || /^\s/.test(choice) || prompt === '' ? prompt + choice : `${prompt} ${choice}`;
}

export async function scoreChoices(
  lens: Lens,
  questions: readonly ChoiceQuestion[],
  options: { lengthNormalize?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<ChoiceScores> {
  const model = lens.model;
  const V = model.config.vocabSize;
  const R = model.nLayers + 1;
  const seqs: number[][] = [];
  const spans: { q: number; c: number; start: number; targets: number[] }[] = [];
  questions.forEach((qu, q) => {
    const p = model.encode(qu.prompt);
    qu.choices.forEach((choice, c) => {
      if (choice.trim() === '') throw new EmptyChoiceError(q, c);
      const full = model.encode(joinPromptChoice(qu.prompt, choice));
      let lcp = 0;
      while (lcp < p.length && lcp < full.length && p[lcp] === full[lcp]) lcp++;
      if (lcp >= full.length) throw new EmptyChoiceError(q, c);
      lcp = Math.max(lcp, 1); // the first token (BOS) is never predicted
      seqs.push(full);
      spans.push({ q, c, start: lcp, targets: full.slice(lcp) });
    });
  });
  // Position t predicts token t + 1: the choice's tokens at lcp.. are predicted at lcp−1 ...
  const positions = spans.map((s) => s.targets.map((_, k) => s.start - 1 + k));
  const logp = await layerLogProbsAt(lens, seqs, positions, { onProgress: options.onProgress });
  const scores = questions.map((qu) => Array.from({ length: R }, () => new Array<number>(qu.choices.length).fill(0)));
  const tokenCounts = questions.map((qu) => new Array<number>(qu.choices.length).fill(0));
  spans.forEach((s, i) => {
    tokenCounts[s.q]![s.c] = s.targets.length;
    for (let r = 0; r < R; r++) {
      let sum = 0;
      s.targets.forEach((tok, k) => (sum += logp[i]![k]![r * V + tok]!));
      scores[s.q]![r]![s.c] = options.lengthNormalize ? sum / s.targets.length : sum;
    }
  });
  return { scores, tokenCounts };
}

/** Index of the largest value (first on ties). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
