/**
 * The normalised description of a decoder-only transformer. Every architecture file turns a Hugging
 * Face `config.json` into one of these; the single forward pass in transformer.ts reads only this.
 */

export type Activation = 'gelu_new' | 'gelu' | 'relu' | 'silu' | 'bloom_gelu';

export interface NormSpec {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
  /** RMSNorm multiplies by (offset + w): Gemma stores w - 1, so its offset is 1. */
  weightOffset?: number;
}

export type PositionSpec =
  | { kind: 'learned'; offset: number }
  | { kind: 'rotary'; rotaryDim: number; theta: number }
  | { kind: 'alibi' }
  | { kind: 'none' };

/** How a block combines attention and MLP with the residual stream. */
export type ResidualKind =
  /** x += attn(ln1(x)); x += mlp(ln2(x)) — GPT-2, Llama, OPT, BLOOM, GPT-Neo. */
  | 'sequential'
  /** x += attn(ln1(x)) + mlp(ln1(x)) — GPT-J (one shared norm). */
  | 'parallel-shared-norm'
  /** x += attn(ln1(x)) + mlp(ln2(x)) — GPT-NeoX / Pythia. */
  | 'parallel';

export interface ModelConfig {
  /** HF `model_type`. */
  modelType: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  dFF: number;
  vocabSize: number;
  maxPositions: number;
  /** Width of token embeddings when it differs from dModel (OPT project_in/out). */
  dEmbed: number;
  norm: NormSpec;
  position: PositionSpec;
  residual: ResidualKind;
  activation: Activation;
  gatedMlp: boolean;
  /** Attention logits are multiplied by this (GPT-Neo: 1, no scaling). */
  attnScale: number;
  /** GPT-2's scale_attn_by_inverse_layer_idx. */
  scaleByInverseLayer: boolean;
  /** Per layer: a sliding-window size (key j visible to query i iff i - window < j <= i), or null. */
  localWindow: (number | null)[];
  embedNorm: boolean;
  /** Gemma multiplies embeddings by sqrt(dModel). */
  embedScale: number | null;
  projectInOut: boolean;
  tiedEmbeddings: boolean;
  lmHeadBias: boolean;
  /** Beginning/end-of-sequence ids from config.json when present. */
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** Reads a required number from config.json with a clear error. */
export function num(hf: Record<string, unknown>, key: string | string[], fallback?: number): number {
  const keys = Array.isArray(key) ? key : [key];
  for (const k of keys) {
    const v = hf[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json of model_type '${String(hf.model_type)}' lacks the number '${keys.join("' or '")}'`);
}

export function optionalId(hf: Record<string, unknown>, key: string): number | null {
  const v = hf[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return null;
}

/** What every architecture must state; everything else has the common default of `decoderConfig`. */
export type ConfigEssentials = Pick<ModelConfig, 'modelType' | 'dModel' | 'nLayers' | 'nHeads' | 'dFF' | 'vocabSize' | 'maxPositions' | 'norm' | 'position' | 'activation' | 'tiedEmbeddings'> &
  Partial<ModelConfig>;

/**
 * A full ModelConfig from an architecture's essentials plus the defaults most decoders share: sequential
 * residual, plain MLP, multi-head attention scaled by 1/sqrt(headDim), no sliding window, no extra
 * embedding steps, an output head without bias, BOS/EOS from config.json.
 */
export function decoderConfig(hf: Record<string, unknown>, c: ConfigEssentials): ModelConfig {
  const headDim = c.headDim ?? c.dModel / c.nHeads;
  return {
    dEmbed: c.dModel,
    nKvHeads: c.nHeads,
    headDim,
    residual: 'sequential',
    gatedMlp: false,
    attnScale: 1 / Math.sqrt(headDim),
    scaleByInverseLayer: false,
    localWindow: new Array<number | null>(c.nLayers).fill(null),
    embedNorm: false,
    embedScale: null,
    projectInOut: false,
    lmHeadBias: false,
    bosTokenId: optionalId(hf, 'bos_token_id'),
    eosTokenId: optionalId(hf, 'eos_token_id'),
    ...c,
  };
}
