/**
 * What an architecture file declares: how to read its config.json, and where its tensors are in a
 * Hugging Face checkpoint. Everything else (loading, the forward pass) is shared.
 */
import type { ModelConfig } from './model-config.js';

/** Tensor names of one block. Prefixes get ".weight" / ".bias"; a bias is used when the file has it. */
export interface LayerTensorNames {
  /** The norm before attention. */
  ln1: string;
  /** The norm before the MLP; absent for GPT-J (attention and MLP share ln1). */
  ln2?: string;
  /** Gemma-2's norms on the attention and MLP outputs (the 'sandwich' layout). */
  postAttnNorm?: string;
  postMlpNorm?: string;
  /** Either one fused q/k/v projection or three separate ones. */
  qkv: { fused: string } | { q: string; k: string; v: string };
  o: string;
  /**
   * The MLP's input projections: `up` alone, or gated (SwiGLU, GeGLU: down(act(gate(x)) * up(x))) with
   * separate gate and up, or one fused [gate | up] tensor (Phi-3).
   */
  mlpIn: { up: string; gate?: string } | { fusedGateUp: string };
  down: string;
  /** Per-head RMSNorm of q and k (Qwen3; used when the config has qkNorm). */
  qNorm?: string;
  kNorm?: string;
}

export interface CheckpointTensorNames {
  embed: string;
  positions?: string;
  embedNorm?: string;
  projectIn?: string;
  projectOut?: string;
  finalNorm: string;
  /** Output head; when tied (or absent from the file) the embedding is used. */
  lmHead: string;
  layer(i: number): LayerTensorNames;
}

export interface Architecture {
  /** HF `model_type` values this file handles. */
  modelTypes: string[];
  parseConfig(hf: Record<string, unknown>): ModelConfig;
  names(cfg: ModelConfig): CheckpointTensorNames;
  /** GPT-2's Conv1D stores linear weights as [in, out]. */
  conv1dWeights?: boolean;
  /** Fused qkv rows grouped per head ([head][q,k,v][headDim]: NeoX, BLOOM) instead of [q|k|v]. */
  fusedQkvPerHead?: boolean;
  /** Rotary on interleaved pairs (2i, 2i+1) (GPT-J); converted to rotate-half at load time. */
  interleavedRotary?: boolean;
}
