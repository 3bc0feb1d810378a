/**
 * A loaded model: config, canonical weights and tokenizer, plus the graph plumbing to run it.
 * Portable (no node:* imports): the runtime is injected.
 */
import { Graph, type Value } from '../graph/graph.js';
import { outputsInOneArray, type HostArray, type Runtime } from '../graph/runtime.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Architecture } from './architecture.js';
import type { ModelWeights } from './load-weights.js';
import type { ModelConfig } from './model-config.js';
import { alibiBias, attentionMask, batchShape, distinctWindows, maskInputName, positionIds, rotaryTables, type Batch } from './position-inputs.js';
import { ExtraInputs, type ForwardOptions } from './interventions.js';
import { forwardGraph, type ForwardValues } from './transformer.js';
import { DEFAULT_LOGIT_BLOCK_BYTES, logitsInSlices } from './logits-in-slices.js';
import { positionInputs, WeightInputs, type PositionValues } from './graph-inputs.js';

export interface ForwardResult {
  /** [B, T, vocab] */
  logits: HostArray;
  /**
   * L + 1 arrays of [B, T, d] (HF indexing; the last is after the final norm); plan length + 1 with a block
   * plan. They and `finalNormInput` (and small logits) are views of one array: `slice()` one to keep it alone.
   */
  hiddenStates: HostArray[];
  /** [B, T, d] residual before the final norm. */
  finalNormInput: HostArray;
}

/** A graph under construction around one batch: the model's inputs are declared, outputs are up to the caller. */
export interface ModelGraph {
  g: Graph;
  weights: WeightInputs;
  ids: Value;
  positions: PositionValues;
  forward: ForwardValues;
  /** Inputs declared by edits or by the caller (`extraInputs.input(...)`), fed with the data given there. */
  extraInputs: ExtraInputs;
  /** Feeds for ids, masks, positions, weights and extra inputs with data. */
  feeds(): Record<string, HostArray['data']>;
}

/**
 * How `forward` compiles its trunk when it returns a new result. Where the intermediates are large (the
 * widest, [B, T, max(d_ff, 3d)], at least 4 MiB), without onnxruntime's memory arena: an arena would stay
 * resident under the vocabulary-sized logits that follow (GPT-2-small's forward at 1024 tokens, 12 MiB:
 * peak RSS 1010–1018 MiB with it, 940–963 without). Small ones are many small mallocs, which the arena does
 * faster (stories260K's training trunk, 0.5 MiB: 17.6 ms a run with it, 21.8 without). Trunks that feed the
 * lens rows (`compileForShape(…, trunk)`) and a forward writing `into` a previous result keep the arena:
 * there it is both faster and no larger at the peak (two threads, GPT-2-small at 1024 tokens, alternating
 * processes: lens training 115–129 → 127–131 tokens/s with peak RSS 1308–1327 → 1290–1291 MiB; a trajectory
 * 5.23–5.86 → 5.05–5.76 s, peak 1001–1003 → 992–998 MiB).
 */
function trunkCompileOptions(cfg: ModelConfig, shape: Batch): { memoryArena: boolean } {
  const [B, T] = batchShape(shape);
  return { memoryArena: B * T * Math.max(cfg.dFF, 3 * cfg.dModel) * 4 < 4 * 2 ** 20 };
}

export class LanguageModel {
  constructor(
    readonly name: string,
    readonly config: ModelConfig,
    readonly architecture: Architecture,
    readonly weights: ModelWeights,
    readonly tokenizer: Tokenizer,
    readonly runtime: Runtime,
  ) {}

  get nLayers(): number {
    return this.config.nLayers;
  }

  /** Tokenizes `text` with the model's BOS convention. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /**
   * Declares the forward pass for `batch` in a new graph; add outputs and run it with `run`. Options:
   * a block plan, edits at the named sites, and `fusedAttention: false` for attention built as its decomposition.
   */
  buildGraph(batch: Batch, options: ForwardOptions = {}): ModelGraph {
    const [B, T] = batchShape(batch);
    const cfg = this.config;
    if (T > cfg.maxPositions && cfg.position.kind === 'learned') {
      throw new Error(`the input has ${T} tokens but ${this.name} has learned positions for at most ${cfg.maxPositions}`);
    }
    for (const row of batch.ids) {
      for (const id of row) if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new Error(`token id ${id} is outside the vocabulary of ${this.name} (0..${cfg.vocabSize - 1})`);
    }
    const g = new Graph();
    const weights = new WeightInputs(g, this.weights);
    const ids = g.input('input_ids', 'int64', [B, T]);
    const positions = positionInputs(g, cfg, B, T, options.fusedAttention ?? true);
    const extraInputs = new ExtraInputs(g);
    const forward = forwardGraph(cfg, weights, ids, positions, options, extraInputs);
    const feeds = (): Record<string, HostArray['data']> => ({ ...weights.feeds(), ...extraInputs.feeds(), ...this.batchFeeds(batch) });
    return { g, weights, ids, positions, forward, extraInputs, feeds };
  }

  /** Feeds that depend on the batch only (ids, masks, positions): reuse a compiled graph for another batch of the same shape. */
  batchFeeds(batch: Batch): Record<string, HostArray['data']> {
    const [B, T] = batchShape(batch);
    const padded = batch.attentionMask?.some((row) => row.some((m) => m === 0)) ?? false;
    // Without padding, masks and position tables depend on the shape only: compute them once.
    const key = `${B}x${T}`;
    let pos = padded ? undefined : this.positionFeedCache.get(key);
    if (!pos) {
      pos = this.positionFeeds(batch);
      if (!padded) {
        if (this.positionFeedCache.size > 16) this.positionFeedCache.clear();
        this.positionFeedCache.set(key, pos);
      }
    }
    return { ...pos, input_ids: BigInt64Array.from(batch.ids.flat(), (v) => BigInt(v)) };
  }

  private readonly positionFeedCache = new Map<string, Record<string, HostArray['data']>>();

  private positionFeeds(batch: Batch): Record<string, HostArray['data']> {
    const cfg = this.config;
    const f: Record<string, HostArray['data']> = {};
    for (const w of distinctWindows(cfg)) f[maskInputName(w)] = attentionMask(batch, w);
    if (cfg.position.kind === 'learned') f.position_ids = BigInt64Array.from(positionIds(batch).flat(), (v) => BigInt(v));
    if (cfg.position.kind === 'rotary') {
      const { cos, sin } = rotaryTables(batch, cfg.position.rotaryDim, cfg.position.theta);
      f.rope_cos = cos;
      f.rope_sin = sin;
    }
    if (cfg.position.kind === 'alibi') f.alibi = alibiBias(batch, cfg.nHeads);
    return f;
  }

  /** Runs a graph built with `buildGraph` (the compiled graph takes only the inputs its outputs need). */
  async run(mg: ModelGraph, outputs: Record<string, Value>, extraFeeds: Record<string, HostArray['data']> = {}): Promise<Record<string, HostArray>> {
    return (await this.runtime.compile(outputs)).run({ ...mg.feeds(), ...extraFeeds });
  }

  /**
   * Builds and compiles a graph once for batches shaped like `shape`, returning a function that runs
   * it on any batch of that shape (only ids and position inputs change between runs). `trunk`: the
   * outputs are large per-position states (hidden states), written into one array per run.
   */
  async compileForShape(
    shape: Batch,
    build: (mg: ModelGraph) => Record<string, Value>,
    options: ForwardOptions = {},
    trunk = false,
  ): Promise<(batch: Batch, extraFeeds?: Record<string, HostArray['data']>) => Promise<Record<string, HostArray>>> {
    const mg = this.buildGraph(shape, options);
    const outputs = build(mg);
    const compiled = await this.runtime.compile(outputs);
    const weightFeeds = mg.weights.feeds();
    const [B, T] = batchShape(shape);
    return async (batch, extraFeeds = {}) => {
      const [b, t] = batchShape(batch);
      if (b !== B || t !== T) throw new Error(`this compiled graph takes batches of ${B} × ${T} tokens, got ${b} × ${t}`);
      return compiled.run({ ...weightFeeds, ...mg.extraInputs.feeds(), ...this.batchFeeds(batch), ...extraFeeds }, trunk ? outputsInOneArray(compiled.outputs) : {});
    };
  }

  /**
   * Logits, every hidden state (HF indexing) and the residual before the final norm; options as in `buildGraph`.
   * Logits larger than `logitBlockBytes` (default 8 MB) are computed by a second graph over slices of the
   * vocabulary (src/models/logits-in-slices.ts), so the only vocabulary-sized array is the returned one.
   * `into`: a previous result of the same batch shape whose arrays are overwritten instead of allocating
   * new ones, and the trunk keeps its intermediates in onnxruntime's arena between runs. For repeated
   * forwards that is much faster where fresh memory is slow to touch (docs/benchmarks.md), for more resident
   * memory (GPT-2-small at 1024 tokens: about 2.2× the checkpoint instead of 1.9×); the previous result's
   * contents are gone.
   */
  async forward(batch: Batch, options: Omit<ForwardOptions, 'logits'> & { logitBlockBytes?: number; into?: ForwardResult } = {}): Promise<ForwardResult> {
    const { logitBlockBytes = DEFAULT_LOGIT_BLOCK_BYTES, into, ...forwardOptions } = options;
    const [B, T] = batchShape(batch);
    const V = this.config.vocabSize;
    const inGraph = B * T * V * 4 <= logitBlockBytes;
    const mg = this.buildGraph(batch, { ...forwardOptions, logits: inGraph });
    const outputs: Record<string, Value> = { final_norm_input: mg.forward.finalNormInput };
    if (inGraph) outputs.logits = mg.forward.logits;
    mg.forward.hiddenStates.forEach((h, i) => (outputs[`hidden_${i}`] = h));
    // Writing into a previous result asks for repeated forwards: the trunk's intermediates then stay in
    // onnxruntime's arena (the runtime's default) between runs too (GPT-2-small, 1024 tokens, two threads:
    // 1.05–1.11 s a forward against 1.13–1.38 s without, for about 70 MiB more resident memory).
    const trunk = await this.runtime.compile(outputs, into ? {} : trunkCompileOptions(this.config, batch));
    let targets: Record<string, HostArray['data']>;
    if (into) {
      if (into.hiddenStates.length !== mg.forward.hiddenStates.length) {
        throw new Error(`the result to write into has ${into.hiddenStates.length} hidden states; this forward has ${mg.forward.hiddenStates.length}`);
      }
      targets = { final_norm_input: into.finalNormInput.data };
      into.hiddenStates.forEach((h, i) => (targets[`hidden_${i}`] = h.data));
      if (inGraph) targets.logits = into.logits.data;
    } else {
      targets = outputsInOneArray(trunk.outputs);
    }
    const r = await trunk.run(mg.feeds(), targets);
    const hiddenStates = mg.forward.hiddenStates.map((_, i) => r[`hidden_${i}`]!);
    const logits = inGraph
      ? r.logits!
      : await logitsInSlices(this.runtime, this.config, this.weights, hiddenStates[hiddenStates.length - 1]!, {
          blockBytes: logitBlockBytes,
          into: into?.logits.data as Float32Array | undefined,
        });
    return { logits, finalNormInput: r.final_norm_input!, hiddenStates };
  }

  /**
   * Greedy continuation (no KV cache: one full forward per step, fine for short demos and tests); with
   * a block plan or edits (whose extra inputs carry their data), the edited model generates.
   */
  async generateGreedy(ids: number[], newTokens: number, options: Omit<ForwardOptions, 'logits'> = {}): Promise<number[]> {
    const out = [...ids];
    for (let s = 0; s < newTokens; s++) {
      const mg = this.buildGraph({ ids: [out] }, options);
      const last = mg.forward.logits;
      const r = await this.run(mg, { logits: last });
      const V = this.config.vocabSize;
      const logits = r.logits!.data as Float32Array;
      const base = (out.length - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[base + v]! > logits[base + best]!) best = v;
      out.push(best);
    }
    return out;
  }
}
