/**
 * Per-layer evaluation of lenses, like the reference `tuned-lens eval`: for every batch, every lens and
 * every layer j < L, next-token cross-entropy (shift 1), entropy and KL(final ‖ lens), plus the model's
 * own CE and entropy as the baseline. A reduction of the lens-rows engine: memory is bounded by the block
 * of positions, all reductions run inside the graph, and per-batch means come back.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import { allRows, CompiledRows, compileHiddenStates, lensRows, type RowRef, type RowReduction } from '../lens/rows.js';
import type { LanguageModel } from '../models/language-model.js';
import { entropyOf, klOf } from '../trajectory/row-statistics.js';

export interface NamedLens {
  /** "logit" or "tuned": the top-level key in aggregate_metrics.json. */
  name: string;
  lens: Lens;
}

export interface EvalOptions {
  lenses: NamedLens[];
  /** Also evaluate every tuned translator on every layer's hidden state (the reference's --layer_transfer). */
  layerTransfer?: boolean;
  /** Record each layer's marginal token distribution (mean of p over all positions). */
  logitStats?: boolean;
  onBatch?: (done: number, total: number) => void;
  /** Upper bound for the largest [rows, 1, block, vocab] tensor of one block of positions, in bytes (default 48 MB). */
  blockBytes?: number;
}

/** `{lens: {metric: {layer_j: value}}, baseline: {ce: {final}, entropy: {final}}}` — the reference layout. */
export type MetricsLayout = Record<string, Record<string, Record<string, number>>>;

export interface EvalResult {
  /** Means over batches, nats per token. */
  nats: MetricsLayout;
  perBatch: MetricsLayout[];
  /** transfer[lens][i][j]: translator i applied to hidden state j. */
  transfer: { ce: number[][]; kl: number[][] } | null;
  /** Per lens and layer: the mean predicted distribution (vocab-sized). */
  marginals: Record<string, Float32Array[]> | null;
  tokens: number;
  batches: number;
}

const METRICS = ['ce', 'entropy', 'kl'] as const;

/** Position inputs: next-token ids, and per-position weights that turn block sums into means. */
const NEXT_IDS = 'next_ids';
const CE_WEIGHTS = 'ce_weights';
const MEAN_WEIGHTS = 'mean_weights';

/**
 * The eval metrics as a reduction of the lens-rows engine: per block, every lens's L rows (the first
 * lens also stacks the model's output row) and, with layer transfer, the tuned lens's L × L rows, reduced
 * to weighted sums over the block's positions; the sums over blocks are the per-batch means.
 */
function evalReduction(model: LanguageModel, options: EvalOptions, transferLens: Lens | null): RowReduction {
  const L = model.nLayers;
  const lenses = options.lenses;
  return {
    rowsPerBlock: lenses.length * L + 1 + (transferLens ? L * L : 0),
    build: (block) => {
      const { batch: B, positions: tb } = block;
      const V = model.config.vocabSize;
      const next = block.positionInput(NEXT_IDS, 'int64');
      const ceW = block.positionInput(CE_WEIGHTS, 'float32');
      const meanW = block.positionInput(MEAN_WEIGHTS, 'float32');
      // Σ over the block of x [.., B, tb] weighted per position.
      const weighted = (x: Value, w: Value): Value => op.reduceSum(op.mul(x, w), [x.rank - 2, x.rank - 1]);
      const nll = (logp: Value): Value => op.neg(op.gatherLast(logp, op.expand(next, logp.shape.slice(0, -1))));
      const outputs: Record<string, Value> = {};
      let finalLogp: Value | null = null;
      lenses.forEach(({ lens }, k) => {
        const logp = op.logSoftmax(block.logits(lens, k === 0 ? allRows(L) : lensRows(L)));
        if (k === 0) {
          finalLogp = op.slice(logp, 0, L, L + 1);
          outputs.baseline_ce = weighted(nll(finalLogp), ceW);
          outputs.baseline_entropy = weighted(entropyOf(finalLogp), meanW);
        }
        const lps = k === 0 ? op.slice(logp, 0, 0, L) : logp;
        outputs[`ce_${k}`] = weighted(nll(lps), ceW);
        outputs[`entropy_${k}`] = weighted(entropyOf(lps), meanW);
        outputs[`kl_${k}`] = weighted(klOf(finalLogp!, lps), meanW);
        if (options.logitStats) outputs[`marginal_${k}`] = op.reduceSum(op.mul(op.exp(lps), op.reshape(meanW, [1, B, tb, 1])), [1, 2]);
        if (lens === transferLens) {
          // Row i·L + j: translator i on hidden state j.
          const rows: RowRef[] = Array.from({ length: L * L }, (_, r) => ({ translator: Math.floor(r / L), hidden: r % L }));
          const other = op.logSoftmax(block.logits(lens, rows));
          outputs.transfer_ce = weighted(nll(other), ceW);
          const kl = klOf(op.reshape(lps, [1, L, B, tb, V]), op.reshape(other, [L, L, B, tb, V]));
          outputs.transfer_kl = op.reshape(weighted(kl, meanW), [L * L]);
        }
      });
      return outputs;
    },
  };
}

export async function evaluateLenses(model: LanguageModel, chunks: readonly number[][], options: EvalOptions): Promise<EvalResult> {
  if (chunks.length === 0) throw new Error('no evaluation data');
  if (options.lenses.length === 0) throw new Error('evaluation needs at least one lens');
  const T = chunks[0]!.length;
  if (T < 2) throw new Error('evaluation sequences need at least 2 tokens (cross-entropy predicts the next one)');
  for (const c of chunks) if (c.length !== T) throw new Error(`evaluation sequences must all have ${T} tokens, got one with ${c.length}`);
  const L = model.nLayers;
  const transferLens = options.layerTransfer ? (options.lenses.find((l) => l.lens.kind === 'tuned')?.lens ?? null) : null;
  // One sequence per batch, as the reference evaluates; compiled once for the shape.
  const forward = await compileHiddenStates(model, { ids: [chunks[0]!] });
  const rows = await CompiledRows.compile(model, 1, T, evalReduction(model, options, transferLens), { blockBytes: options.blockBytes });
  const ceWeights = Float32Array.from({ length: T }, (_, t) => (t < T - 1 ? 1 / (T - 1) : 0));
  const meanWeights = new Float32Array(T).fill(1 / T);

  const perBatch: MetricsLayout[] = [];
  const transferSum = transferLens ? { ce: zeros2(L), kl: zeros2(L) } : null;
  const marginals: Record<string, Float32Array[]> | null = options.logitStats ? {} : null;
  for (let b = 0; b < chunks.length; b++) {
    const ids = chunks[b]!;
    const sums: Record<string, Float64Array> = {};
    const next = BigInt64Array.from(ids, (_, t) => BigInt(t + 1 < T ? ids[t + 1]! : 0));
    await rows.run(await forward({ ids: [ids] }), { [NEXT_IDS]: next, [CE_WEIGHTS]: ceWeights, [MEAN_WEIGHTS]: meanWeights }, (out) => {
      for (const [name, v] of Object.entries(out)) {
        const acc = (sums[name] ??= new Float64Array(v.data.length));
        for (let i = 0; i < acc.length; i++) acc[i]! += (v.data as Float32Array)[i]!;
      }
    });
    const layout: MetricsLayout = { baseline: { ce: { final: sums.baseline_ce![0]! }, entropy: { final: sums.baseline_entropy![0]! } } };
    options.lenses.forEach(({ name }, k) => {
      layout[name] = {};
      for (const m of METRICS) {
        layout[name][m] = {};
        for (let j = 0; j < L; j++) layout[name][m][`layer_${j}`] = sums[`${m}_${k}`]![j]!;
      }
      if (marginals) {
        const src = sums[`marginal_${k}`]!;
        const V = src.length / L;
        const list = (marginals[name] ??= Array.from({ length: L }, () => new Float32Array(V)));
        list.forEach((acc, j) => {
          for (let v = 0; v < V; v++) acc[v]! += src[j * V + v]! / chunks.length;
        });
      }
    });
    if (transferSum) {
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          transferSum.ce[i]![j]! += sums.transfer_ce![i * L + j]!;
          transferSum.kl[i]![j]! += sums.transfer_kl![i * L + j]!;
        }
      }
    }
    const ordered = orderLayout(layout, options.lenses.map((l) => l.name), L);
    for (const [lens, metrics] of Object.entries(ordered)) {
      for (const [metric, layers] of Object.entries(metrics)) {
        for (const [layer, value] of Object.entries(layers)) {
          if (!Number.isFinite(value)) throw new Error(`evaluation produced ${value} for ${lens} ${metric} ${layer} at batch ${b}; the model or lens outputs are not finite`);
        }
      }
    }
    perBatch.push(ordered);
    options.onBatch?.(b + 1, chunks.length);
  }
  return {
    nats: meanLayout(perBatch),
    perBatch,
    transfer: transferSum && { ce: transferSum.ce.map((row) => row.map((x) => x / chunks.length)), kl: transferSum.kl.map((row) => row.map((x) => x / chunks.length)) },
    marginals,
    tokens: chunks.length * T,
    batches: chunks.length,
  };
}

function zeros2(n: number): number[][] {
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

/** The reference's key order: lenses in order, then baseline; metrics ce, entropy, kl; layers ascending. */
function orderLayout(layout: MetricsLayout, lensNames: string[], L: number): MetricsLayout {
  const out: MetricsLayout = {};
  for (const name of lensNames) {
    out[name] = {};
    for (const m of METRICS) {
      out[name][m] = {};
      for (let j = 0; j < L; j++) out[name][m][`layer_${j}`] = layout[name]![m]![`layer_${j}`]!;
    }
  }
  out.baseline = { ce: { final: layout.baseline!.ce!.final! }, entropy: { final: layout.baseline!.entropy!.final! } };
  return out;
}

/** Mean over batches of each leaf, keeping the layout. */
export function meanLayout(batches: MetricsLayout[]): MetricsLayout {
  return mapLayout(batches[0]!, (lens, metric, layer) => batches.reduce((s, b) => s + b[lens]![metric]![layer]!, 0) / batches.length);
}

export function mapLayout(layout: MetricsLayout, f: (lens: string, metric: string, layer: string, value: number) => number): MetricsLayout {
  const out: MetricsLayout = {};
  for (const [lens, metrics] of Object.entries(layout)) {
    out[lens] = {};
    for (const [metric, layers] of Object.entries(metrics)) {
      out[lens][metric] = {};
      for (const [layer, v] of Object.entries(layers)) out[lens][metric][layer] = f(lens, metric, layer, v);
    }
  }
  return out;
}
