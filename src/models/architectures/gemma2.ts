import { llamaFamily, llamaLayerNames } from './llama-family.js';

/**
 * Gemma-2: Gemma plus norms after attention and MLP (the 'sandwich' layout: input_layernorm →
 * attention → post_attention_layernorm; pre_feedforward_layernorm → MLP → post_feedforward_layernorm),
 * a sliding window on even layers (transformers 4.47's rule; layer_types wins when present). The soft
 * caps and query_pre_attn_scalar come from config.json.
 */
export const gemma2 = llamaFamily({
  modelType: 'gemma2',
  gemmaScaling: true,
  tiedByDefault: true,
  residual: 'sandwich',
  slides: (i) => i % 2 === 0,
  layerNames: (p) => ({
    ...llamaLayerNames(p),
    postAttnNorm: `${p}.post_attention_layernorm`,
    ln2: `${p}.pre_feedforward_layernorm`,
    postMlpNorm: `${p}.post_feedforward_layernorm`,
  }),
});
