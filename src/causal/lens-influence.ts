/**
 * The causal-basis objective ("lens influence"): for one lens layer and an orthonormal basis A [d, m],
 *
 *   E(A) = mean over tokens t of KL( p_lens(h_t) ‖ p_lens(h_t with span(A) ablated) ),
 *
 * and its gradient with respect to A, computed inside the compute graph. Tokens are processed in blocks
 * of a fixed size (the last one padded with zero-weight rows), so memory is bounded by the block,
 * not by tokens × vocabulary, and one compiled session serves every block.
 */
import type { Value } from '../graph/graph.js';
import { matmulFlops, type CompiledGraph } from '../graph/runtime.js';
import { gradients } from '../graph/autodiff.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import { removeSubspace, type AblationMode } from './ablation.js';
import { lensGraph, lensLogitsOf } from './lens-apply.js';

/** Hidden states of one layer: `data` is [n, d] row-major (token-major). */
export interface HiddenRows {
  data: Float32Array;
  n: number;
  d: number;
}

/** The mean over every row: what mean ablation replaces a component with. */
export function rowMean(h: HiddenRows): Float32Array {
  const acc = new Float64Array(h.d);
  for (let t = 0; t < h.n; t++) for (let j = 0; j < h.d; j++) acc[j] += h.data[t * h.d + j]!;
  return Float32Array.from(acc, (v) => v / h.n);
}

/**
 * Default block: at most 2048 tokens and about 8 M vocabulary-sized floats per tensor (32 MB), at least 16
 * tokens. The 2048 cap matters for small vocabularies: on stories260K (16384 tokens, 2-core machine under
 * load) one evaluation took 3.7–4.7 s in blocks of 15625 tokens and 0.11–0.15 s in blocks of 2048 — the
 * small graph stays on one intra-op thread and its [block, vocab] tensors stay in cache.
 */
export function defaultBlockTokens(vocabSize: number): number {
  return Math.max(16, Math.min(2048, Math.floor(8_000_000 / vocabSize)));
}

/**
 * The clean lens log-probabilities do not depend on the basis: when all of them fit in this many floats
 * (128 MB) they are computed once and fed, which saves a third of the matmuls of every evaluation.
 */
const CLEAN_CACHE_FLOATS = 32 * 1024 * 1024;

export interface LensInfluenceOptions {
  mode: AblationMode;
  /** Mean for mean ablation (default: the mean of `hidden`). */
  mean?: Float32Array;
  /** Resample ablation: token t takes the component of token perm[t] (a derangement of 0..n-1). */
  perm?: Int32Array;
  /** Tokens per graph run. */
  blockTokens?: number;
}

export class LensInfluence {
  readonly mean: Float32Array;
  private readonly block: number;
  private readonly compiled = new Map<number, Promise<CompiledGraph>>();
  /** Per block: hidden rows, replacement rows (resample) and token weights. */
  private readonly blocks: { h: Float32Array; r: Float32Array | null; w: Float32Array }[] = [];
  /** Number of objective evaluations so far (for progress and benchmarks). */
  evaluations = 0;
  /** Matmul FLOPs of all evaluations so far (for benchmarks: GFLOP/s against the matmul ceiling). */
  flops = 0;
  private readonly flopsPerRun = new Map<number, number>();
  /** Per block: the clean lens log-probs [block, vocab], when cached. */
  private cleanLogProbs: Promise<Float32Array[]> | null = null;
  private readonly cacheClean: boolean;

  constructor(
    readonly lens: Lens,
    readonly layer: number,
    readonly hidden: HiddenRows,
    readonly options: LensInfluenceOptions,
  ) {
    const { n, d } = hidden;
    if (n < 1) throw new Error('lens influence needs at least one token');
    if (options.mode !== 'zero' && n < 2) throw new Error(`${options.mode} ablation needs at least 2 tokens`);
    this.mean = options.mean ?? rowMean(hidden);
    this.block = Math.min(n, options.blockTokens ?? defaultBlockTokens(lens.model.config.vocabSize));
    this.cacheClean = Math.ceil(n / this.block) * this.block * lens.model.config.vocabSize <= CLEAN_CACHE_FLOATS;
    for (let s = 0; s < n; s += this.block) {
      const e = Math.min(n, s + this.block);
      const h = new Float32Array(this.block * d);
      h.set(hidden.data.subarray(s * d, e * d));
      let r: Float32Array | null = null;
      if (options.mode === 'resample') {
        if (!options.perm || options.perm.length !== n) throw new Error(`resample ablation needs a permutation of the ${n} tokens`);
        r = new Float32Array(this.block * d);
        for (let t = s; t < e; t++) r.set(hidden.data.subarray(options.perm[t]! * d, options.perm[t]! * d + d), (t - s) * d);
      }
      const w = new Float32Array(this.block);
      w.fill(1 / n, 0, e - s);
      this.blocks.push({ h, r, w });
    }
  }

  private graph(m: number): Promise<CompiledGraph> {
    let c = this.compiled.get(m);
    if (!c) {
      const { g, weights } = lensGraph(this.lens);
      const d = this.hidden.d;
      const n = this.block;
      const h = g.input('cbe.h', 'float32', [n, d]);
      const basis = g.input('cbe.basis', 'float32', [d, m]);
      const w = g.input('cbe.w', 'float32', [n]);
      const mode = this.options.mode;
      const replacement: Value | undefined = mode === 'mean' ? g.input('cbe.mean', 'float32', [1, d]) : mode === 'resample' ? g.input('cbe.r', 'float32', [n, d]) : undefined;
      const ablated = removeSubspace(h, basis, { mode, replacement });
      const logP = this.cacheClean ? g.input('cbe.logp', 'float32', [n, this.lens.model.config.vocabSize]) : op.logSoftmax(lensLogitsOf(this.lens, weights, h, this.layer));
      const logQ = op.logSoftmax(lensLogitsOf(this.lens, weights, ablated, this.layer));
      const kl = op.reduceSum(op.mul(op.exp(logP), op.sub(logP, logQ)), [-1]);
      const loss = op.reduceSum(op.mul(kl, w), [0]);
      const [grad] = gradients(loss, [basis]);
      this.flopsPerRun.set(m, matmulFlops([loss, grad!]));
      c = this.lens.model.runtime.compile({ loss, grad: grad!, kl });
      this.compiled.set(m, c);
    }
    return c;
  }

  private clean(): Promise<Float32Array[]> {
    if (!this.cleanLogProbs) {
      this.cleanLogProbs = (async () => {
        const { g, weights } = lensGraph(this.lens);
        const h = g.input('cbe.h', 'float32', [this.block, this.hidden.d]);
        const compiled = await this.lens.model.runtime.compile({ logp: op.logSoftmax(lensLogitsOf(this.lens, weights, h, this.layer)) });
        const out: Float32Array[] = [];
        for (const blk of this.blocks) out.push((await this.run(compiled, { 'cbe.h': blk.h })).logp!.data as Float32Array);
        return out;
      })();
    }
    return this.cleanLogProbs;
  }

  private run(compiled: CompiledGraph, extra: Record<string, Float32Array>): ReturnType<CompiledGraph['run']> {
    const all: Record<string, Float32Array> = { ...this.weightFeeds(), ...extra };
    const feeds: Record<string, Float32Array> = {};
    for (const name of compiled.inputs.keys()) feeds[name] = all[name]!;
    return compiled.run(feeds);
  }

  /**
   * E(A) and dE/dA for an orthonormal basis A [d, m] (row-major), accumulated in float64 over blocks.
   * With `perToken`, also the KL of every token.
   */
  async evaluate(basis: Float32Array, m: number, perToken = false): Promise<{ value: number; grad: Float64Array; kl?: Float32Array }> {
    const d = this.hidden.d;
    if (basis.length !== d * m) throw new Error(`basis has ${basis.length} values, expected ${d} × ${m}`);
    const compiled = await this.graph(m);
    const fixed: Record<string, Float32Array> = { 'cbe.basis': basis, 'cbe.mean': this.mean };
    const clean = this.cacheClean ? await this.clean() : null;
    let value = 0;
    const grad = new Float64Array(d * m);
    const kl = perToken ? new Float32Array(this.hidden.n) : undefined;
    for (let b = 0; b < this.blocks.length; b++) {
      const blk = this.blocks[b]!;
      const extra: Record<string, Float32Array> = { ...fixed, 'cbe.h': blk.h, 'cbe.w': blk.w };
      if (blk.r) extra['cbe.r'] = blk.r;
      if (clean) extra['cbe.logp'] = clean[b]!;
      const out = await this.run(compiled, extra);
      value += (out.loss!.data as Float32Array)[0]!;
      const gb = out.grad!.data as Float32Array;
      for (let i = 0; i < gb.length; i++) grad[i] += gb[i]!;
      if (kl) {
        const s = b * this.block;
        const k = out.kl!.data as Float32Array;
        kl.set(k.subarray(0, Math.min(this.block, this.hidden.n - s)), s);
      }
    }
    this.evaluations++;
    this.flops += this.flopsPerRun.get(m)! * this.blocks.length;
    return { value, grad, kl };
  }

  private feedCache: Record<string, Float32Array> | null = null;
  private weightFeeds(): Record<string, Float32Array> {
    if (!this.feedCache) {
      const f: Record<string, Float32Array> = { ...this.lens.feeds() };
      for (const [name, t] of this.lens.model.weights) f[name] = t.data;
      this.feedCache = f;
    }
    return this.feedCache;
  }
}
