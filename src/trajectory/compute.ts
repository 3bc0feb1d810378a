/**
 * Computes a prediction trajectory: for every lens layer 0..L-1 plus the model output (the last row),
 * and every position, the statistics of row-statistics.ts and the top-k tokens, in one graph run.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { HostArray } from '../graph/runtime.js';
import type { Lens } from '../lens/lens.js';
import { Graph } from '../graph/graph.js';
import { unembed, WeightInputs } from '../models/transformer.js';
import { batchShape, type Batch } from '../models/position-inputs.js';
import { jsOf, klOf, rowStatistics, tvOf } from './row-statistics.js';

/** Additive logit mask that forbids a token (the reference uses −finfo.max). */
const FORBIDDEN = -3.4e38;

export interface TrajectoryOptions {
  /** Target ids [B][T]; −1 where there is none. Default: the next input token (none at the last position). */
  targets?: number[][];
  /** Anti-target ids [B][T] for the log-prob difference; −1 where there is none. */
  antiTargets?: number[][];
  /** Top tokens kept per cell (default 10). */
  topK?: number;
  /** Forbid every lens row from predicting tokens that occur in the input (the reference's mask_input). */
  maskInput?: boolean;
  /** A second lens on the same model: adds KL, JS and TV between the two, row by row. */
  compareWith?: Lens;
  /** Called after each block of positions (long prompts are processed in blocks to bound memory). */
  onProgress?: (done: number, total: number) => void;
  /** Upper bound for the largest [rows, batch, positions, vocab] tensor of one block, in bytes (default 96 MB). */
  blockBytes?: number;
}

/** Arrays are C-order [rows][batch][positions] (and [..][k] for top-k). */
export interface TrajectoryData {
  lensKind: Lens['kind'];
  inputIds: number[][];
  targets: number[][];
  antiTargets: number[][] | null;
  /** "0".."L-1", "output": row r is lens layer r, the last row is the model. */
  rowLabels: string[];
  rows: number;
  batch: number;
  positions: number;
  topK: number;
  entropy: Float32Array;
  maxProb: Float32Array;
  /** KL(model ‖ row), nats. */
  forwardKl: Float32Array;
  /** −log p(target), nats; NaN where there is no target. */
  crossEntropy: Float32Array;
  /** 1-based rank of the target; NaN where there is no target. */
  rank: Float32Array;
  /** log p(target) − log p(anti-target); null without anti-targets. */
  logProbDiff: Float32Array | null;
  topIds: Int32Array;
  topProbs: Float32Array;
  /** Row-by-row distances to `compareWith` (self ‖ other), when given. */
  comparison: { kl: Float32Array; js: Float32Array; tv: Float32Array } | null;
}

function defaultTargets(ids: number[][]): number[][] {
  return ids.map((row) => row.map((_, t) => (t + 1 < row.length ? row[t + 1]! : -1)));
}

/** Stacks [B, T, d] values into one [R, B, T, d]. */
function stack(vs: Value[]): Value {
  return op.concat(vs.map((v) => op.reshape(v, [1, ...v.shape])), 0);
}

/** Positions per block so that one [rows, B, block, V] float tensor stays within `bytes`. */
export function blockPositions(rows: number, B: number, V: number, T: number, bytes: number): number {
  return Math.max(1, Math.min(T, Math.floor(bytes / (4 * rows * B * V))));
}

export async function computeTrajectory(lens: Lens, batch: Batch, options: TrajectoryOptions = {}): Promise<TrajectoryData> {
  const model = lens.model;
  const cfg = model.config;
  const [B, T] = batchShape(batch);
  const V = cfg.vocabSize;
  const L = model.nLayers;
  const R = L + 1;
  const d = cfg.dModel;
  const K = Math.min(options.topK ?? 10, V);
  const targets = options.targets ?? defaultTargets(batch.ids);
  const antiTargets = options.antiTargets ?? null;
  for (const [name, arr] of [['targets', targets], ['antiTargets', antiTargets]] as const) {
    if (!arr) continue;
    if (arr.length !== B || arr.some((r) => r.length !== T)) throw new Error(`${name} must have the [${B}][${T}] shape of the input`);
    for (const row of arr) for (const v of row) if (v >= V || !Number.isInteger(v)) throw new Error(`${name} id ${v} is outside the vocabulary (0..${V - 1})`);
  }
  const other = options.compareWith;
  if (other && other.model !== model) throw new Error('compareWith must be a lens on the same model');

  // 1. One forward pass for every hidden state the rows need ([B, T, d] each: small).
  const mg = model.buildGraph(batch, { logits: false });
  const fwdOut: Record<string, Value> = { h_out: mg.forward.finalNormInput };
  for (let i = 0; i < L; i++) fwdOut[`h_${i}`] = mg.forward.hiddenStates[i]!;
  const hidden = await model.run(mg, fwdOut);
  const rowHidden = (r: number): Float32Array => hidden[r < L ? `h_${r}` : 'h_out']!.data as Float32Array;

  // 2. The rows (every lens layer and the model output) over blocks of positions: each block stacks all
  // rows into one [R, B, tb, d] tensor, so the unembedding is one large matmul, and only [R, B, tb]
  // summaries and the top-k leave the graph. Memory stays bounded by the block, whatever T and V are.
  const lensCount = other ? 2 : 1;
  const tb = blockPositions(R * lensCount, B, V, T, options.blockBytes ?? 96e6);
  const g = new Graph();
  const weights = new WeightInputs(g, model.weights);
  const hIn = Array.from({ length: R }, (_, r) => g.input(`h_${r}`, 'float32', [B, tb, d]));
  const targetsIn = op.expand(g.input('targets', 'int64', [B, tb]), [R, B, tb]);
  const antiIn = antiTargets ? op.expand(g.input('anti_targets', 'int64', [B, tb]), [R, B, tb]) : undefined;
  const maskIn = options.maskInput ? g.input('input_token_mask', 'float32', [R, B, 1, V]) : null;
  const rowLogp = (l: Lens): Value => {
    const rows = hIn.map((h, r) => (r < L ? g.scope(`lens.${r}`, () => l.transformHidden(h, r)) : h));
    const logits = unembed(cfg, weights, stack(rows));
    return op.logSoftmax(maskIn ? op.add(logits, maskIn) : logits);
  };
  const logp = rowLogp(lens);
  const outputLogp = op.slice(logp, 0, L, R);
  const st = rowStatistics({ logp, outputLogp, targets: targetsIn, antiTargets: antiIn, topK: K });
  const outputs: Record<string, Value> = {
    entropy: st.entropy, max_prob: st.maxProb, forward_kl: st.forwardKl!, target_logp: st.targetLogp!, rank: st.rank!, top_probs: st.topProbs!, top_ids: st.topIds!,
  };
  if (antiIn) outputs.anti_logp = st.antiTargetLogp!;
  if (other) {
    const otherLogp = rowLogp(other);
    outputs.cmp_kl = klOf(logp, otherLogp);
    outputs.cmp_js = jsOf(logp, otherLogp);
    outputs.cmp_tv = tvOf(logp, otherLogp);
  }
  const compiled = await model.runtime.compile(outputs);
  const staticFeeds: Record<string, HostArray['data']> = { ...weights.feeds(), ...lens.feeds(), ...(other?.feeds() ?? {}) };
  if (maskIn) {
    // Forbid input tokens in the lens rows only; the model's own output row is left as it is.
    const m = new Float32Array(R * B * V);
    for (let r = 0; r < L; r++) batch.ids.forEach((row, b) => row.forEach((id) => (m[(r * B + b) * V + id] = FORBIDDEN)));
    staticFeeds.input_token_mask = m;
  }

  const cell = R * B * T;
  const res = {
    entropy: new Float32Array(cell), maxProb: new Float32Array(cell), forwardKl: new Float32Array(cell), targetLogp: new Float32Array(cell), rank: new Float32Array(cell),
    anti: antiTargets ? new Float32Array(cell) : null, topProbs: new Float32Array(cell * K), topIds: new Int32Array(cell * K),
    kl: other ? new Float32Array(cell) : null, js: other ? new Float32Array(cell) : null, tv: other ? new Float32Array(cell) : null,
  };
  const blocks = Math.ceil(T / tb);
  for (let blk = 0; blk < blocks; blk++) {
    const t0 = blk * tb;
    const n = Math.min(tb, T - t0);
    const feeds: Record<string, HostArray['data']> = { ...staticFeeds };
    for (let r = 0; r < R; r++) {
      // [B, T, d] → zero-padded [B, tb, d] slice for this block.
      const src = rowHidden(r);
      const dst = new Float32Array(B * tb * d);
      for (let b = 0; b < B; b++) dst.set(src.subarray((b * T + t0) * d, (b * T + t0 + n) * d), b * tb * d);
      feeds[`h_${r}`] = dst;
    }
    const idsBlock = (rows: number[][]): BigInt64Array => {
      const out = new BigInt64Array(B * tb);
      for (let b = 0; b < B; b++) for (let j = 0; j < n; j++) out[b * tb + j] = BigInt(Math.max(0, rows[b]![t0 + j]!));
      return out;
    };
    feeds.targets = idsBlock(targets);
    if (antiTargets) feeds.anti_targets = idsBlock(antiTargets);
    const out = await compiled.run(Object.fromEntries([...compiled.inputs.keys()].map((k) => [k, feeds[k]!])));
    // Scatter [R, B, tb(, K)] block results into [R, B, T(, K)].
    const put = (dst: Float32Array | Int32Array, src: ArrayLike<number | bigint>, width: number): void => {
      for (let r = 0; r < R; r++) {
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < n; j++) {
            const from = ((r * B + b) * tb + j) * width;
            const to = ((r * B + b) * T + t0 + j) * width;
            for (let k = 0; k < width; k++) dst[to + k] = Number(src[from + k]!);
          }
        }
      }
    };
    put(res.entropy, out.entropy!.data as Float32Array, 1);
    put(res.maxProb, out.max_prob!.data as Float32Array, 1);
    put(res.forwardKl, out.forward_kl!.data as Float32Array, 1);
    put(res.targetLogp, out.target_logp!.data as Float32Array, 1);
    put(res.rank, out.rank!.data as Float32Array, 1);
    put(res.topProbs, out.top_probs!.data as Float32Array, K);
    put(res.topIds, out.top_ids!.data as BigInt64Array, K);
    if (res.anti) put(res.anti, out.anti_logp!.data as Float32Array, 1);
    if (other) {
      put(res.kl!, out.cmp_kl!.data as Float32Array, 1);
      put(res.js!, out.cmp_js!.data as Float32Array, 1);
      put(res.tv!, out.cmp_tv!.data as Float32Array, 1);
    }
    options.onProgress?.(blk + 1, blocks);
  }

  // Blank the cells whose position has no target.
  const crossEntropy = new Float32Array(cell);
  const logProbDiff = res.anti ? new Float32Array(cell) : null;
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = (r * B + b) * T + t;
        const hasT = targets[b]![t]! >= 0;
        crossEntropy[i] = hasT ? -res.targetLogp[i]! : NaN;
        if (!hasT) res.rank[i] = NaN;
        if (logProbDiff) logProbDiff[i] = hasT && antiTargets![b]![t]! >= 0 ? res.targetLogp[i]! - res.anti![i]! : NaN;
      }
    }
  }
  return {
    lensKind: lens.kind,
    inputIds: batch.ids,
    targets,
    antiTargets,
    rowLabels: [...Array.from({ length: L }, (_, i) => String(i)), 'output'],
    rows: R,
    batch: B,
    positions: T,
    topK: K,
    entropy: res.entropy,
    maxProb: res.maxProb,
    forwardKl: res.forwardKl,
    crossEntropy,
    rank: res.rank,
    logProbDiff,
    topIds: res.topIds,
    topProbs: res.topProbs,
    comparison: other ? { kl: res.kl!, js: res.js!, tv: res.tv! } : null,
  };
}
