/**
 * The output head over blocks of positions × slices of the vocabulary, written into one [rows, vocab] array.
 *
 * Why slices of the vocabulary, not only blocks of positions (GPT-2-small, 1024 tokens, measured in
 * docs/benchmarks.md): onnxruntime packs a MatMul's right-hand operand at every run unless it is a constant,
 * and the head is fed, so every block of positions packed the whole [vocab, d] head again (26 blocks of 40
 * positions: 0.64–0.99 s for the logits); a slice of the vocabulary packs only its own rows, so the head is
 * packed once per forward in total (0.47 s). And onnxruntime-node hands every output back as a fresh copy:
 * blocks of a few MB let those copies reuse freed heap instead of faulting in fresh pages.
 */
import { Graph } from '../graph/graph.js';
import type { CompiledGraph, HostArray, Runtime } from '../graph/runtime.js';
import { WeightInputs } from './graph-inputs.js';
import { W, type ModelWeights } from './load-weights.js';
import type { ModelConfig } from './model-config.js';
import { outputHead } from './transformer.js';

/**
 * Bytes of one block's logits. 8 MB: GPT-2-small at 1024 tokens on two threads, alternating runs, a forward
 * into a previous result took 1.16–1.29 s with it, 1.29–1.63 s with 4 MB and 1.22–1.60 s with 16 MB.
 */
export const DEFAULT_LOGIT_BLOCK_BYTES = 8 * 2 ** 20;
/** Positions per block: enough that packing a slice of the head is amortised, few enough to bound the input. */
const MAX_BLOCK_ROWS = 2048;
/** Narrower slices would make each MatMul too small to run at full speed. */
const MIN_SLICE = 256;

export interface SliceOptions {
  /** Bytes of one block's logits (default DEFAULT_LOGIT_BLOCK_BYTES, 8 MB). */
  blockBytes?: number;
  /** Write into this [rows × vocab] array instead of a new one (e.g. the previous forward's logits). */
  into?: Float32Array;
  /** Overrides of the block shape (tests; tuning): positions per block, vocabulary entries per slice. */
  blockRows?: number;
  sliceWidth?: number;
}

/** Logits [B, T, vocab] of final-normed states [B, T, d]. */
export async function logitsInSlices(runtime: Runtime, cfg: ModelConfig, weights: ModelWeights, normed: HostArray, options: SliceOptions = {}): Promise<HostArray> {
  const d = normed.shape[normed.shape.length - 1]!;
  const V = cfg.vocabSize;
  const rows = (normed.data as Float32Array).length / d;
  const head = weights.get(W.lmHead);
  if (!head) throw new Error(`model weight '${W.lmHead}' is not loaded`);
  const bias = cfg.lmHeadBias ? (weights.get(W.lmHeadB) ?? null) : null;
  const logits = options.into ?? new Float32Array(rows * V);
  if (logits.length !== rows * V) throw new Error(`the logits array to write into has ${logits.length} elements; [${[...normed.shape.slice(0, -1), V].join(', ')}] needs ${rows * V}`);
  const blockRows = Math.min(rows, options.blockRows ?? MAX_BLOCK_ROWS);
  const slice = Math.min(V, options.sliceWidth ?? Math.max(MIN_SLICE, Math.floor((options.blockBytes ?? DEFAULT_LOGIT_BLOCK_BYTES) / (blockRows * 4))));
  if (!(blockRows >= 1 && slice >= 1 && Number.isInteger(blockRows) && Number.isInteger(slice))) throw new Error(`logits blocks need whole positive sizes, got ${blockRows} positions × ${slice} vocabulary entries`);
  const graphs = new Map<string, Promise<CompiledGraph>>();
  const compiled = (n: number, width: number): Promise<CompiledGraph> => {
    const key = `${n}x${width}`;
    let c = graphs.get(key);
    if (!c) {
      const g = new Graph();
      // Shape-only stand-ins: the slice's own rows of the head are fed at each run.
      const shapes: ModelWeights = new Map([[W.lmHead, { data: new Float32Array(0), shape: [width, d] }]]);
      if (bias) shapes.set(W.lmHeadB, { data: new Float32Array(0), shape: [width] });
      const out = outputHead(cfg, new WeightInputs(g, shapes), g.input('normed', 'float32', [n, d]));
      g.fixedInputData.clear(); // slices are fed, never kept resident (a resident slice would be keyed by a throwaway subarray)
      c = runtime.compile({ logits: out });
      graphs.set(key, c);
    }
    return c;
  };
  const src = normed.data as Float32Array;
  let block: Float32Array | undefined;
  for (let r0 = 0; r0 < rows; r0 += blockRows) {
    const n = Math.min(blockRows, rows - r0);
    const rowsIn = src.subarray(r0 * d, (r0 + n) * d);
    for (let v0 = 0; v0 < V; v0 += slice) {
      const width = Math.min(slice, V - v0);
      const feeds: Record<string, Float32Array> = { normed: rowsIn, [W.lmHead]: head.data.subarray(v0 * d, (v0 + width) * d) };
      if (bias) feeds[W.lmHeadB] = bias.data.subarray(v0, v0 + width);
      // A slice spanning the whole vocabulary is a contiguous range of the result: written there directly;
      // other slices go to one reused block (a new array per slice would be fresh memory every time).
      const whole = width === V;
      const target = whole ? logits.subarray(r0 * V, (r0 + n) * V) : (block ??= new Float32Array(blockRows * slice)).subarray(0, n * width);
      const out = (await (await compiled(n, width)).run(feeds, { logits: target })).logits!.data as Float32Array;
      if (!whole) for (let i = 0; i < n; i++) logits.set(out.subarray(i * width, (i + 1) * width), (r0 + i) * V + v0);
    }
  }
  return { data: logits, shape: [...normed.shape.slice(0, -1), V] };
}
