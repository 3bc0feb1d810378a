/**
 * The model's next-token cross-entropy on a data set, optionally with a block plan (blocks deleted,
 * permuted or duplicated, each keeping its own weights and attention settings). This is the one CE
 * function that layer surgery (`tuned-lens surgery`) and layer deletion (`ce_without_layer` of
 * `tuned-lens iterative`) share, so the two always agree.
 */
import * as op from '../graph/ops.js';
import type { LanguageModel } from '../models/language-model.js';
import { equalLengthBatches } from '../causal/sequences.js';

export interface CrossEntropyOptions {
  /** Block indices to run, in order (omit = the model as it is). */
  plan?: readonly number[];
  /** Tokens per run (sequences of one length are batched up to this). Default 8192. */
  maxTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CrossEntropyResult {
  /** Mean over every predicted token (positions 0..T-2 of every sequence), nats. */
  ce: number;
  /** Predicted tokens. */
  tokens: number;
  sequences: number;
}

/**
 * Mean next-token CE of the model (under `plan`) over every predicted token of `chunks` (token sequences of
 * any lengths ≥ 2, batched by length up to `maxTokens` tokens per run).
 */
export async function crossEntropyOnData(model: LanguageModel, chunks: readonly number[][], options: CrossEntropyOptions = {}): Promise<CrossEntropyResult> {
  if (chunks.length === 0) throw new Error('crossEntropyOnData: no sequences');
  chunks.forEach((c, i) => {
    if (c.length < 2) throw new Error(`crossEntropyOnData: sequence ${i} has ${c.length} token(s); cross-entropy needs at least 2 (it predicts the next one)`);
  });
  const runs = new Map<string, (batch: { ids: number[][] }) => Promise<Record<string, { data: unknown }>>>();
  let total = 0;
  let done = 0;
  for (const batch of equalLengthBatches(chunks as number[][], options.maxTokens ?? 8192)) {
    const [B, T] = [batch.ids.length, batch.ids[0]!.length];
    let run = runs.get(`${B}x${T}`);
    if (!run) {
      run = await model.compileForShape(
        { ids: batch.ids },
        (mg) => {
          const logp = op.logSoftmax(op.slice(mg.forward.logits, 1, 0, T - 1));
          const nll = op.neg(op.gatherLast(logp, op.slice(mg.ids, 1, 1, T)));
          return { nll_sum: op.reduceSum(nll, [0, 1]) };
        },
        { plan: options.plan },
      );
      runs.set(`${B}x${T}`, run);
    }
    const r = await run({ ids: batch.ids });
    const s = (r.nll_sum!.data as Float32Array)[0]!;
    if (!Number.isFinite(s)) throw new Error(`crossEntropyOnData: the loss of sequences ${batch.index[0]}..${batch.index[B - 1]} is ${s}`);
    total += s;
    done += B;
    options.onProgress?.(done, chunks.length);
  }
  const tokens = chunks.reduce((n, c) => n + c.length - 1, 0);
  return { ce: total / tokens, tokens, sequences: chunks.length };
}
