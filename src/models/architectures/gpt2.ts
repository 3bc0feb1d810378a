import type { Architecture } from '../architecture.js';
import { activationFrom, decoderConfig, num } from '../model-config.js';

export const gpt2: Architecture = {
  modelTypes: ['gpt2'],
  conv1dWeights: true,
  parseConfig(hf) {
    const d = num(hf, ['n_embd', 'hidden_size']);
    const nHeads = num(hf, ['n_head', 'num_attention_heads']);
    return decoderConfig(hf, {
      modelType: 'gpt2', dModel: d, nLayers: num(hf, ['n_layer', 'num_hidden_layers']), nHeads,
      dFF: num(hf, 'n_inner', 4 * d), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, ['n_positions', 'n_ctx']),
      norm: { kind: 'layernorm', eps: num(hf, 'layer_norm_epsilon', 1e-5) },
      position: { kind: 'learned', offset: 0 },
      activation: activationFrom(hf, ['activation_function'], 'gelu_new'),
      tiedEmbeddings: hf.tie_word_embeddings !== false,
      ...(hf.scale_attn_weights === false ? { attnScale: 1 } : {}),
      scaleByInverseLayer: hf.scale_attn_by_inverse_layer_idx === true,
    });
  },
  names: () => ({
    embed: 'transformer.wte', positions: 'transformer.wpe', finalNorm: 'transformer.ln_f', lmHead: 'lm_head',
    layer: (i) => {
      const p = `transformer.h.${i}`;
      return { ln1: `${p}.ln_1`, ln2: `${p}.ln_2`, qkv: { fused: `${p}.attn.c_attn` }, o: `${p}.attn.c_proj`, mlpIn: { up: `${p}.mlp.c_fc` }, down: `${p}.mlp.c_proj` };
    },
  }),
};
