/**
 * Computes a prediction trajectory: for every lens layer 0..L-1 plus the model output (the last row),
 * and every position, the statistics of row-statistics.ts and the top-k tokens, in one graph run.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { HostArray } from '../graph/runtime.js';
import { lensLogits, type Lens } from '../lens/lens.js';
import { batchShape, type Batch } from '../models/position-inputs.js';
import { jsOf, klOf, rowStatistics, tvOf, type RowStatValues } from './row-statistics.js';

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

function toInt64(rows: number[][]): BigInt64Array {
  return BigInt64Array.from(rows.flat(), (v) => BigInt(v < 0 ? 0 : v));
}

/** Stacks per-row [B, T(, K)] values into one [R, B, T(, K)] output. */
function stack(vs: Value[]): Value {
  return op.concat(vs.map((v) => op.reshape(v, [1, ...v.shape])), 0);
}

export async function computeTrajectory(lens: Lens, batch: Batch, options: TrajectoryOptions = {}): Promise<TrajectoryData> {
  const model = lens.model;
  const [B, T] = batchShape(batch);
  const V = model.config.vocabSize;
  const L = model.nLayers;
  const K = Math.min(options.topK ?? 10, V);
  const targets = options.targets ?? defaultTargets(batch.ids);
  const antiTargets = options.antiTargets ?? null;
  for (const [name, arr] of [['targets', targets], ['antiTargets', antiTargets]] as const) {
    if (!arr) continue;
    if (arr.length !== B || arr.some((r) => r.length !== T)) throw new Error(`${name} must have the [${B}][${T}] shape of the input`);
    for (const row of arr) for (const v of row) if (v >= V || !Number.isInteger(v)) throw new Error(`${name} id ${v} is outside the vocabulary (0..${V - 1})`);
  }
  if (options.compareWith && options.compareWith.model !== model) throw new Error('compareWith must be a lens on the same model');

  const mg = model.buildGraph(batch);
  const g = mg.g;
  const targetsIn = g.input('targets', 'int64', [B, T]);
  const antiIn = antiTargets ? g.input('anti_targets', 'int64', [B, T]) : undefined;
  const inputMask = options.maskInput ? g.input('input_token_mask', 'float32', [B, 1, V]) : null;
  const outputLogp = op.logSoftmax(mg.forward.logits);

  const perRow: RowStatValues[] = [];
  const cmp: { kl: Value[]; js: Value[]; tv: Value[] } = { kl: [], js: [], tv: [] };
  const rowLogp = (l: typeof lens, i: number): Value => {
    const logits = lensLogits(l, mg, i);
    return op.logSoftmax(inputMask ? op.add(logits, inputMask) : logits);
  };
  for (let r = 0; r <= L; r++) {
    g.scope(`row.${r}`, () => {
      const logp = r < L ? rowLogp(lens, r) : outputLogp;
      perRow.push(rowStatistics({ logp, outputLogp, targets: targetsIn, antiTargets: antiIn, topK: K }));
      if (options.compareWith) {
        const other = r < L ? rowLogp(options.compareWith, r) : outputLogp;
        cmp.kl.push(klOf(logp, other));
        cmp.js.push(jsOf(logp, other));
        cmp.tv.push(tvOf(logp, other));
      }
    });
  }
  const outputs: Record<string, Value> = {
    entropy: stack(perRow.map((s) => s.entropy)),
    max_prob: stack(perRow.map((s) => s.maxProb)),
    forward_kl: stack(perRow.map((s) => s.forwardKl!)),
    target_logp: stack(perRow.map((s) => s.targetLogp!)),
    rank: stack(perRow.map((s) => s.rank!)),
    top_probs: stack(perRow.map((s) => s.topProbs!)),
    top_ids: stack(perRow.map((s) => s.topIds!)),
  };
  if (antiIn) outputs.anti_logp = stack(perRow.map((s) => s.antiTargetLogp!));
  if (options.compareWith) {
    outputs.cmp_kl = stack(cmp.kl);
    outputs.cmp_js = stack(cmp.js);
    outputs.cmp_tv = stack(cmp.tv);
  }

  const feeds: Record<string, HostArray['data']> = { ...lens.feeds(), ...(options.compareWith?.feeds() ?? {}), targets: toInt64(targets) };
  if (antiTargets) feeds.anti_targets = toInt64(antiTargets);
  if (inputMask) {
    const m = new Float32Array(B * V);
    batch.ids.forEach((row, b) => row.forEach((id) => (m[b * V + id] = FORBIDDEN)));
    feeds.input_token_mask = m;
  }
  const res = await model.run(mg, outputs, feeds);
  const f32 = (name: string): Float32Array => res[name]!.data as Float32Array;

  // Blank the cells whose position has no target.
  const R = L + 1;
  const targetLogp = f32('target_logp');
  const crossEntropy = new Float32Array(R * B * T);
  const rank = f32('rank');
  const anti = antiIn ? f32('anti_logp') : null;
  const logProbDiff = anti ? new Float32Array(R * B * T) : null;
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = (r * B + b) * T + t;
        const hasT = targets[b]![t]! >= 0;
        crossEntropy[i] = hasT ? -targetLogp[i]! : NaN;
        if (!hasT) rank[i] = NaN;
        if (logProbDiff) logProbDiff[i] = hasT && antiTargets![b]![t]! >= 0 ? targetLogp[i]! - anti![i]! : NaN;
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
    entropy: f32('entropy'),
    maxProb: f32('max_prob'),
    forwardKl: f32('forward_kl'),
    crossEntropy,
    rank,
    logProbDiff,
    topIds: Int32Array.from(res.top_ids!.data as BigInt64Array, (v) => Number(v)),
    topProbs: f32('top_probs'),
    comparison: options.compareWith ? { kl: f32('cmp_kl'), js: f32('cmp_js'), tv: f32('cmp_tv') } : null,
  };
}
