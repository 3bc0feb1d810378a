/**
 * The normalised description of a decoder-only transformer. Every architecture file turns a Hugging
 * Face `config.json` into one of these; the single forward pass in transformer.ts reads only this.
 */

export type Activation = 'gelu_new' | 'gelu' | 'relu' | 'silu' | 'bloom_gelu';

/** Hugging Face activation names (`hidden_act`, `activation_function`) → the formula we build. */
const HF_ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

/** Reads an activation name from config.json (the first of `keys` present, else `fallback`), rejecting unknown ones. */
export function activationFrom(hf: Record<string, unknown>, keys: string[], fallback: Activation): Activation {
  const key = keys.find((k) => hf[k] !== undefined && hf[k] !== null);
  if (key === undefined) return fallback;
  const name = hf[key];
  const act = typeof name === 'string' ? HF_ACTIVATIONS[name] : undefined;
  if (!act) throw new Error(`config.json: unsupported ${key} ${JSON.stringify(name)} (supported: ${Object.keys(HF_ACTIVATIONS).join(', ')})`);
  return act;
}

/** An optional positive number (softcaps, windows): null when absent or null in config.json. */
export function optionalNum(hf: Record<string, unknown>, key: string): number | null {
  const v = hf[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`config.json: '${key}' must be a positive number or null, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Per-layer sliding windows. `layer_types` ("sliding_attention" / "full_attention"), when config.json has it,
 * wins; otherwise `slides(layer)`, the architecture's own rule, picks the layers that use `sliding_window`.
 */
export function slidingWindows(hf: Record<string, unknown>, nLayers: number, slides: (layer: number) => boolean): (number | null)[] {
  const window = optionalNum(hf, 'sliding_window');
  const types = hf.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== nLayers) throw new Error(`config.json: layer_types has ${types.length} entries for ${nLayers} layers`);
    return types.map((t, i) => {
      if (t === 'full_attention') return null;
      if (t !== 'sliding_attention') throw new Error(`config.json: layer_types[${i}] '${String(t)}' is not supported (full_attention, sliding_attention)`);
      if (window === null) throw new Error(`config.json: layer_types[${i}] is sliding_attention but sliding_window is not set`);
      return window;
    });
  }
  return Array.from({ length: nLayers }, (_, i) => (window !== null && slides(i) ? window : null));
}

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

/** How a block combines attention and MLP with the residual stream (the layouts are in blocks.ts). */
export type ResidualKind =
  /** x += attn(ln1(x)); x += mlp(ln2(x)) — GPT-2, Llama, OPT, BLOOM, GPT-Neo. */
  | 'sequential'
  /** x += postAttnNorm(attn(ln1(x))); x += postMlpNorm(mlp(ln2(x))) — Gemma-2's pre+post norms. */
  | 'sandwich'
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
  /** Per-head RMSNorm of q and k after the projection, before rotary (Qwen3). */
  qkNorm: boolean;
  /** Attention scores s → c·tanh(s/c) before the mask (Gemma-2), or null. */
  attnSoftcap: number | null;
  /** Logits z → c·tanh(z/c) (Gemma-2), part of the model's head and so of every lens, or null. */
  finalSoftcap: number | null;
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
 * residual, plain MLP, multi-head attention scaled by 1/sqrt(headDim), no q/k norm, no softcaps, no sliding
 * window, no extra embedding steps, an output head without bias, BOS/EOS from config.json.
 */
export function decoderConfig(hf: Record<string, unknown>, c: ConfigEssentials): ModelConfig {
  const headDim = c.headDim ?? c.dModel / c.nHeads;
  return {
    dEmbed: c.dModel,
    nKvHeads: c.nHeads,
    headDim,
    residual: 'sequential',
    gatedMlp: false,
    qkNorm: false,
    attnSoftcap: null,
    finalSoftcap: null,
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
