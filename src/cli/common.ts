/** Pieces shared by CLI commands: model loading with progress, input parsing, number formatting. */
import { cliDownloadProgress } from '../hub/progress.js';
import type { LanguageModel } from '../models/language-model.js';
import { DEFAULT_MODEL, loadModel } from '../node/load-model.js';

export const MODEL_OPTION_HELP = `model: a local HF folder (config.json + *.safetensors + tokenizer.json), a llama2.c .bin file or folder, a Hub id org/name[@revision], or "${DEFAULT_MODEL}"`;

/** A user-facing error: printed without a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

export async function loadModelForCli(spec: string | undefined): Promise<LanguageModel> {
  const progress = cliDownloadProgress();
  try {
    return await loadModel(spec ?? DEFAULT_MODEL, { onProgress: progress });
  } finally {
    progress.stop();
  }
}

/** Exactly one input: text or `--ids` (checked before the model is loaded, so the mistake fails fast). */
export function checkInputGiven(text: string | undefined, ids: string | undefined): void {
  if (text !== undefined && ids !== undefined) throw new CliError('give either text or --ids, not both');
  if (text === undefined && ids === undefined) throw new CliError('give the input text as an argument, or token ids with --ids');
}

/**
 * Token ids from `--ids 1,5,9` or from text through the model's tokenizer, checked like the viewer checks a prompt:
 * every id inside the vocabulary, and no more tokens than the model's context (a longer input would run on
 * positions the model never saw, and print numbers without meaning).
 */
export function inputIds(model: LanguageModel, text: string | undefined, ids: string | undefined): number[] {
  checkInputGiven(text, ids);
  let out: number[];
  if (ids !== undefined) {
    out = ids.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
    if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v < 0)) throw new CliError(`--ids must be a comma-separated list of non-negative integers, got "${ids}"`);
    const V = model.config.vocabSize;
    const outside = out.filter((v) => v >= V);
    if (outside.length) throw new CliError(`--ids: token id${outside.length > 1 ? 's' : ''} ${outside.slice(0, 5).join(', ')} ${outside.length > 1 ? 'are' : 'is'} outside the vocabulary of ${model.name} (0..${V - 1})`);
  } else {
    out = model.encode(text!);
    if (out.length === 0) throw new CliError('the input text produced no tokens');
  }
  const limit = model.config.maxPositions;
  if (out.length > limit) {
    throw new CliError(`the input is ${out.length} tokens long, but ${model.name} takes at most ${limit} tokens (its context length); shorten it by ${out.length - limit} tokens`);
  }
  return out;
}

/** `--top-k` against the vocabulary: asking for more tokens than exist is a mistake, not a request to pad. */
export function checkTopK(model: LanguageModel, topK: number): void {
  const V = model.config.vocabSize;
  if (topK > V) throw new CliError(`--top-k ${topK} is more than the ${V} tokens in the vocabulary of ${model.name}`);
}

/** The shortest decimal that reads back to the same float32 (like the golden files). */
export function float32Repr(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

export function parsePositiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}
