import type { Architecture } from '../architecture.js';
import { activationFrom, decoderConfig, num } from '../model-config.js';

/** OPT: learned positions offset by 2, optional project_in/out around a narrower embedding. */
export const opt: Architecture = {
  modelTypes: ['opt'],
  parseConfig(hf) {
    if (hf.do_layer_norm_before === false) {
      throw new Error('config.json: post-LN OPT (do_layer_norm_before=false, e.g. opt-350m) has no final layer norm, so no lens can be applied; the Python reference rejects it too');
    }
    const d = num(hf, 'hidden_size');
    const dEmbed = num(hf, 'word_embed_proj_dim', d);
    return decoderConfig(hf, {
      modelType: 'opt', dModel: d, dEmbed, nLayers: num(hf, 'num_hidden_layers'), nHeads: num(hf, 'num_attention_heads'),
      dFF: num(hf, 'ffn_dim'), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'max_position_embeddings'),
      // OPT hard-codes LayerNorm eps 1e-5.
      norm: { kind: 'layernorm', eps: 1e-5 },
      position: { kind: 'learned', offset: 2 },
      activation: activationFrom(hf, ['activation_function'], 'relu'),
      tiedEmbeddings: hf.tie_word_embeddings !== false,
      projectInOut: dEmbed !== d,
    });
  },
  names: () => ({
    embed: 'model.decoder.embed_tokens', positions: 'model.decoder.embed_positions', projectIn: 'model.decoder.project_in',
    projectOut: 'model.decoder.project_out', finalNorm: 'model.decoder.final_layer_norm', lmHead: 'lm_head',
    layer: (i) => {
      const p = `model.decoder.layers.${i}`;
      const a = `${p}.self_attn`;
      return {
        ln1: `${p}.self_attn_layer_norm`, ln2: `${p}.final_layer_norm`, qkv: { q: `${a}.q_proj`, k: `${a}.k_proj`, v: `${a}.v_proj` },
        o: `${a}.out_proj`, mlpIn: { up: `${p}.fc1` }, down: `${p}.fc2`,
      };
    },
  }),
};
