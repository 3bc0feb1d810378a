import type { Architecture } from '../architecture.js';
import { decoderConfig, num } from '../model-config.js';

/** BLOOM: ALiBi instead of positions, LayerNorm right after the embedding, fused per-head qkv. */
export const bloom: Architecture = {
  modelTypes: ['bloom'],
  fusedQkvPerHead: true,
  parseConfig(hf) {
    if (hf.apply_residual_connection_post_layernorm === true) {
      throw new Error('config.json: BLOOM with apply_residual_connection_post_layernorm=true is not supported');
    }
    const d = num(hf, ['hidden_size', 'n_embed']);
    return decoderConfig(hf, {
      modelType: 'bloom', dModel: d, nLayers: num(hf, ['n_layer', 'num_hidden_layers']), nHeads: num(hf, ['n_head', 'num_attention_heads']),
      dFF: 4 * d, vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'seq_length', 2048),
      norm: { kind: 'layernorm', eps: num(hf, 'layer_norm_epsilon', 1e-5) },
      position: { kind: 'alibi' }, activation: 'bloom_gelu',
      tiedEmbeddings: hf.tie_word_embeddings !== false,
      embedNorm: true,
    });
  },
  names: () => ({
    embed: 'transformer.word_embeddings', embedNorm: 'transformer.word_embeddings_layernorm', finalNorm: 'transformer.ln_f', lmHead: 'lm_head',
    layer: (i) => {
      const p = `transformer.h.${i}`;
      return {
        ln1: `${p}.input_layernorm`, ln2: `${p}.post_attention_layernorm`, qkv: { fused: `${p}.self_attention.query_key_value` },
        o: `${p}.self_attention.dense`, mlpIn: { up: `${p}.mlp.dense_h_to_4h` }, down: `${p}.mlp.dense_4h_to_h`,
      };
    },
  }),
};
