import type { Architecture } from '../architecture.js';
import { activationFrom, decoderConfig, num } from '../model-config.js';

/** GPT-J: attention and MLP in parallel from one shared ln_1; interleaved partial rotary; head with bias. */
export const gptj: Architecture = {
  modelTypes: ['gptj'],
  interleavedRotary: true,
  parseConfig(hf) {
    const d = num(hf, ['n_embd', 'hidden_size']);
    const nHeads = num(hf, ['n_head', 'num_attention_heads']);
    return decoderConfig(hf, {
      modelType: 'gptj', dModel: d, nLayers: num(hf, ['n_layer', 'num_hidden_layers']), nHeads,
      dFF: num(hf, 'n_inner', 4 * d), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'n_positions'),
      norm: { kind: 'layernorm', eps: num(hf, 'layer_norm_epsilon', 1e-5) },
      position: { kind: 'rotary', rotaryDim: num(hf, 'rotary_dim', d / nHeads), theta: 10000 },
      residual: 'parallel-shared-norm',
      activation: activationFrom(hf, ['activation_function'], 'gelu_new'),
      tiedEmbeddings: hf.tie_word_embeddings === true,
      lmHeadBias: true,
    });
  },
  names: () => ({
    embed: 'transformer.wte', finalNorm: 'transformer.ln_f', lmHead: 'lm_head',
    layer: (i) => {
      const p = `transformer.h.${i}`;
      return {
        ln1: `${p}.ln_1`, qkv: { q: `${p}.attn.q_proj`, k: `${p}.attn.k_proj`, v: `${p}.attn.v_proj` }, o: `${p}.attn.out_proj`,
        mlpIn: { up: `${p}.mlp.fc_in` }, down: `${p}.mlp.fc_out`,
      };
    },
  }),
};
