/**
 * Token data for the causal analyses: sequences of possibly different lengths, the first N tokens of
 * them in file order, batches of equal-length sequences, and the hidden states of one layer for all of
 * their tokens (rows in file order: sequence by sequence, position by position).
 */
import type { LanguageModel } from '../models/language-model.js';
import { Mt19937 } from '../data/batches.js';
import type { HiddenRows } from './lens-influence.js';

/** The first `tokens` tokens of `sequences` in order, the last sequence cut short; all of them when undefined. */
export function firstTokens(sequences: readonly number[][], tokens?: number): number[][] {
  if (tokens === undefined) return sequences.map((s) => [...s]);
  const out: number[][] = [];
  let left = tokens;
  for (const s of sequences) {
    if (left <= 0) break;
    out.push(s.slice(0, left));
    left -= Math.min(left, s.length);
  }
  return out.filter((s) => s.length > 0);
}

export function countTokens(sequences: readonly number[][]): number {
  return sequences.reduce((n, s) => n + s.length, 0);
}

export interface SequenceBatch {
  ids: number[][];
  /** Index of each row in the original sequence list. */
  index: number[];
  /** Row offset (in tokens) of each sequence in the flattened token list. */
  offsets: number[];
}

/** Consecutive runs of equal-length sequences, at most `maxTokens` tokens per batch (at least one sequence). */
export function equalLengthBatches(sequences: readonly number[][], maxTokens = 8192): SequenceBatch[] {
  const batches: SequenceBatch[] = [];
  let offset = 0;
  let cur: SequenceBatch | null = null;
  sequences.forEach((s, i) => {
    const len = s.length;
    if (!cur || cur.ids[0]!.length !== len || (cur.ids.length + 1) * len > maxTokens) {
      cur = { ids: [], index: [], offsets: [] };
      batches.push(cur);
    }
    cur.ids.push(s);
    cur.index.push(i);
    cur.offsets.push(offset);
    offset += len;
  });
  return batches;
}

/**
 * Hidden states `hidden_states[layer]` (HF indexing) for every token, as [N, d] rows. The forward pass
 * is cut after the requested layer (graph lowering emits only what the output needs).
 */
export async function collectHidden(model: LanguageModel, sequences: readonly number[][], layer: number, maxTokens = 8192): Promise<HiddenRows> {
  const d = model.config.dModel;
  const n = countTokens(sequences);
  const data = new Float32Array(n * d);
  for (const batch of equalLengthBatches(sequences, maxTokens)) {
    const mg = model.buildGraph({ ids: batch.ids });
    const r = await model.run(mg, { h: mg.forward.hiddenStates[layer]! });
    const h = r.h!.data as Float32Array;
    const T = batch.ids[0]!.length;
    batch.offsets.forEach((off, b) => data.set(h.subarray(b * T * d, (b + 1) * T * d), off * d));
  }
  return { data, n, d };
}

/** A uniformly random permutation of 0..n-1 without fixed points (rejection, like the reference's `derange`). */
export function derangement(n: number, seed: number): Int32Array {
  if (n < 2) throw new Error('a derangement needs at least 2 elements');
  const rng = new Mt19937(seed);
  for (;;) {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    if (p.every((v, i) => v !== i)) return p;
  }
}
