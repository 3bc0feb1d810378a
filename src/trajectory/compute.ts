/**
 * Computes a prediction trajectory: for every lens layer 0..L-1 plus the model output (the last row),
 * and every position, the statistics of row-statistics.ts and the top-k tokens: one reduction of the
 * lens-rows engine (lens/rows.ts).
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { bucketLength, trimAxis } from '../graph/length-buckets.js';
import type { HostData } from '../graph/runtime.js';
import type { Lens } from '../lens/lens.js';
import { allRows, reduceLensRows, scatterBlock, type HiddenStates, type RowReduction } from '../lens/rows.js';
import { batchShape, type Batch } from '../models/position-inputs.js';
import type { ForwardOptions } from '../models/interventions.js';
import { jsOf, klOf, largestChangesOf, mergeLargestChanges, rowStatistics, tvOf } from './row-statistics.js';

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
  /** Upper bound for the largest [rows, batch, positions, vocab] tensor of one block, in bytes (default 48 MB). */
  blockBytes?: number;
  /**
   * Pad the prompt at its end to the next length bucket (graph/length-buckets.ts), so prompts of nearby
   * lengths share compiled sessions; the padding is trimmed from the result. Real positions are unchanged:
   * a causal model never lets a position read a later one. Default true; false runs the exact length.
   */
  lengthBucket?: boolean;
  /** Interventions inside the model's forward pass (`edits`), e.g. a causal-basis direction ablated at hidden_states[i]. */
  forward?: Omit<ForwardOptions, 'logits'>;
  /**
   * What the lens rows read instead of the model's block outputs, computed for the batch as it runs
   * (length-bucket padding included): e.g. the mid-block residuals of lens/mid-block-states.ts.
   */
  hiddenStates?: (batch: Batch) => Promise<HiddenStates>;
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
  /**
   * Row-by-row distances to `compareWith` (self ‖ other), when given, and per cell the top-k tokens whose
   * probability changed most, |p_self − p_other| largest first: `changes` is the signed p_self − p_other
   * ([rows][batch][positions][k], like topIds), as the reference labels comparison cells.
   */
  comparison: { kl: Float32Array; js: Float32Array; tv: Float32Array; changeIds?: Int32Array; changes?: Float32Array } | null;
}

function defaultTargets(ids: number[][]): number[][] {
  return ids.map((row) => row.map((_, t) => (t + 1 < row.length ? row[t + 1]! : -1)));
}

/** `rows` lengthened to `length` with `fill` at the end of every row. */
function padRows(rows: number[][], length: number, fill: number): number[][] {
  return rows.map((row) => (row.length >= length ? row : [...row, ...new Array<number>(length - row.length).fill(fill)]));
}

export async function computeTrajectory(lens: Lens, batch: Batch, options: TrajectoryOptions = {}): Promise<TrajectoryData> {
  const model = lens.model;
  const cfg = model.config;
  const [B, T] = batchShape(batch);
  const V = cfg.vocabSize;
  const L = model.nLayers;
  const R = L + 1;
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

  // Every row (each lens layer and the model output) of a block is stacked into one unembedding (the
  // lens-rows engine); the statistics are reduced in the graph, so only [R, B, block] summaries and the
  // top-k leave it.
  const reduction: RowReduction = {
    rowsPerBlock: R * (other ? 2 : 1),
    build: (block) => {
      const shape = [R, block.batch, block.positions];
      const targetsIn = op.expand(block.positionInput('targets', 'int64'), shape);
      const antiIn = antiTargets ? op.expand(block.positionInput('anti_targets', 'int64'), shape) : undefined;
      const maskIn = options.maskInput ? block.constant('input_token_mask', 'float32', [R, block.batch, 1, V]) : null;
      const rowLogp = (l: Lens): Value => {
        const logits = block.logits(l, allRows(L));
        return op.logSoftmax(maskIn ? op.add(logits, maskIn) : logits);
      };
      const logp = rowLogp(lens);
      const st = rowStatistics({ logp, outputLogp: op.slice(logp, 0, L, R), targets: targetsIn, antiTargets: antiIn, topK: K });
      const outputs: Record<string, Value> = {
        entropy: st.entropy, max_prob: st.maxProb, forward_kl: st.forwardKl!, target_logp: st.targetLogp!, rank: st.rank!, top_probs: st.topProbs!, top_ids: st.topIds!,
      };
      if (antiIn) outputs.anti_logp = st.antiTargetLogp!;
      if (other) {
        const otherLogp = rowLogp(other);
        outputs.cmp_kl = klOf(logp, otherLogp);
        outputs.cmp_js = jsOf(logp, otherLogp);
        outputs.cmp_tv = tvOf(logp, otherLogp);
        const moved = largestChangesOf(logp, otherLogp, K);
        [outputs.cmp_rise, outputs.cmp_rise_ids] = moved.rise;
        [outputs.cmp_fall, outputs.cmp_fall_ids] = moved.fall;
      }
      return outputs;
    },
  };
  // The graph runs on Tp ≥ T positions (the length bucket); padded positions have no target and are trimmed.
  const Tp = options.lengthBucket === false ? T : bucketLength(T, cfg.position.kind === 'learned' ? cfg.maxPositions : Infinity);
  const runBatch: Batch = Tp === T ? batch : { ids: padRows(batch.ids, Tp, 0), ...(batch.attentionMask ? { attentionMask: padRows(batch.attentionMask, Tp, 1) } : {}) };
  // Ids of positions without a target are fed as 0 and blanked below.
  const ids = (rows: number[][]): BigInt64Array => BigInt64Array.from(padRows(rows, Tp, -1).flat(), (v) => BigInt(Math.max(0, v)));
  const feeds: Record<string, HostData> = { targets: ids(targets) };
  if (antiTargets) feeds.anti_targets = ids(antiTargets);
  if (options.maskInput) {
    // Forbid input tokens in the lens rows only; the model's own output row is left as it is.
    const m = new Float32Array(R * B * V);
    for (let r = 0; r < L; r++) batch.ids.forEach((row, b) => row.forEach((id) => (m[(r * B + b) * V + id] = FORBIDDEN)));
    feeds.input_token_mask = m;
  }

  const cell = R * B * Tp;
  const res = {
    entropy: new Float32Array(cell), maxProb: new Float32Array(cell), forwardKl: new Float32Array(cell), targetLogp: new Float32Array(cell), rank: new Float32Array(cell),
    anti: antiTargets ? new Float32Array(cell) : null, topProbs: new Float32Array(cell * K), topIds: new Int32Array(cell * K),
    kl: other ? new Float32Array(cell) : null, js: other ? new Float32Array(cell) : null, tv: other ? new Float32Array(cell) : null,
    rise: other ? new Float32Array(cell * K) : null, riseIds: other ? new Int32Array(cell * K) : null,
    fall: other ? new Float32Array(cell * K) : null, fallIds: other ? new Int32Array(cell * K) : null,
  };
  await reduceLensRows(
    model,
    runBatch,
    reduction,
    (out, w) => {
      const put = (dst: Float32Array | Int32Array, name: string, width = 1): void => scatterBlock(dst, out[name]!.data, w, R, B, Tp, width);
      put(res.entropy, 'entropy');
      put(res.maxProb, 'max_prob');
      put(res.forwardKl, 'forward_kl');
      put(res.targetLogp, 'target_logp');
      put(res.rank, 'rank');
      put(res.topProbs, 'top_probs', K);
      put(res.topIds, 'top_ids', K);
      if (res.anti) put(res.anti, 'anti_logp');
      if (other) {
        put(res.kl!, 'cmp_kl');
        put(res.js!, 'cmp_js');
        put(res.tv!, 'cmp_tv');
        put(res.rise!, 'cmp_rise', K);
        put(res.riseIds!, 'cmp_rise_ids', K);
        put(res.fall!, 'cmp_fall', K);
        put(res.fallIds!, 'cmp_fall_ids', K);
      }
    },
    { feeds, blockBytes: options.blockBytes, onProgress: options.onProgress, hidden: options.hiddenStates ? await options.hiddenStates(runBatch) : undefined, forward: options.forward },
  );
  if (Tp !== T) {
    // [R, B, Tp(, K)] → [R, B, T(, K)]
    const trim = <A extends Float32Array | Int32Array>(a: A, width = 1): A => trimAxis({ data: a as Float32Array, shape: [R, B, Tp, width] }, 2, T).data as A;
    for (const k of ['entropy', 'maxProb', 'forwardKl', 'targetLogp', 'rank', 'anti', 'kl', 'js', 'tv'] as const) if (res[k]) res[k] = trim(res[k]);
    res.topProbs = trim(res.topProbs, K);
    res.topIds = trim(res.topIds, K);
    if (other) {
      res.rise = trim(res.rise!, K);
      res.riseIds = trim(res.riseIds!, K);
      res.fall = trim(res.fall!, K);
      res.fallIds = trim(res.fallIds!, K);
    }
  }

  // Blank the cells whose position has no target.
  const crossEntropy = new Float32Array(R * B * T);
  const logProbDiff = res.anti ? new Float32Array(R * B * T) : null;
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
    comparison: other ? { kl: res.kl!, js: res.js!, tv: res.tv!, ...changesOf(res.rise!, res.riseIds!, res.fall!, res.fallIds!, K) } : null,
  };
}

function changesOf(rise: Float32Array, riseIds: Int32Array, fall: Float32Array, fallIds: Int32Array, k: number): { changeIds: Int32Array; changes: Float32Array } {
  const { ids, changes } = mergeLargestChanges({ values: rise, ids: riseIds }, { values: fall, ids: fallIds }, k);
  return { changeIds: ids, changes };
}
