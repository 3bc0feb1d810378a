/**
 * What a model will need in a browser tab, computed before loading it from the safetensors header (HTTP
 * range requests) or the llama2.c header and config.json — nothing of the weights is downloaded — so the
 * page can say it and refuse a model that cannot fit instead of crashing the tab.
 *
 * onnxruntime-web computes in a wasm32 heap, which stops at 4 GiB and never shrinks. With resident weights
 * (runtime.ts `residentWeights`) the heap holds:
 *   - the weights once, in the forward graph's session (each prompt-length bucket has its own session; the
 *     worker's resident budget releases the least recently used, so one copy is held at a time);
 *   - the unembedding [vocab, d] once more, in the lens-rows session (its own graph);
 *   - activations: hidden states of every layer, attention scores, the MLP, and the row blocks (bounded by
 *     rows.ts DEFAULT_BLOCK_BYTES for the largest [rows, block, vocab] tensor; about three live at once).
 * JavaScript holds the float32 weights besides (the loaders' canonical tensors) and the downloaded file.
 */
import { openLlama2cCheckpoint } from '../formats/llama2c.js';
import { readHfConfig } from '../formats/hf-config.js';
import { openSafetensors } from '../formats/safetensors.js';
import { DEFAULT_BLOCK_BYTES } from '../lens/rows.js';
import { ATTENTION_QUERY_CHUNK } from '../models/blocks.js';
import { parseModelConfig, type LoadableSource } from '../models/load-model.js';
import type { ModelConfig } from '../models/model-config.js';
import type { WebFileSystem } from './web-file-system.js';

export const GiB = 2 ** 30;
/** wasm32 addresses 4 GiB; refuse above 3.5 GiB to leave room for the allocator's fragmentation. */
export const WASM_HEAP_LIMIT = 3.5 * GiB;

export interface MemoryEstimate {
  /** Float32 bytes of all weights. */
  weightBytes: number;
  /** Float32 bytes of the unembedding (held again by the lens-rows session). */
  unembeddingBytes: number;
  /** Prompt length the activations are estimated for (tokens). */
  tokens: number;
  activationBytes: number;
  /** onnxruntime-web's WebAssembly heap: weights + unembedding + activations (resident) or weights + activations (fed). */
  heapBytes: number;
  /** JavaScript: the float32 weights and the downloaded file. */
  javascriptBytes: number;
  heapLimitBytes: number;
  /** The device's memory as the browser reports it (navigator.deviceMemory, GiB rounded; null where unknown). */
  deviceBytes: number | null;
  /** Why the model cannot be loaded here; null when it fits. */
  refusal: string | null;
  /** One line for the page: what the model needs. */
  summary: string;
}

function gib(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Activation bytes of a trajectory over `T` tokens (forward graph, then row blocks). */
export function activationBytes(cfg: Pick<ModelConfig, 'dModel' | 'nLayers' | 'nHeads' | 'dFF' | 'vocabSize'>, T: number): number {
  const hidden = (cfg.nLayers + 1) * T * cfg.dModel * 2; // outputs, and their copies on the way out
  const attention = 3 * cfg.nHeads * Math.min(T, ATTENTION_QUERY_CHUNK) * T; // scores, softmax, and one more live at once, per chunk of queries
  const mlp = 3 * T * cfg.dFF;
  const rowBlocks = Math.min(3 * DEFAULT_BLOCK_BYTES, 3 * (cfg.nLayers + 1) * T * cfg.vocabSize * 4);
  return 4 * (hidden + attention + mlp) + rowBlocks;
}

/**
 * The memory `source` will need for prompts of up to `tokens` tokens, and the refusal when it exceeds
 * the wasm32 heap or the device (null for sharded weights). `headerFs` reads only what is asked for (range requests).
 */
export async function estimateMemory(
  fs: WebFileSystem,
  headerFs: WebFileSystem,
  source: LoadableSource,
  options: { label: string; tokens: number; residentWeights: boolean; deviceMemoryGiB?: number },
): Promise<MemoryEstimate | null> {
  let cfg: ModelConfig;
  let weightBytes: number;
  let fileBytes: number;
  if (source.kind === 'llama2c') {
    const ckpt = await openLlama2cCheckpoint(headerFs, source.checkpoint);
    await ckpt.weights.close();
    cfg = parseModelConfig(ckpt.config as unknown as Record<string, unknown>, source.checkpoint).cfg;
    fileBytes = (await headerFs.open(source.checkpoint)).size;
    weightBytes = fileBytes; // float32 already
  } else {
    // Sharded or missing weights: nothing to estimate from here; the loader says what is wrong.
    if (!(await fs.exists(`${source.dir}/model.safetensors`))) return null;
    cfg = parseModelConfig(
      (await readHfConfig(fs, source.dir)) as unknown as Record<string, unknown>,
      fs.join(source.dir, 'config.json'),
    ).cfg;
    const st = await openSafetensors(headerFs, `${source.dir}/model.safetensors`);
    try {
      weightBytes = 0;
      for (const name of st.names()) weightBytes += st.shape(name).reduce((a, b) => a * b, 1) * 4;
    } finally {
      await st.close();
    }
    fileBytes = (await headerFs.open(`${source.dir}/model.safetensors`)).size;
  }
  const tokens = Math.max(1, Math.min(options.tokens, cfg.maxPositions));
  const unembeddingBytes = cfg.vocabSize * cfg.dModel * 4;
  const activations = activationBytes(cfg, tokens);
  const heapBytes = weightBytes + (options.residentWeights ? unembeddingBytes : 0) + activations;
  const javascriptBytes = weightBytes + fileBytes;
  const deviceBytes = options.deviceMemoryGiB ? options.deviceMemoryGiB * GiB : null;
  let refusal: string | null = null;
  if (heapBytes > WASM_HEAP_LIMIT) {
    refusal =
      `it needs about ${gib(heapBytes)} of WebAssembly memory (${gib(weightBytes)} of float32 weights` +
      `${options.residentWeights ? ` + ${gib(unembeddingBytes)} unembedding` : ''} + ${gib(activations)} of activations for ${tokens} tokens), ` +
      `and onnxruntime-web's wasm32 memory stops at 4 GiB (this page allows ${gib(WASM_HEAP_LIMIT)}). Use the command line (tuned-lens serve) for this model.`;
  } else if (deviceBytes !== null && heapBytes + javascriptBytes > deviceBytes) {
    refusal = `it needs about ${gib(heapBytes + javascriptBytes)} in this tab, and this device reports ${gib(deviceBytes)} of memory. Use the command line (tuned-lens serve) for this model.`;
  }
  const summary =
    `${options.label} needs about ${gib(heapBytes)} of WebAssembly memory (limit ${gib(WASM_HEAP_LIMIT)}; ${gib(weightBytes)} weights` +
    `${options.residentWeights ? ` resident + ${gib(unembeddingBytes)} unembedding` : ' fed per run'} + ${gib(activations)} activations for up to ${tokens} tokens) ` +
    `and ${gib(javascriptBytes)} in JavaScript`;
  return { weightBytes, unembeddingBytes, tokens, activationBytes: activations, heapBytes, javascriptBytes, heapLimitBytes: WASM_HEAP_LIMIT, deviceBytes, refusal, summary };
}
