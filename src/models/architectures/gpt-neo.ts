import type { Architecture } from '../architecture.js';
import { activationFrom, decoderConfig, num } from '../model-config.js';

/** Expands GPT-Neo's attention_types, e.g. [[["global","local"], 12]], to one entry per layer ('global' | 'local'). */
function attentionLayers(hf: Record<string, unknown>, nLayers: number): string[] {
  const bad = (what: string): never => {
    throw new Error(`config.json: ${what} (GPT-Neo expects attention_types like [[["global", "local"], 12]])`);
  };
  const checkKind = (t: unknown): string => (t === 'global' || t === 'local' ? t : bad(`unknown attention type ${JSON.stringify(t)}`));
  const types = hf.attention_types;
  let out: string[];
  if (types === undefined || types === null) {
    const layers = hf.attention_layers;
    if (layers === undefined || layers === null) return new Array<string>(nLayers).fill('global');
    if (!Array.isArray(layers)) return bad('attention_layers is not a list');
    out = layers.map(checkKind);
  } else {
    if (!Array.isArray(types)) return bad('attention_types is not a list');
    out = [];
    for (const entry of types) {
      if (!Array.isArray(entry) || !Array.isArray(entry[0]) || typeof entry[1] !== 'number') return bad(`malformed attention_types entry ${JSON.stringify(entry)}`);
      for (let r = 0; r < entry[1]; r++) out.push(...(entry[0] as unknown[]).map(checkKind));
    }
  }
  if (out.length !== nLayers) throw new Error(`config.json: attention_types describes ${out.length} layers, num_layers is ${nLayers}`);
  return out;
}

/** GPT-Neo: GPT-2-like, but alternating global/local attention and no 1/sqrt(d) scaling. */
export const gptNeo: Architecture = {
  modelTypes: ['gpt_neo'],
  parseConfig(hf) {
    const d = num(hf, 'hidden_size');
    const nLayers = num(hf, 'num_layers');
    const window = num(hf, 'window_size', 256);
    return decoderConfig(hf, {
      modelType: 'gpt_neo', dModel: d, nLayers, nHeads: num(hf, 'num_heads'),
      dFF: num(hf, 'intermediate_size', 4 * d), vocabSize: num(hf, 'vocab_size'), maxPositions: num(hf, 'max_position_embeddings'),
      norm: { kind: 'layernorm', eps: num(hf, 'layer_norm_epsilon', 1e-5) },
      position: { kind: 'learned', offset: 0 },
      activation: activationFrom(hf, ['activation_function'], 'gelu_new'),
      tiedEmbeddings: hf.tie_word_embeddings !== false,
      attnScale: 1,
      localWindow: attentionLayers(hf, nLayers).map((t) => (t === 'local' ? window : null)),
    });
  },
  names: () => ({
    embed: 'transformer.wte', positions: 'transformer.wpe', finalNorm: 'transformer.ln_f', lmHead: 'lm_head',
    layer: (i) => {
      const p = `transformer.h.${i}`;
      const a = `${p}.attn.attention`;
      return {
        ln1: `${p}.ln_1`, ln2: `${p}.ln_2`, qkv: { q: `${a}.q_proj`, k: `${a}.k_proj`, v: `${a}.v_proj` }, o: `${a}.out_proj`,
        mlpIn: { up: `${p}.mlp.c_fc` }, down: `${p}.mlp.c_proj`,
      };
    },
  }),
};
