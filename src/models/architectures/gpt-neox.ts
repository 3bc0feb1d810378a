import type { Architecture } from '../architecture.js';
import { activationFrom, decoderConfig, num } from '../model-config.js';

/** GPT-NeoX and Pythia: parallel residual, partial rotate-half rotary, fused per-head qkv. */
export const gptNeox: Architecture = {
  modelTypes: ['gpt_neox'],
  fusedQkvPerHead: true,
  parseConfig(hf) {
    const d = num(hf, 'hidden_size');
    const nHeads = num(hf, 'num_attention_heads');
    return decoderConfig(hf, {
      modelType: 'gpt_neox', dModel: d, nLayers: num(hf, 'num_hidden_layers'), nHeads,
      dFF: num(hf, 'intermediate_size'), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'max_position_embeddings'),
      norm: { kind: 'layernorm', eps: num(hf, 'layer_norm_eps', 1e-5) },
      position: { kind: 'rotary', rotaryDim: Math.floor((d / nHeads) * num(hf, 'rotary_pct', 1)), theta: num(hf, ['rotary_emb_base', 'rope_theta'], 10000) },
      residual: hf.use_parallel_residual === false ? 'sequential' : 'parallel',
      activation: activationFrom(hf, ['hidden_act'], 'gelu'),
      tiedEmbeddings: hf.tie_word_embeddings === true,
    });
  },
  names: () => ({
    embed: 'gpt_neox.embed_in', finalNorm: 'gpt_neox.final_layer_norm', lmHead: 'embed_out',
    layer: (i) => {
      const p = `gpt_neox.layers.${i}`;
      return {
        ln1: `${p}.input_layernorm`, ln2: `${p}.post_attention_layernorm`, qkv: { fused: `${p}.attention.query_key_value` },
        o: `${p}.attention.dense`, mlpIn: { up: `${p}.mlp.dense_h_to_4h` }, down: `${p}.mlp.dense_4h_to_h`,
      };
    },
  }),
};
