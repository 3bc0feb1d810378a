import { llamaFamily, llamaLayerNames } from './llama-family.js';

/** Phi-3: Llama with fused projections, qkv_proj = [q | k | v] and gate_up_proj = [gate | up]; sliding_window on every layer when set. */
export const phi3 = llamaFamily({
  modelType: 'phi3',
  slides: () => true,
  layerNames: (p) => ({
    ...llamaLayerNames(p),
    qkv: { fused: `${p}.self_attn.qkv_proj` },
    mlpIn: { fusedGateUp: `${p}.mlp.gate_up_proj` },
  }),
});
