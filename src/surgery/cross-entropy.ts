/**
 * The model's next-token cross-entropy on a data set, optionally with a block plan (blocks deleted,
 * permuted or duplicated, each keeping its own weights and attention settings). This is the one CE
 * function that layer surgery (`tuned-lens surgery`) and layer deletion (`ce_without_layer` of
 * `tuned-lens iterative`) share, so the two always agree.
 */
import * as op from '../graph/ops.js';
import type { LanguageModel } from '../models/language-model.js';

export interface CrossEntropyOptions {
  /** Block indices to run, in order (omit = the model as it is). */
  plan?: readonly number[];
  onProgress?: (done: number, total: number) => void;
}

export interface CrossEntropyResult {
  /** Mean over every predicted token (positions 0..T-2 of every sequence), nats. */
  ce: number;
  /** Predicted tokens. */
  tokens: number;
  sequences: number;
}

/** Mean next-token CE of the model (under `plan`) on `chunks`, equal-length token sequences. */
export async function crossEntropyOnData(model: LanguageModel, chunks: readonly number[][], options: CrossEntropyOptions = {}): Promise<CrossEntropyResult> {
  if (chunks.length === 0) throw new Error('crossEntropyOnData: no sequences');
  const T = chunks[0]!.length;
  if (T < 2) throw new Error('crossEntropyOnData: sequences need at least 2 tokens (cross-entropy predicts the next one)');
  for (const c of chunks) if (c.length !== T) throw new Error(`crossEntropyOnData: sequences must all have ${T} tokens, got one with ${c.length}`);
  const run = await model.compileForShape(
    { ids: [chunks[0]!] },
    (mg) => {
      const logp = op.logSoftmax(op.slice(mg.forward.logits, 1, 0, T - 1));
      const nll = op.neg(op.gatherLast(logp, op.slice(mg.ids, 1, 1, T)));
      return { nll_sum: op.reduceSum(nll, [0, 1]) };
    },
    { plan: options.plan },
  );
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    const r = await run({ ids: [chunks[i]!] });
    const s = (r.nll_sum!.data as Float32Array)[0]!;
    if (!Number.isFinite(s)) throw new Error(`crossEntropyOnData: the loss of sequence ${i} is ${s}`);
    total += s;
    options.onProgress?.(i + 1, chunks.length);
  }
  const tokens = chunks.length * (T - 1);
  return { ce: total / tokens, tokens, sequences: chunks.length };
}
