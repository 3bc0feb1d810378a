/**
 * The Llama family: RMSNorm, rotate-half RoPE, gated MLP, grouped-query attention, names under `model.`.
 * config.json decides everything it states (head_dim, activation, sliding_window and layer_types,
 * softcaps, query_pre_attn_scalar, tying); a variant declares only what its config.json leaves implicit.
 */
import type { Architecture, LayerTensorNames } from '../architecture.js';
import { activationFrom, decoderConfig, num, optionalNum, slidingWindows, type ResidualKind } from '../model-config.js';

export interface LlamaVariant {
  modelType: string;
  /** Which layers use config.json's `sliding_window` when it has no `layer_types` (default: none). */
  slides?: (layer: number, hf: Record<string, unknown>) => boolean;
  /** RMSNorm multiplies by (1 + w) and embeddings by sqrt(hidden_size) (Gemma). */
  gemmaScaling?: boolean;
  /** Per-head q/k RMSNorm (Qwen3). */
  qkNorm?: boolean;
  /** Block layout (default sequential; Gemma-2: sandwich). */
  residual?: ResidualKind;
  /** `tie_word_embeddings` when config.json does not say (HF's class default). */
  tiedByDefault?: boolean;
  /** Tensor names of block `p` = "model.layers.i" when they differ from Llama's. */
  layerNames?: (p: string) => LayerTensorNames;
}

export function llamaLayerNames(p: string): LayerTensorNames {
  const a = `${p}.self_attn`;
  return {
    ln1: `${p}.input_layernorm`, ln2: `${p}.post_attention_layernorm`, qkv: { q: `${a}.q_proj`, k: `${a}.k_proj`, v: `${a}.v_proj` },
    o: `${a}.o_proj`, mlpIn: { gate: `${p}.mlp.gate_proj`, up: `${p}.mlp.up_proj` }, down: `${p}.mlp.down_proj`,
    qNorm: `${a}.q_norm`, kNorm: `${a}.k_norm`,
  };
}

export function llamaFamily(v: LlamaVariant): Architecture {
  return {
    modelTypes: [v.modelType],
    parseConfig(hf) {
      const d = num(hf, 'hidden_size');
      const nHeads = num(hf, 'num_attention_heads');
      const nLayers = num(hf, 'num_hidden_layers');
      const headDim = num(hf, 'head_dim', d / nHeads);
      const rs = hf.rope_scaling;
      if (rs !== undefined && rs !== null) {
        const kind = typeof rs === 'object' ? ((rs as Record<string, unknown>).rope_type ?? (rs as Record<string, unknown>).type) : rs;
        if (kind !== 'default') throw new Error(`config.json: rope_scaling '${String(kind)}' is not supported yet`);
      }
      const queryScalar = optionalNum(hf, 'query_pre_attn_scalar');
      const tied = hf.tie_word_embeddings;
      return decoderConfig(hf, {
        modelType: v.modelType, dModel: d, nLayers, nHeads, nKvHeads: num(hf, 'num_key_value_heads', nHeads), headDim,
        dFF: num(hf, 'intermediate_size'), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'max_position_embeddings', 2048),
        norm: { kind: 'rmsnorm', eps: num(hf, 'rms_norm_eps', 1e-6), weightOffset: v.gemmaScaling ? 1 : 0 },
        position: { kind: 'rotary', rotaryDim: headDim, theta: num(hf, 'rope_theta', 10000) },
        residual: v.residual ?? 'sequential',
        // Gemma reads hidden_activation first; the others only have hidden_act.
        activation: activationFrom(hf, ['hidden_activation', 'hidden_act'], 'silu'),
        gatedMlp: true,
        qkNorm: v.qkNorm ?? false,
        attnScale: 1 / Math.sqrt(queryScalar ?? headDim),
        attnSoftcap: optionalNum(hf, 'attn_logit_softcapping'),
        finalSoftcap: optionalNum(hf, 'final_logit_softcapping'),
        localWindow: slidingWindows(hf, nLayers, (i) => v.slides?.(i, hf) ?? false),
        // HF multiplies by torch.tensor(hidden_size ** 0.5) in float32.
        embedScale: v.gemmaScaling ? Math.fround(Math.sqrt(d)) : null,
        tiedEmbeddings: typeof tied === 'boolean' ? tied : (v.tiedByDefault ?? false),
      });
    },
    names: () => ({
      embed: 'model.embed_tokens', finalNorm: 'model.norm', lmHead: 'lm_head',
      layer: (i) => (v.layerNames ?? llamaLayerNames)(`model.layers.${i}`),
    }),
  };
}
