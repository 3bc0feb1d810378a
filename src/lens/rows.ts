/**
 * The lens-rows engine: the one pipeline behind every reading of lens predictions — trajectories,
 * training, eval, the viewer's prompt distances, and the analyses built on them:
 *
 *   forward pass → hidden states (host arrays, [B, T, d] each)
 *     → blocks of positions → the requested rows stacked into one [rows, B, tb, d] tensor
 *     → one unembedding matmul → the caller's reduction, inside the graph
 *     → block-sized outputs → the caller's fold in JavaScript.
 *
 * A "row" is one lens layer (translator ℓ on hidden_states[ℓ]), the model's own output (final residual
 * through the head), or a translator applied to another layer's hidden state. Blocks bound memory by
 * `blockBytes` for the largest [rows, B, tb, vocab] tensor, whatever T and the vocabulary are; a caller
 * never writes the loop, the padding, the stacking or the feeding again. It brings a `RowReduction`:
 * how many rows a block stacks, and which outputs (statistics, losses and gradients, distances…) the
 * block graph computes from them.
 */
import { Graph, type DType, type Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { allocateHost, type CompiledGraph, type HostArray, type HostData } from '../graph/runtime.js';
import type { ForwardOptions } from '../models/interventions.js';
import type { LanguageModel } from '../models/language-model.js';
import { batchShape, type Batch } from '../models/position-inputs.js';
import { unembed, WeightInputs } from '../models/transformer.js';
import type { Lens, LensLayerOptions } from './lens.js';

/**
 * A row: a lens layer ℓ (translator ℓ on hidden_states[ℓ]), 'output' (the model's own head on the final
 * residual; no translator), or translator `translator` on hidden_states[`hidden`] (eval's layer transfer).
 */
export type RowRef = number | 'output' | { hidden: number; translator: number };

/** The L lens rows 0..L-1. */
export function lensRows(L: number): RowRef[] {
  return Array.from({ length: L }, (_, i) => i);
}

/** The L lens rows then the model's output: the rows of a trajectory. */
export function allRows(L: number): RowRef[] {
  return [...lensRows(L), 'output'];
}

/** Hidden states of one batch on the host: everything a row can read. */
export interface HiddenStates {
  batch: number;
  positions: number;
  width: number;
  /** L arrays [B, T, d]: Hugging Face hidden_states[0..L-1], the lens inputs. */
  layers: Float32Array[];
  /** [B, T, d]: the residual after the last block, before the final norm (the output row's input). */
  final: Float32Array;
}

/**
 * Compiles the forward pass for batches shaped like `shape`, returning only the hidden states rows read.
 * `forward` passes edits (interventions at named sites) to the model's forward pass; a block plan must
 * keep L blocks, so that translator ℓ still meets hidden state ℓ.
 */
export async function compileHiddenStates(
  model: LanguageModel,
  shape: Batch,
  forward: Omit<ForwardOptions, 'logits'> = {},
): Promise<(batch: Batch) => Promise<HiddenStates>> {
  const L = model.nLayers;
  if (forward.plan && forward.plan.length !== L) throw new Error(`lens rows need ${L} blocks; the block plan has ${forward.plan.length}`);
  const run = await model.compileForShape(
    shape,
    (mg) => {
      const outs: Record<string, Value> = { h_final: mg.forward.finalNormInput };
      for (let i = 0; i < L; i++) outs[`h_${i}`] = mg.forward.hiddenStates[i]!;
      return outs;
    },
    { ...forward, logits: false },
    true,
  );
  return async (batch) => {
    const [B, T] = batchShape(batch);
    const r = await run(batch);
    return {
      batch: B,
      positions: T,
      width: model.config.dModel,
      layers: Array.from({ length: L }, (_, i) => r[`h_${i}`]!.data as Float32Array),
      final: r.h_final!.data as Float32Array,
    };
  };
}

/** One forward pass (with `forward`'s edits, if any): the hidden states of `batch`. */
export async function computeHiddenStates(model: LanguageModel, batch: Batch, forward: Omit<ForwardOptions, 'logits'> = {}): Promise<HiddenStates> {
  return (await compileHiddenStates(model, batch, forward))(batch);
}

/** The same hidden states at the given positions only (e.g. the last one), in that order. */
export function selectPositions(h: HiddenStates, positions: readonly number[]): HiddenStates {
  const { batch: B, positions: T, width: d } = h;
  for (const t of positions) if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`position ${t} is outside 0..${T - 1}`);
  const pick = (src: Float32Array): Float32Array => {
    const dst = new Float32Array(B * positions.length * d);
    for (let b = 0; b < B; b++) positions.forEach((t, j) => dst.set(src.subarray((b * T + t) * d, (b * T + t + 1) * d), (b * positions.length + j) * d));
    return dst;
  };
  return { batch: B, positions: positions.length, width: d, layers: h.layers.map(pick), final: pick(h.final) };
}

/** Stacks same-shaped values [...s] into one [n, ...s]. */
export function stackRows(vs: readonly Value[]): Value {
  const rows = vs.map((v) => op.reshape(v, [1, ...v.shape]));
  return rows.length === 1 ? rows[0]! : op.concat(rows, 0);
}

/**
 * Logits of several residual-space values, each through the lens layer it names (null: no translator,
 * the model's own head), stacked into [n, ...shape, vocab] with ONE unembedding matmul. Works in any
 * graph that declares the model weights (`weights`); the values may be edited hidden states or
 * directions (`linearOnly`).
 */
export function stackedLensLogits(lens: Lens, weights: WeightInputs, rows: readonly { h: Value; layer: number | null }[], options: LensLayerOptions = {}): Value {
  const g = weights.g;
  const translated = rows.map(({ h, layer }) => (layer === null ? h : g.scope(`lens.${layer}`, () => lens.transformHidden(h, layer, options))));
  return unembed(lens.model.config, weights, stackRows(translated));
}

/** The graph of one block of positions, handed to a reduction's `build`. */
export interface RowBlock {
  readonly model: LanguageModel;
  readonly g: Graph;
  /** The model weights declared in this graph. */
  readonly weights: WeightInputs;
  /** B: every per-position value of the block is [.., B, positions, ..]. */
  readonly batch: number;
  /** Positions per block (the last block is zero-padded to this length). */
  readonly positions: number;
  /** hidden_states[layer] of this block, [B, positions, d]. */
  hidden(layer: number): Value;
  /** The residual before the final norm, [B, positions, d]. */
  finalResidual(): Value;
  /** Logits of `rows` through `lens`, stacked [rows, B, positions, vocab] (one unembedding matmul). */
  logits(lens: Lens, rows: readonly RowRef[], options?: LensLayerOptions): Value;
  /**
   * Logits of values built in this graph (edited hidden states, hidden states plus a direction input…),
   * each through the lens layer it names (null: the model's head alone), stacked [n, ...shape, vocab].
   */
  logitsOf(lens: Lens, rows: readonly { h: Value; layer: number | null }[], options?: LensLayerOptions): Value;
  /**
   * A per-position input [B, positions, ...inner]. Its data is given to `run` whole ([B, T, ...inner])
   * and cut into blocks here; padding positions read zeros.
   */
  positionInput(name: string, dtype: 'float32' | 'int64', inner?: readonly number[]): Value;
  /** An input that is the same for every block (its data is given to `run`). */
  constant(name: string, dtype: DType, shape: readonly number[]): Value;
}

/** What an analysis brings to the engine: the graph part of its reduction. */
export interface RowReduction {
  /** [B, positions, vocab] rows one block holds at once (all its `logits` rows together): sets the block length. */
  rowsPerBlock: number;
  /** Declares the block's outputs: block-sized summaries (statistics, losses, gradients), never a [T, vocab] array. */
  build(block: RowBlock): Record<string, Value>;
}

/** Where a block sits in the sequence. */
export interface BlockWindow {
  index: number;
  count: number;
  /** First position of the block. */
  start: number;
  /** Real positions in the block (the rest is padding). */
  length: number;
  /** Positions per block, padding included (the `positions` of the graph). */
  size: number;
}

/**
 * 48 MB: GPT-2-small trajectory at 1024 tokens (13 rows, vocab 50257, 18 positions a block), first run
 * 9.6 s and peak RSS 1057 MiB against 10.2 s and 1219 MiB with 96 MB blocks; a block's unembedding
 * (234 × 768 · 768 × 50257) still runs at the MatMul's full speed.
 */
export const DEFAULT_BLOCK_BYTES = 48e6;

/** Positions per block so that one [rows, B, block, V] float tensor stays within `bytes`. */
export function blockPositions(rows: number, B: number, V: number, T: number, bytes = DEFAULT_BLOCK_BYTES): number {
  return Math.max(1, Math.min(T, Math.floor(bytes / (4 * rows * B * V))));
}

const hiddenName = (layer: number): string => `h_${layer}`;
const FINAL = 'h_final';

/** A reduction compiled for one batch shape [B, T]; run it on the hidden states of any batch of that shape. */
export class CompiledRows {
  private constructor(
    readonly batch: number,
    readonly positions: number,
    /** Positions per block. */
    readonly blockSize: number,
    private readonly compiled: CompiledGraph,
    private readonly weightFeeds: Record<string, Float32Array>,
    private readonly lenses: readonly Lens[],
    private readonly positionInputs: ReadonlyMap<string, number>,
    private readonly hiddenInputs: ReadonlyMap<string, number | 'final'>,
  ) {}

  private reusable: Record<string, HostData> | null = null;

  /** The arrays blocks write their outputs into when they are reused (allocated on first use), else none. */
  private outputBuffers(reuse: boolean): Record<string, HostData> {
    if (!reuse) return {};
    this.reusable ??= Object.fromEntries([...this.compiled.outputs].map(([name, spec]) => [name, allocateHost(spec.dtype, spec.shape.reduce((a, b) => a * b, 1))]));
    return this.reusable;
  }

  get blocks(): number {
    return Math.ceil(this.positions / this.blockSize);
  }

  static async compile(model: LanguageModel, B: number, T: number, reduction: RowReduction, options: { blockBytes?: number } = {}): Promise<CompiledRows> {
    const cfg = model.config;
    const d = cfg.dModel;
    const tb = blockPositions(reduction.rowsPerBlock, B, cfg.vocabSize, T, options.blockBytes);
    const g = new Graph();
    const weights = new WeightInputs(g, model.weights);
    const lenses: Lens[] = [];
    const positionInputs = new Map<string, number>(); // name → elements per position
    const hiddenInputs = new Map<string, number | 'final'>();
    // Declared once per name; asking again for the same name with another type is a reduction's bug.
    const input = (name: string, dtype: DType, shape: readonly number[]): Value => {
      const existing = g.inputs.get(name);
      if (!existing) return g.input(name, dtype, shape);
      if (existing.dtype !== dtype || existing.shape.join() !== shape.join()) throw new Error(`row graph input '${name}' is already declared as ${existing.describe()}`);
      return existing;
    };
    const useLens = (lens: Lens): void => {
      if (lens.model !== model) throw new Error('every lens of a row reduction must be on the same model');
      if (lenses.includes(lens)) return;
      const names = new Set(lenses.flatMap((l) => l.parameters().map((p) => p.name)));
      if (lens.parameters().some((p) => names.has(p.name))) throw new Error('two lenses with parameters cannot share one row graph (their parameter names collide)');
      lenses.push(lens);
    };
    const block: RowBlock = {
      model,
      g,
      weights,
      batch: B,
      positions: tb,
      hidden: (layer) => {
        if (!Number.isInteger(layer) || layer < 0 || layer >= model.nLayers) throw new Error(`hidden state ${layer} is not a lens input (0..${model.nLayers - 1})`);
        hiddenInputs.set(hiddenName(layer), layer);
        return input(hiddenName(layer), 'float32', [B, tb, d]);
      },
      finalResidual: () => {
        hiddenInputs.set(FINAL, 'final');
        return input(FINAL, 'float32', [B, tb, d]);
      },
      logits: (lens, rows, opts = {}) => {
        const values = rows.map((r) =>
          r === 'output' ? { h: block.finalResidual(), layer: null } : typeof r === 'number' ? { h: block.hidden(r), layer: r } : { h: block.hidden(r.hidden), layer: r.translator },
        );
        return block.logitsOf(lens, values, opts);
      },
      logitsOf: (lens, rows, opts = {}) => {
        useLens(lens);
        return stackedLensLogits(lens, weights, rows, opts);
      },
      positionInput: (name, dtype, inner = []) => {
        positionInputs.set(name, inner.reduce((a, b) => a * b, 1));
        return input(name, dtype, [B, tb, ...inner]);
      },
      constant: (name, dtype, shape) => input(name, dtype, shape),
    };
    const outputs = reduction.build(block);
    const compiled = await model.runtime.compile(outputs);
    return new CompiledRows(B, T, tb, compiled, weights.feeds(), lenses, positionInputs, hiddenInputs);
  }

  /**
   * Runs every block on `hidden` (from `compileHiddenStates` or edited by the caller), calling `onBlock`
   * with each block's outputs in order. `feeds` holds the whole-sequence data of the position inputs and
   * the constants; lens parameters are read from the lenses on every run (training updates them in place).
   */
  async run(
    hidden: HiddenStates,
    feeds: Record<string, HostData>,
    onBlock: (outputs: Record<string, HostArray>, window: BlockWindow) => void | Promise<void>,
    options: RowRunOptions = {},
  ): Promise<void> {
    const { batch: B, positions: T, blockSize: tb } = this;
    if (hidden.batch !== B || hidden.positions !== T) throw new Error(`these rows were compiled for ${B} × ${T} positions, got hidden states of ${hidden.batch} × ${hidden.positions}`);
    const d = hidden.width;
    const staticFeeds: Record<string, HostData> = { ...this.weightFeeds, ...feeds };
    for (const lens of this.lenses) Object.assign(staticFeeds, lens.feeds());
    const count = this.blocks;
    for (let index = 0; index < count; index++) {
      const start = index * tb;
      const length = Math.min(tb, T - start);
      const window: BlockWindow = { index, count, start, length, size: tb };
      const blockFeeds: Record<string, HostData> = {};
      for (const name of this.compiled.inputs.keys()) {
        const layer = this.hiddenInputs.get(name);
        if (layer !== undefined) blockFeeds[name] = cutBlock(layer === 'final' ? hidden.final : hidden.layers[layer]!, window, B, T, d);
        else if (this.positionInputs.has(name)) {
          const data = feeds[name];
          if (!data) throw new Error(`position input '${name}' was not given to run`);
          blockFeeds[name] = cutBlock(data, window, B, T, this.positionInputs.get(name)!);
        } else {
          const data = staticFeeds[name];
          if (data === undefined) throw new Error(`input '${name}' of the row graph was not given to run`);
          blockFeeds[name] = data;
        }
      }
      await onBlock(await this.compiled.run(blockFeeds, this.outputBuffers(options.reuseOutputs ?? false)), window);
      options.onProgress?.(index + 1, count);
    }
  }
}

/** How `CompiledRows.run` reports progress and hands block outputs over. */
export interface RowRunOptions {
  /** Called after each block with the blocks done and their total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Write every block's outputs into the same arrays, allocated once per CompiledRows: `onBlock` must be
   * done with them when it returns (it folds them into its own sums). Fresh memory is expensive to fault
   * in (lens training on GPT-2 shapes: 28 MiB of gradients per block, 27 blocks a step).
   */
  reuseOutputs?: boolean;
}

/** [B, T, inner] → the zero-padded [B, size, inner] of one block. */
function cutBlock<A extends HostData>(src: A, w: BlockWindow, B: number, T: number, inner: number): A {
  if (src.length !== B * T * inner) throw new Error(`a per-position array has ${src.length} elements, expected ${B} × ${T} × ${inner}`);
  const dst = new (src.constructor as new (n: number) => A)(B * w.size * inner);
  for (let b = 0; b < B; b++) dst.set(src.subarray((b * T + w.start) * inner, (b * T + w.start + w.length) * inner) as never, b * w.size * inner);
  return dst;
}

/** Copies a block output [outer, B, size, inner] into its place in [outer, B, T, inner]. */
export function scatterBlock(dst: Float32Array | Int32Array, src: HostData, w: BlockWindow, outer: number, B: number, T: number, inner = 1): void {
  const n = w.length * inner; // each (row, sequence) is one contiguous run in both layouts
  for (let r = 0; r < outer; r++) {
    for (let b = 0; b < B; b++) {
      const from = (r * B + b) * w.size * inner;
      const to = ((r * B + b) * T + w.start) * inner;
      if (src instanceof BigInt64Array) for (let k = 0; k < n; k++) dst[to + k] = Number(src[from + k]!);
      else dst.set(src.subarray(from, from + n), to); // numeric conversion as by assignment
    }
  }
}

export interface ReduceRowsOptions {
  /** Whole-sequence data of the reduction's position inputs and constants. */
  feeds?: Record<string, HostData>;
  /** Hidden states to read instead of running the model on `batch` (e.g. edited ones). */
  hidden?: HiddenStates;
  /** Interventions for that forward pass (`edits`, e.g. a direction ablated inside the model); ignored with `hidden`. */
  forward?: Omit<ForwardOptions, 'logits'>;
  /** Upper bound for the largest [rows, B, block, vocab] tensor of one block, in bytes (default 48 MB). */
  blockBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * For a batch: one forward pass (unless `hidden` is given), then every block of positions through
 * `reduction`, each block's outputs handed to `onBlock`. The one-call form of the engine.
 */
export async function reduceLensRows(
  model: LanguageModel,
  batch: Batch,
  reduction: RowReduction,
  onBlock: (outputs: Record<string, HostArray>, window: BlockWindow) => void | Promise<void>,
  options: ReduceRowsOptions = {},
): Promise<void> {
  const [B, T] = batchShape(batch);
  const hidden = options.hidden ?? (await computeHiddenStates(model, batch, options.forward));
  const rows = await CompiledRows.compile(model, B, T, reduction, { blockBytes: options.blockBytes });
  await rows.run(hidden, options.feeds ?? {}, onBlock, { onProgress: options.onProgress });
}

export interface LensLogProbs {
  /** L arrays [B, T, vocab]: log-softmax of the lens at hidden_states[0..L-1]. */
  layers: HostArray[];
  /** [B, T, vocab]: log-softmax of the model's own logits (the "output" row). */
  output: HostArray;
}

/**
 * Full log-probabilities of every lens layer and of the model. The result holds (L+1) × B × T × vocab
 * floats: for long inputs or large vocabularies reduce inside the graph instead (trajectory statistics).
 */
export async function lensLogProbs(lens: Lens, batch: Batch, options: { blockBytes?: number } = {}): Promise<LensLogProbs> {
  const model = lens.model;
  const [B, T] = batchShape(batch);
  const V = model.config.vocabSize;
  const L = model.nLayers;
  const R = L + 1;
  const all = new Float32Array(R * B * T * V);
  await reduceLensRows(
    model,
    batch,
    { rowsPerBlock: R, build: (block) => ({ logp: op.logSoftmax(block.logits(lens, allRows(L))) }) },
    (out, w) => scatterBlock(all, out.logp!.data, w, R, B, T, V),
    options,
  );
  const row = (r: number): HostArray => ({ data: all.subarray(r * B * T * V, (r + 1) * B * T * V), shape: [B, T, V] });
  return { layers: Array.from({ length: L }, (_, i) => row(i)), output: row(L) };
}
