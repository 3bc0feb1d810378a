/**
 * The one place where the applications get "the lens's log-probabilities at every layer, at chosen
 * positions": injection features (last position), choice scoring for difficulty and overthinking. When
 * the shared lens-rows engine lands (src/lens/rows.ts) only this function has to switch to it.
 *
 * Sequences of different lengths are left-padded (with an attention mask) into batches of equal length,
 * lengths rounded up to a multiple of `lengthStep` so few graph shapes are compiled. Only the requested
 * positions are gathered before the unembedding, so memory is rows × positions × vocabulary, never
 * rows × sequence × vocabulary.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import { unembed } from '../models/transformer.js';

export interface LayerLogProbsOptions {
  /** Sequences per graph run (default 16). */
  batchSize?: number;
  /** Padded lengths are multiples of this (default 16). */
  lengthStep?: number;
  /** Called after each batch with the number of sequences done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * For sequence s and each of its positions p (indices into `sequences[s]`): a Float32Array of
 * (L + 1) × vocab log-probabilities; rows 0..L−1 are the lens at hidden_states[0..L−1], row L the model's
 * own output distribution. `result[s][j]` belongs to `positions[s][j]`.
 */
export async function layerLogProbsAt(lens: Lens, sequences: number[][], positions: number[][], options: LayerLogProbsOptions = {}): Promise<Float32Array[][]> {
  const model = lens.model;
  const L = model.nLayers;
  const R = L + 1;
  const V = model.config.vocabSize;
  const d = model.config.dModel;
  if (positions.length !== sequences.length) throw new Error(`layerLogProbsAt: ${sequences.length} sequences but ${positions.length} position lists`);
  sequences.forEach((s, i) => {
    if (s.length === 0) throw new Error(`sequence ${i} has no tokens`);
    for (const p of positions[i]!) if (!Number.isInteger(p) || p < 0 || p >= s.length) throw new Error(`position ${p} is outside sequence ${i} (${s.length} tokens)`);
  });
  const batchSize = options.batchSize ?? 16;
  const step = options.lengthStep ?? 16;
  const result: Float32Array[][] = sequences.map(() => []);
  // Group by padded length so each group is one compiled shape; keep input order inside a group.
  const groups = new Map<number, number[]>();
  sequences.forEach((s, i) => {
    const T = Math.ceil(s.length / step) * step;
    groups.set(T, [...(groups.get(T) ?? []), i]);
  });
  let done = 0;
  for (const [T, members] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    for (let start = 0; start < members.length; start += batchSize) {
      const chunk = members.slice(start, start + batchSize);
      const B = chunk.length;
      const K = Math.max(1, ...chunk.map((i) => positions[i]!.length));
      const ids = chunk.map((i) => [...new Array<number>(T - sequences[i]!.length).fill(0), ...sequences[i]!]);
      const attentionMask = chunk.map((i) => [...new Array<number>(T - sequences[i]!.length).fill(0), ...new Array<number>(sequences[i]!.length).fill(1)]);
      // Flat row index b·T + (padding + p) of every requested position; short lists repeat their last entry.
      const flat = new BigInt64Array(B * K);
      chunk.forEach((i, b) => {
        const pad = T - sequences[i]!.length;
        const ps = positions[i]!.length ? positions[i]! : [sequences[i]!.length - 1];
        for (let k = 0; k < K; k++) flat[b * K + k] = BigInt(b * T + pad + ps[Math.min(k, ps.length - 1)]!);
      });
      const mg = model.buildGraph({ ids, attentionMask }, { logits: false });
      const index = mg.g.input('gather_rows', 'int64', [B * K]);
      const pick = (h: Value): Value => op.gather(op.reshape(h, [B * T, d]), index, 0);
      const rows: Value[] = [];
      for (let r = 0; r < L; r++) rows.push(mg.g.scope(`lens.${r}`, () => lens.transformHidden(pick(mg.forward.hiddenStates[r]!), r)));
      rows.push(pick(mg.forward.finalNormInput));
      const stacked = op.concat(rows.map((v) => op.reshape(v, [1, B * K, d])), 0);
      const logp = op.logSoftmax(unembed(model.config, mg.weights, stacked));
      const out = await model.run(mg, { logp }, { ...lens.feeds(), gather_rows: flat });
      const data = out.logp!.data as Float32Array;
      chunk.forEach((i, b) => {
        for (let k = 0; k < positions[i]!.length; k++) {
          const v = new Float32Array(R * V);
          for (let r = 0; r < R; r++) v.set(data.subarray((r * B * K + b * K + k) * V, (r * B * K + b * K + k + 1) * V), r * V);
          result[i]!.push(v);
        }
      });
      done += B;
      options.onProgress?.(done, sequences.length);
    }
  }
  return result;
}
