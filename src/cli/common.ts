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

/** Token ids from `--ids 1,5,9` or from text through the model's tokenizer. */
export function inputIds(model: LanguageModel, text: string | undefined, ids: string | undefined): number[] {
  if (ids !== undefined) {
    const parsed = ids.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
    if (parsed.length === 0 || parsed.some((v) => !Number.isInteger(v) || v < 0)) throw new CliError(`--ids must be a comma-separated list of non-negative integers, got "${ids}"`);
    return parsed;
  }
  if (text === undefined) throw new CliError('give the input text as an argument, or token ids with --ids');
  const out = model.encode(text);
  if (out.length === 0) throw new CliError('the input text produced no tokens');
  return out;
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
