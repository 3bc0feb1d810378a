/**
 * Reader for karpathy/llama2.c float32 checkpoints (e.g. the "tinyllamas" stories15M/stories260K `.bin` files),
 * exposed as a Hugging Face Llama model: an HF-style config and a WeightSource with HF tensor names and layout.
 *
 * Two layouts exist:
 *  - legacy ("version 0", what `run.c` reads and what the tinyllamas files use): a 7 × int32 header
 *    (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len) where a negative vocab_size means an
 *    unshared classifier follows at the end; then the tensors, grouped by kind across layers, including two
 *    obsolete RoPE tables (freq_cis_real / freq_cis_imag) that we skip.
 *  - version 1 (`export.py --version 1`): magic "ak42", int32 version = 1, the same 7 ints, a uint8
 *    shared-classifier flag, zero padding to 256 bytes; then the norms first, then the matrices, no RoPE tables.
 *
 * Tensors are read lazily with one ranged read each.
 */
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';
import type { HfConfig } from './hf-config.js';
import { numel, type HostTensor, type WeightSource } from './weights.js';
import { unknownTensorMessage } from './safetensors.js';
import { SIZE_LIMITS, type SizeKind } from './config-checks.js';
import { interleavedToHalfRotary } from '../models/weight-transforms.js';

/** What the checkpoint header says, in llama2.c's own terms. */
export interface Llama2cHeader {
  version: 0 | 1;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/** The HF `LlamaConfig` fields that describe a llama2.c model. */
export interface Llama2cHfConfig extends HfConfig {
  model_type: 'llama';
  architectures: string[];
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  hidden_act: 'silu';
  bos_token_id: number;
  eos_token_id: number;
}

export interface Llama2cCheckpoint {
  config: Llama2cHfConfig;
  header: Llama2cHeader;
  weights: Llama2cWeights;
}

/** Where one HF tensor lives in the file, and whether its rows need the RoPE permutation. */
interface Entry {
  offset: number;
  shape: number[];
  /** Number of heads whose rows are interleaved-pair RoPE (wq: n_heads, wk: n_kv_heads); 0 = none. */
  ropeHeads: number;
}

const MAGIC_V1 = 0x616b3432; // "ak42" read as a little-endian uint32
const V1_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;

export class Llama2cWeights implements WeightSource {
  constructor(
    private readonly file: RandomAccessFile,
    private readonly entries: ReadonlyMap<string, Entry>,
    private readonly headSize: number,
  ) {}

  get path(): string {
    return this.file.path;
  }
  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new Error(unknownTensorMessage(this.path, name, this.names()));
    return e;
  }
  names(): string[] {
    return [...this.entries.keys()];
  }
  has(name: string): boolean {
    return this.entries.has(name);
  }
  dtype(name: string): string {
    this.entry(name);
    return 'F32';
  }
  shape(name: string): number[] {
    return [...this.entry(name).shape];
  }

  async readFloat32(name: string, expectedShape?: readonly number[]): Promise<HostTensor> {
    const e = this.entry(name);
    if (expectedShape && (expectedShape.length !== e.shape.length || expectedShape.some((v, i) => v !== e.shape[i]))) {
      throw new Error(`${this.path}: tensor '${name}' has shape [${e.shape.join(', ')}], expected [${expectedShape.join(', ')}]`);
    }
    const n = numel(e.shape);
    const bytes = await this.file.read(e.offset, 4 * n);
    // Copy into a fresh, aligned Float32Array (file layout is little-endian float32, as on every supported host).
    let data: Float32Array = new Float32Array(n);
    const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    data.set(new Float32Array(b.buffer, b.byteOffset, n));
    // llama2.c rotates interleaved pairs (2i, 2i+1) of each head, HF Llama rotates halves: permute wq/wk rows as HF's conversion does.
    if (e.ropeHeads > 0) data = interleavedToHalfRotary({ shape: e.shape, data }, e.ropeHeads, this.headSize, this.headSize).data;
    return { shape: [...e.shape], data };
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function hfConfig(h: Llama2cHeader): Llama2cHfConfig {
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: h.sharedClassifier,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** Parses the header bytes (the first min(256, size) bytes of the file). */
function parseHeader(path: string, bytes: Uint8Array): Llama2cHeader {
  if (bytes.length < LEGACY_HEADER_BYTES) {
    throw new Error(`${path}: not a llama2.c checkpoint: ${bytes.length} bytes is shorter than the ${LEGACY_HEADER_BYTES}-byte header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const int = (i: number) => dv.getInt32(4 * i, true);
  let version: 0 | 1;
  let ints: number[];
  let shared: boolean;
  if (dv.getUint32(0, true) === MAGIC_V1) {
    const v = int(1);
    if (v !== 1) {
      throw new Error(`${path}: llama2.c checkpoint version ${v} is not supported (only the float32 formats: legacy and version 1)`);
    }
    if (bytes.length < V1_HEADER_BYTES) {
      throw new Error(`${path}: truncated llama2.c version 1 checkpoint: ${bytes.length} bytes is shorter than its 256-byte header`);
    }
    version = 1;
    ints = [2, 3, 4, 5, 6, 7, 8].map(int);
    shared = bytes[36] !== 0;
  } else {
    version = 0;
    ints = [0, 1, 2, 3, 4, 5, 6].map(int);
    // Legacy files encode an unshared classifier as a negative vocab_size (run.c: shared = vocab_size > 0).
    shared = ints[5]! > 0;
    ints[5] = Math.abs(ints[5]!);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = ints as [number, number, number, number, number, number, number];
  const h: Llama2cHeader = { version, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: shared };
  const bad = (why: string) =>
    new Error(`${path}: not a valid llama2.c checkpoint: ${why} (header: dim=${dim}, hidden_dim=${hiddenDim}, n_layers=${nLayers}, ` +
      `n_heads=${nHeads}, n_kv_heads=${nKvHeads}, vocab_size=${vocabSize}, seq_len=${seqLen})`);
  // Real models are far below these bounds; they only catch garbage headers before we compute absurd sizes.
  const kinds: [string, number, SizeKind][] = [
    ['dim', dim, 'width'], ['hidden_dim', hiddenDim, 'ffn'], ['n_layers', nLayers, 'layers'], ['n_heads', nHeads, 'heads'],
    ['n_kv_heads', nKvHeads, 'heads'], ['vocab_size', vocabSize, 'vocab'], ['seq_len', seqLen, 'positions'],
  ];
  for (const [k, v, kind] of kinds) {
    if (!(v > 0 && v <= SIZE_LIMITS[kind])) throw bad(`${k} = ${v} is out of range (1 to ${SIZE_LIMITS[kind]})`);
  }
  if (dim % nHeads !== 0) throw bad('dim is not a multiple of n_heads');
  if (nHeads % nKvHeads !== 0) throw bad('n_heads is not a multiple of n_kv_heads');
  if ((dim / nHeads) % 2 !== 0) throw bad('head size is odd, so RoPE pairs are impossible');
  return h;
}

/**
 * Lays out every tensor: HF name → file offset and HF shape; returns the total size the file must have. With
 * `sizeOnly` no entries are recorded, so the size can be checked against the file before a hostile header
 * (2^20 layers) makes us build millions of entries.
 */
function layout(h: Llama2cHeader, sizeOnly = false): { entries: Map<string, Entry>; fileSize: number } {
  const { dim, hiddenDim: hid, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen } = h;
  const headSize = dim / nHeads;
  const kvDim = headSize * nKvHeads;
  const entries = new Map<string, Entry>();
  let pos = h.version === 1 ? V1_HEADER_BYTES : LEGACY_HEADER_BYTES;

  /** A block of L tensors of `shape` stored one after the other; `name(i)` is layer i's HF name. */
  const perLayer = (name: (i: number) => string, shape: number[], ropeHeads = 0) => {
    const bytes = 4 * numel(shape);
    if (!sizeOnly) for (let i = 0; i < L; i++) entries.set(name(i), { offset: pos + i * bytes, shape, ropeHeads });
    pos += L * bytes;
  };
  const single = (name: string, shape: number[]) => {
    if (!sizeOnly) entries.set(name, { offset: pos, shape, ropeHeads: 0 });
    pos += 4 * numel(shape);
  };
  const lp = (i: number) => `model.layers.${i}`;
  const attnNorm = () => perLayer((i) => `${lp(i)}.input_layernorm.weight`, [dim]);
  const ffnNorm = () => perLayer((i) => `${lp(i)}.post_attention_layernorm.weight`, [dim]);
  const attn = () => {
    perLayer((i) => `${lp(i)}.self_attn.q_proj.weight`, [dim, dim], nHeads);
    perLayer((i) => `${lp(i)}.self_attn.k_proj.weight`, [kvDim, dim], nKvHeads);
    perLayer((i) => `${lp(i)}.self_attn.v_proj.weight`, [kvDim, dim]);
    perLayer((i) => `${lp(i)}.self_attn.o_proj.weight`, [dim, dim]);
  };
  const mlp = () => {
    perLayer((i) => `${lp(i)}.mlp.gate_proj.weight`, [hid, dim]); // w1
    perLayer((i) => `${lp(i)}.mlp.down_proj.weight`, [dim, hid]); // w2
    perLayer((i) => `${lp(i)}.mlp.up_proj.weight`, [hid, dim]); // w3
  };

  if (h.version === 0) {
    single('model.embed_tokens.weight', [V, dim]);
    attnNorm();
    attn();
    ffnNorm();
    mlp();
    single('model.norm.weight', [dim]);
    pos += 2 * 4 * seqLen * (headSize / 2); // freq_cis_real, freq_cis_imag: unused (RoPE is recomputed)
  } else {
    attnNorm();
    ffnNorm();
    single('model.norm.weight', [dim]);
    single('model.embed_tokens.weight', [V, dim]);
    attn();
    mlp();
  }
  if (h.sharedClassifier) {
    if (!sizeOnly) entries.set('lm_head.weight', { ...entries.get('model.embed_tokens.weight')! });
  } else {
    single('lm_head.weight', [V, dim]);
  }
  return { entries, fileSize: pos };
}

/**
 * Opens a llama2.c float32 checkpoint. `config` is the equivalent HF LlamaConfig; `weights` uses HF Llama tensor
 * names and `[out, in]` shapes, with wq/wk rows permuted to HF's rotate-half RoPE layout. `lm_head.weight` is the
 * embedding when the classifier is shared. Only the header is read now.
 */
export async function openLlama2cCheckpoint(fs: FileSystem, path: string): Promise<Llama2cCheckpoint> {
  const file = await fs.open(path);
  try {
    const header = parseHeader(path, await file.read(0, Math.min(file.size, V1_HEADER_BYTES)));
    const { fileSize } = layout(header, true);
    if (file.size !== fileSize) {
      throw new Error(
        `${path}: llama2.c checkpoint size does not match its header: expected ${fileSize} bytes, found ${file.size}` +
          (file.size < fileSize ? ' (the file is truncated)' : ' (extra bytes: not this format, or a different version)'),
      );
    }
    const weights = new Llama2cWeights(file, layout(header).entries, header.dim / header.nHeads);
    return { config: hfConfig(header), header, weights };
  } catch (e) {
    await file.close();
    throw e;
  }
}
