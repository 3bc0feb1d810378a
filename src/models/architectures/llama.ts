import type { Architecture } from '../architecture.js';
import { decoderConfig, num, type Activation } from '../model-config.js';

/**
 * The Llama family: RMSNorm, rotate-half RoPE, SwiGLU, grouped-query attention. Mistral, Qwen2 (q/k/v
 * biases, found by presence in the file), Qwen3 (per-head q/k RMSNorm) and Gemma ((1 + w) RMSNorm,
 * embeddings scaled by sqrt(d), GeGLU) differ only in the lines below.
 */
export const llama: Architecture = {
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma'],
  parseConfig(hf) {
    const type = String(hf.model_type);
    const d = num(hf, 'hidden_size');
    const nHeads = num(hf, 'num_attention_heads');
    const nLayers = num(hf, 'num_hidden_layers');
    const headDim = num(hf, 'head_dim', d / nHeads);
    const rs = hf.rope_scaling as { rope_type?: string; type?: string } | null | undefined;
    if (rs && (rs.rope_type ?? rs.type) !== 'default') {
      throw new Error(`config.json: rope_scaling '${rs.rope_type ?? rs.type}' is not supported yet`);
    }
    const gemma = type === 'gemma';
    const sliding = typeof hf.sliding_window === 'number' && hf.use_sliding_window !== false && type === 'mistral' ? (hf.sliding_window as number) : null;
    const act = (hf.hidden_activation ?? hf.hidden_act ?? 'silu') as string;
    return decoderConfig(hf, {
      modelType: type, dModel: d, nLayers, nHeads, nKvHeads: num(hf, 'num_key_value_heads', nHeads), headDim,
      dFF: num(hf, 'intermediate_size'), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'max_position_embeddings', 2048),
      norm: { kind: 'rmsnorm', eps: num(hf, 'rms_norm_eps', 1e-6), weightOffset: gemma ? 1 : 0 },
      position: { kind: 'rotary', rotaryDim: headDim, theta: num(hf, 'rope_theta', 10000) },
      activation: (act === 'gelu_pytorch_tanh' ? 'gelu_new' : act) as Activation, gatedMlp: true,
      localWindow: new Array<number | null>(nLayers).fill(sliding),
      embedScale: gemma ? Math.fround(Math.sqrt(d)) : null,
      tiedEmbeddings: hf.tie_word_embeddings === true || (gemma && hf.tie_word_embeddings !== false),
    });
  },
  names: (cfg) => ({
    embed: 'model.embed_tokens', finalNorm: 'model.norm', lmHead: 'lm_head',
    layer: (i) => {
      const p = `model.layers.${i}`;
      const a = `${p}.self_attn`;
      return {
        ln1: `${p}.input_layernorm`, ln2: `${p}.post_attention_layernorm`, qkv: { q: `${a}.q_proj`, k: `${a}.k_proj`, v: `${a}.v_proj` },
        o: `${a}.o_proj`, gate: `${p}.mlp.gate_proj`, up: `${p}.mlp.up_proj`, down: `${p}.mlp.down_proj`,
        ...(cfg.modelType === 'qwen3' ? { qNorm: `${a}.q_norm`, kNorm: `${a}.k_norm` } : {}),
      };
    },
  }),
};
