/**
 * First-order layer differences: how the prediction changes from one row of a trajectory to the next —
 * D(p_i ‖ p_{i−1}) for KL, JS and TV, and the tokens whose probability rose most — as one reduction of
 * the lens-rows engine (lens/rows.ts), so nothing vocabulary-sized leaves the graph.
 */
import { bucketLength } from '../graph/length-buckets.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import { allRows, reduceLensRows, scatterBlock, type RowReduction } from '../lens/rows.js';
import { jsOf, klOf, tvOf } from './row-statistics.js';

export interface LayerDifferences {
  /** L + 1: the lens layers 0..L−1 and the model output, as in a trajectory. */
  rows: number;
  positions: number;
  /** Rising tokens kept per cell. */
  topK: number;
  /** D(row r ‖ row r−1) at each position, flat [rows][positions]; row 0 has no predecessor (NaN). */
  kl: Float32Array;
  js: Float32Array;
  tv: Float32Array;
  /** The tokens whose probability rose most from row r−1 to row r, [rows][positions][topK] (−1 in row 0). */
  riseIds: Int32Array;
  /** Their rise p_r − p_{r−1} (may be negative when nothing rose), same layout (NaN in row 0). */
  rise: Float32Array;
}

export interface LayerDifferenceOptions {
  topK?: number;
  blockBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Layer differences of `lens` on one sequence (a batch of one). */
export async function computeLayerDifferences(lens: Lens, ids: number[], options: LayerDifferenceOptions = {}): Promise<LayerDifferences> {
  const model = lens.model;
  const cfg = model.config;
  const L = model.nLayers;
  const R = L + 1;
  const K = Math.min(options.topK ?? 3, cfg.vocabSize);
  const T = ids.length;
  // Padded to a length bucket like trajectories (shared compiled sessions); causal, so real positions are unchanged.
  const Tp = bucketLength(T, cfg.position.kind === 'learned' ? cfg.maxPositions : Infinity);
  const reduction: RowReduction = {
    // The block holds the log-probs, their exponentials and the difference: about three stacks of rows.
    rowsPerBlock: 3 * R,
    build: (block) => {
      const logp = op.logSoftmax(block.logits(lens, allRows(L))); // [R, 1, tb, V]
      const cur = op.slice(logp, 0, 1, R);
      const prev = op.slice(logp, 0, 0, R - 1);
      const [rise, riseIds] = op.topK(op.sub(op.exp(cur), op.exp(prev)), K);
      return { kl: klOf(cur, prev), js: jsOf(cur, prev), tv: tvOf(cur, prev), rise, rise_ids: riseIds };
    },
  };
  const D = R - 1;
  const part = { kl: new Float32Array(D * Tp), js: new Float32Array(D * Tp), tv: new Float32Array(D * Tp), rise: new Float32Array(D * Tp * K), riseIds: new Int32Array(D * Tp * K) };
  const padded = [...ids, ...new Array<number>(Tp - T).fill(0)];
  await reduceLensRows(
    model,
    { ids: [padded] },
    reduction,
    (out, w) => {
      for (const k of ['kl', 'js', 'tv'] as const) scatterBlock(part[k], out[k]!.data, w, D, 1, Tp);
      scatterBlock(part.rise, out.rise!.data, w, D, 1, Tp, K);
      scatterBlock(part.riseIds, out.rise_ids!.data, w, D, 1, Tp, K);
    },
    { blockBytes: options.blockBytes, onProgress: options.onProgress },
  );
  // Row r of the result is difference r − 1 of the graph; row 0 stays undefined. Padding is dropped.
  const res: LayerDifferences = {
    rows: R,
    positions: T,
    topK: K,
    kl: new Float32Array(R * T).fill(NaN),
    js: new Float32Array(R * T).fill(NaN),
    tv: new Float32Array(R * T).fill(NaN),
    riseIds: new Int32Array(R * T * K).fill(-1),
    rise: new Float32Array(R * T * K).fill(NaN),
  };
  for (let r = 1; r < R; r++) {
    for (const k of ['kl', 'js', 'tv'] as const) res[k].set(part[k].subarray((r - 1) * Tp, (r - 1) * Tp + T), r * T);
    res.rise.set(part.rise.subarray((r - 1) * Tp * K, ((r - 1) * Tp + T) * K), r * T * K);
    res.riseIds.set(part.riseIds.subarray((r - 1) * Tp * K, ((r - 1) * Tp + T) * K), r * T * K);
  }
  return res;
}
