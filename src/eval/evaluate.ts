/**
 * Per-layer evaluation of lenses, like the reference `tuned-lens eval`: for every batch, every lens and
 * every layer j < L, next-token cross-entropy (shift 1), entropy and KL(final ‖ lens), plus the model's
 * own CE and entropy as the baseline. All reductions run inside the graph; per-batch means come back.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { lensLogits, type Lens } from '../lens/lens.js';
import type { LanguageModel, ModelGraph } from '../models/language-model.js';
import { unembed } from '../models/transformer.js';
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

/** Mean next-token cross-entropy of log-probs [B, T, V] against ids [B, T] (positions 0..T-2). */
function nextTokenCe(logp: Value, ids: Value): Value {
  const T = ids.shape[1]!;
  const nll = op.neg(op.gatherLast(op.slice(logp, 1, 0, T - 1), op.slice(ids, 1, 1, T)));
  return op.reduceMean(nll, [0, 1]);
}

function buildEvalGraph(model: LanguageModel, mg: ModelGraph, options: EvalOptions): Record<string, Value> {
  const outputs: Record<string, Value> = {};
  const finalLogp = op.logSoftmax(mg.forward.logits);
  outputs['baseline/ce/final'] = nextTokenCe(finalLogp, mg.ids);
  outputs['baseline/entropy/final'] = op.reduceMean(entropyOf(finalLogp), [0, 1]);
  for (const { name, lens } of options.lenses) {
    for (let j = 0; j < model.nLayers; j++) {
      mg.g.scope(`${name}.${j}`, () => {
        const lps = op.logSoftmax(lensLogits(lens, mg, j));
        outputs[`${name}/ce/layer_${j}`] = nextTokenCe(lps, mg.ids);
        outputs[`${name}/entropy/layer_${j}`] = op.reduceMean(entropyOf(lps), [0, 1]);
        outputs[`${name}/kl/layer_${j}`] = op.reduceMean(klOf(finalLogp, lps), [0, 1]);
        if (options.logitStats) outputs[`marginal/${name}/${j}`] = op.reduceMean(op.exp(lps), [0, 1]);
        if (options.layerTransfer && lens.kind === 'tuned') {
          for (let i = 0; i < model.nLayers; i++) {
            const h = mg.forward.hiddenStates[j]!;
            const other = op.logSoftmax(unembed(model.config, mg.weights, lens.transformHidden(h, i)));
            outputs[`transfer/ce/${i}/${j}`] = nextTokenCe(other, mg.ids);
            outputs[`transfer/kl/${i}/${j}`] = op.reduceMean(klOf(lps, other), [0, 1]);
          }
        }
      });
    }
  }
  return outputs;
}

export async function evaluateLenses(model: LanguageModel, chunks: readonly number[][], options: EvalOptions): Promise<EvalResult> {
  if (chunks.length === 0) throw new Error('no evaluation data');
  const T = chunks[0]!.length;
  if (T < 2) throw new Error('evaluation sequences need at least 2 tokens (cross-entropy predicts the next one)');
  for (const c of chunks) if (c.length !== T) throw new Error(`evaluation sequences must all have ${T} tokens, got one with ${c.length}`);
  const run = await model.compileForShape({ ids: [chunks[0]!] }, (mg) => buildEvalGraph(model, mg, options));
  const lensFeeds = Object.assign({}, ...options.lenses.map((l) => l.lens.feeds())) as Record<string, Float32Array>;

  const perBatch: MetricsLayout[] = [];
  const L = model.nLayers;
  const transferSum = options.layerTransfer ? { ce: zeros2(L), kl: zeros2(L) } : null;
  const marginals: Record<string, Float32Array[]> | null = options.logitStats ? {} : null;
  for (let b = 0; b < chunks.length; b++) {
    const r = await run({ ids: [chunks[b]!] }, lensFeeds);
    const layout: MetricsLayout = {};
    for (const [key, v] of Object.entries(r)) {
      const parts = key.split('/');
      const value = (v.data as Float32Array)[0]!;
      if (parts[0] === 'transfer') {
        transferSum![parts[1] as 'ce' | 'kl'][Number(parts[2])]![Number(parts[3])]! += value;
      } else if (parts[0] === 'marginal') {
        const list = (marginals![parts[1]!] ??= []);
        const j = Number(parts[2]);
        const src = v.data as Float32Array;
        const acc = (list[j] ??= new Float32Array(src.length));
        for (let k = 0; k < src.length; k++) acc[k]! += src[k]! / chunks.length;
      } else {
        const [lensName, metric, layer] = parts as [string, string, string];
        ((layout[lensName] ??= {})[metric] ??= {})[layer] = value;
        if (!Number.isFinite(value)) throw new Error(`evaluation produced ${value} for ${lensName} ${metric} ${layer} at batch ${b}; the model or lens outputs are not finite`);
      }
    }
    perBatch.push(orderLayout(layout, options.lenses.map((l) => l.name), L));
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
