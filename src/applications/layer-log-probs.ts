/**
 * The one place where the applications get "the lens's log-probabilities at every layer, at chosen
 * positions": injection features (last position), choice scoring for difficulty and overthinking. It runs
 * on the shared lens-rows engine (src/lens/rows.ts): one forward pass per batch, then only the requested
 * positions' hidden states go through the rows, so memory is rows × positions × vocabulary, never
 * rows × sequence × vocabulary.
 *
 * Sequences of different lengths are left-padded (with an attention mask) into batches of equal length,
 * lengths rounded up to a multiple of `lengthStep` so few graph shapes are compiled.
 */
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import { allRows, computeHiddenStates, reduceLensRows, scatterBlock, type HiddenStates } from '../lens/rows.js';

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
      // The requested positions of each row (shifted by its padding; short lists repeat their last entry).
      const at = chunk.map((i) => {
        const pad = T - sequences[i]!.length;
        const ps = positions[i]!.length ? positions[i]! : [sequences[i]!.length - 1];
        return Array.from({ length: K }, (_, k) => pad + ps[Math.min(k, ps.length - 1)]!);
      });
      const picked = pickPositions(await computeHiddenStates(model, { ids, attentionMask }), at);
      const data = new Float32Array(R * B * K * V);
      await reduceLensRows(
        model,
        { ids: Array.from({ length: B }, () => new Array<number>(K).fill(0)) }, // shape only: the hidden states are given
        { rowsPerBlock: R, build: (block) => ({ logp: op.logSoftmax(block.logits(lens, allRows(L))) }) },
        (out, w) => scatterBlock(data, out.logp!.data, w, R, B, K, V),
        { hidden: picked },
      );
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

/** Hidden states at per-row positions: row b keeps positions at[b] (all rows the same count). */
function pickPositions(h: HiddenStates, at: number[][]): HiddenStates {
  const { batch: B, positions: T, width: d } = h;
  const K = at[0]!.length;
  const pick = (src: Float32Array): Float32Array => {
    const dst = new Float32Array(B * K * d);
    for (let b = 0; b < B; b++) at[b]!.forEach((t, k) => dst.set(src.subarray((b * T + t) * d, (b * T + t + 1) * d), (b * K + k) * d));
    return dst;
  };
  return { batch: B, positions: K, width: d, layers: h.layers.map(pick), final: pick(h.final) };
}
