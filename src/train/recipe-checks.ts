/**
 * Checks of a training recipe that need no model run: does the data cover the requested steps (computed once,
 * before anything is written, with flags that would fit), and did a finished run collapse (every layer's
 * translator ignores its input, so all layers have the same loss).
 */

export interface DataRequirement {
  /** Sequences per optimizer step (tokens per step / sequence length). */
  sequencesPerStep: number;
  /** Sequences the whole run consumes (each is used once). */
  sequences: number;
  tokens: number;
}

export interface RecipeShape {
  numSteps: number;
  tokensPerStep: number;
  seqLen: number;
}

/** What `numSteps × tokensPerStep` needs in sequences of `seqLen`; throws when tokens per step is not a multiple. */
export function dataRequirement(r: RecipeShape): DataRequirement {
  if (!Number.isInteger(r.tokensPerStep / r.seqLen)) {
    const lower = Math.max(1, Math.floor(r.tokensPerStep / r.seqLen)) * r.seqLen;
    throw new RecipeError(`--tokens-per-step (${r.tokensPerStep}) must be a multiple of the sequence length ${r.seqLen}; for example --tokens-per-step ${lower}`);
  }
  const perStep = r.tokensPerStep / r.seqLen;
  return { sequencesPerStep: perStep, sequences: r.numSteps * perStep, tokens: r.numSteps * r.tokensPerStep };
}

export class RecipeError extends Error {
  override name = 'RecipeError';
}

/**
 * Null when `available` sequences of `seqLen` tokens cover the recipe, else a message that states the need and
 * lists flag sets that fit the data: fewer steps, smaller steps, or both.
 */
export function dataShortfall(r: RecipeShape, available: number, source: string): string | null {
  const need = dataRequirement(r);
  if (available >= need.sequences) return null;
  const fits: string[] = [];
  const steps = Math.floor(available / need.sequencesPerStep);
  if (steps >= 1) fits.push(`--num-steps ${steps}`);
  const perStep = Math.floor(available / r.numSteps);
  if (perStep >= 1) fits.push(`--tokens-per-step ${perStep * r.seqLen}`);
  if (available >= 1) {
    // Both smaller, about as many steps as sequences per step.
    const s = Math.min(r.numSteps, Math.max(1, Math.floor(Math.sqrt(available))));
    const p = Math.min(need.sequencesPerStep, Math.floor(available / s));
    const flags = `--num-steps ${s} --tokens-per-step ${p * r.seqLen}`;
    if (p >= 1 && !fits.includes(flags)) fits.push(flags);
  }
  return (
    `${source} gives ${available} sequences of ${r.seqLen} tokens (${available * r.seqLen} tokens), but ${r.numSteps} steps × ` +
    `${r.tokensPerStep} tokens need ${need.sequences} sequences (${need.tokens} tokens); each sequence is used once.\n` +
    (fits.length ? `Flags that fit this data (with --seq-len ${r.seqLen}): ${fits.map((f) => `"${f}"`).join(' or ')}; or supply more text.` : 'Supply more text.')
  );
}

/**
 * Null for a healthy run, else why the lens collapsed: with more than one layer, the final per-layer losses are all
 * equal (relative spread below 1e-5), i.e. every translator maps its input to the same output.
 */
export function collapseProblem(finalLosses: readonly number[]): string | null {
  if (finalLosses.length < 2) return null;
  const lo = Math.min(...finalLosses);
  const hi = Math.max(...finalLosses);
  if (!(hi - lo <= 1e-5 * Math.max(1, Math.abs(hi)))) return null;
  return `the lens collapsed: all ${finalLosses.length} layers end with the same loss ${hi.toPrecision(6)}, so the translators ignore the hidden states`;
}
