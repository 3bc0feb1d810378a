/**
 * Per-cell statistics of one trajectory row (a lens layer or the model output), computed inside the
 * graph so that only [B, T]-sized summaries and the top-k leave onnxruntime — never a vocab-sized
 * array per layer.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';

export interface RowStatInputs {
  /** Log-probabilities of this row, [B, T, V]. */
  logp: Value;
  /** Log-probabilities of the model output, [B, T, V] (for forward KL). */
  outputLogp?: Value;
  /** int64 [B, T]; positions without a target hold any valid id and are blanked in JS. */
  targets?: Value;
  antiTargets?: Value;
  topK?: number;
}

export interface RowStatValues {
  entropy: Value;
  maxProb: Value;
  forwardKl?: Value;
  targetLogp?: Value;
  rank?: Value;
  antiTargetLogp?: Value;
  topProbs?: Value;
  topIds?: Value;
}

/** −Σ p log p over the last axis. */
export function entropyOf(logp: Value): Value {
  return op.neg(op.reduceSum(op.mul(op.exp(logp), logp), [-1]));
}

/** KL(p ‖ q) = Σ p (log p − log q) over the last axis, from log-probabilities. */
export function klOf(logp: Value, logq: Value): Value {
  return op.reduceSum(op.mul(op.exp(logp), op.sub(logp, logq)), [-1]);
}

/** Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2 (the true JSD, unlike the reference's). */
export function jsOf(logp: Value, logq: Value): Value {
  const p = op.exp(logp);
  const q = op.exp(logq);
  const logm = op.log(op.mul(op.add(p, q), 0.5));
  // Tokens with p = 0 (e.g. forbidden by mask_input) contribute 0, not 0·(−∞) = NaN.
  const term = (x: Value, logx: Value): Value => op.where(op.greater(x, 0), op.mul(x, op.sub(logx, logm)), 0);
  return op.mul(op.reduceSum(op.add(term(p, logp), term(q, logq)), [-1]), 0.5);
}

/** Total variation distance ½ Σ |p − q| (the true TV, unlike the reference's max-abs). */
export function tvOf(logp: Value, logq: Value): Value {
  return op.mul(op.reduceSum(op.abs(op.sub(op.exp(logp), op.exp(logq))), [-1]), 0.5);
}

/** 1-based rank of the target: 1 + the number of tokens with strictly higher probability. */
export function rankOf(logp: Value, targetLogp: Value): Value {
  const t = op.reshape(targetLogp, [...targetLogp.shape, 1]);
  return op.add(op.reduceSum(op.cast(op.greater(logp, t), logp.dtype), [-1]), 1);
}

export function rowStatistics(inp: RowStatInputs): RowStatValues {
  const { logp } = inp;
  const top = inp.topK ? op.topK(logp, inp.topK) : null;
  const out: RowStatValues = {
    entropy: entropyOf(logp),
    // With a top-k, its first entry is the maximum: no second pass over the vocabulary.
    maxProb: top ? op.exp(op.slice(top[0], -1, 0, 1)) : op.exp(op.reduceMax(logp, [-1], true)),
  };
  out.maxProb = op.reshape(out.maxProb, logp.shape.slice(0, -1));
  if (inp.outputLogp) {
    // KL(out ‖ row) = Σ p_out log p_out − Σ p_out log p_row. The first sum is over the output row only
    // ([1, …] broadcast), so the full [rows, …, vocab] tensor gets one Mul, not klOf's Sub and Mul.
    const pOut = op.exp(inp.outputLogp);
    out.forwardKl = op.sub(op.reduceSum(op.mul(pOut, inp.outputLogp), [-1]), op.reduceSum(op.mul(pOut, logp), [-1]));
  }
  if (inp.targets) {
    out.targetLogp = op.gatherLast(logp, inp.targets);
    out.rank = rankOf(logp, out.targetLogp);
  }
  if (inp.antiTargets) out.antiTargetLogp = op.gatherLast(logp, inp.antiTargets);
  if (top) {
    out.topProbs = op.exp(top[0]);
    out.topIds = top[1];
  }
  return out;
}

/**
 * The k tokens whose probability rose most and the k whose probability fell most from q to p, as two
 * top-k's of p − q and q − p ([..., k] values and int64 ids). The k largest |p − q| are among these 2k,
 * so `mergeLargestChanges` picks them exactly on the host, with no vocab-sized array leaving the graph.
 */
export function largestChangesOf(logp: Value, logq: Value, k: number): { rise: [Value, Value]; fall: [Value, Value] } {
  const d = op.sub(op.exp(logp), op.exp(logq));
  return { rise: op.topK(d, k), fall: op.topK(op.neg(d), k) };
}

/**
 * Per cell, the k tokens with the largest |p − q|, largest first, from `largestChangesOf`'s outputs
 * (flat [cells × k] each): signed changes p − q and their ids. A token in both lists (only possible
 * with a zero change) is kept once.
 */
export function mergeLargestChanges(
  rise: { values: ArrayLike<number>; ids: ArrayLike<number> },
  fall: { values: ArrayLike<number>; ids: ArrayLike<number> },
  k: number,
): { ids: Int32Array; changes: Float32Array } {
  const cells = rise.values.length / k;
  const ids = new Int32Array(cells * k);
  const changes = new Float32Array(cells * k);
  for (let c = 0; c < cells; c++) {
    let i = 0;
    let j = 0;
    const seen = new Set<number>();
    for (let n = 0; n < k; ) {
      const takeRise = j >= k || (i < k && rise.values[c * k + i]! >= fall.values[c * k + j]!);
      const id = takeRise ? rise.ids[c * k + i]! : fall.ids[c * k + j]!;
      const change = takeRise ? rise.values[c * k + i++]! : -fall.values[c * k + j++]!;
      if (seen.has(id)) continue;
      seen.add(id);
      ids[c * k + n] = id;
      changes[c * k + n] = change;
      n++;
    }
  }
  return { ids, changes };
}
