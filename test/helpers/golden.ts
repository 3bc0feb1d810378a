/** Loading and comparing golden numbers from ../shared/golden. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from './shared-data.js';

export function goldenPath(...parts: string[]): string {
  return join(sharedDir(), 'golden', ...parts);
}

export function readGolden<T = Record<string, unknown>>(...parts: string[]): T {
  return JSON.parse(readFileSync(goldenPath(...parts), 'utf8')) as T;
}

/** Flattens nested JSON arrays of numbers (C order). */
export function flat(x: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else out.push(v as number);
  };
  walk(x);
  return out;
}

/** Largest absolute difference; throws if lengths differ. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - Math.fround(expected[i]!));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** The fields of golden/stories260K/prompt_k.json the tests read. */
export interface StoriesPrompt {
  prompt: string;
  input_ids: number[];
  hidden_states: unknown[];
  final_norm_input: unknown;
  logits: unknown;
  log_probs: unknown;
  logit_lens_log_probs: unknown[];
}
