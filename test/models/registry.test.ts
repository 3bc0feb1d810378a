/** Config parsing: unknown architectures and unsupported options fail clearly; families parse as expected. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { architectureFor, supportedModelTypes } from '../../src/models/registry.js';

test('an unknown model_type names the file and lists the supported ones', () => {
  assert.throws(() => architectureFor('falcon', '/m/config.json'), (e: Error) => {
    assert.match(e.message, /\/m\/config\.json: unsupported model_type 'falcon'/);
    for (const t of ['gpt2', 'gpt_neo', 'gptj', 'gpt_neox', 'opt', 'bloom', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3']) assert.ok(e.message.includes(t), t);
    return true;
  });
  assert.equal(supportedModelTypes().length, 13);
});

test('family variants parse to the right normalised config', () => {
  const base = { hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 128, vocab_size: 100 };
  const mistral = architectureFor('mistral').parseConfig({ ...base, model_type: 'mistral', num_key_value_heads: 2, sliding_window: 16 });
  assert.deepEqual(mistral.localWindow, [16, 16]);
  assert.equal(mistral.nKvHeads, 2);
  const gemma = architectureFor('gemma').parseConfig({ ...base, model_type: 'gemma', head_dim: 32, hidden_activation: 'gelu_pytorch_tanh' });
  assert.equal(gemma.norm.weightOffset, 1);
  assert.equal(gemma.headDim, 32);
  assert.equal(gemma.activation, 'gelu_new');
  assert.ok(gemma.tiedEmbeddings);
  assert.equal(gemma.embedScale, Math.fround(8));
  const pythia = architectureFor('gpt_neox').parseConfig({ ...base, model_type: 'gpt_neox', rotary_pct: 0.25, max_position_embeddings: 64 });
  assert.deepEqual(pythia.position, { kind: 'rotary', rotaryDim: 4, theta: 10000 });
  assert.equal(pythia.residual, 'parallel');
  assert.throws(() => architectureFor('llama').parseConfig({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'llama3' } }), /rope_scaling 'llama3' is not supported/);
  assert.throws(() => architectureFor('opt').parseConfig({ ...base, model_type: 'opt', ffn_dim: 128, max_position_embeddings: 64, do_layer_norm_before: false }), /post-LN OPT/);
  assert.throws(() => architectureFor('gpt2').parseConfig({ model_type: 'gpt2' }), /lacks the number 'n_embd' or 'hidden_size'/);
});

test('blocks are decided by the config: layer_types, softcaps, q/k norms, activations, sandwich norms', () => {
  const base = { hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 4, intermediate_size: 128, vocab_size: 100 };
  // gemma2: the architecture's even-layer rule, unless layer_types says otherwise.
  const gemma2 = architectureFor('gemma2').parseConfig({ ...base, model_type: 'gemma2', sliding_window: 8, query_pre_attn_scalar: 16, attn_logit_softcapping: 50, final_logit_softcapping: 30, hidden_activation: 'gelu_pytorch_tanh' });
  assert.deepEqual(gemma2.localWindow, [8, null, 8, null]);
  assert.equal(gemma2.residual, 'sandwich');
  assert.equal(gemma2.attnScale, 0.25);
  assert.equal(gemma2.attnSoftcap, 50);
  assert.equal(gemma2.finalSoftcap, 30);
  assert.equal(gemma2.norm.weightOffset, 1);
  assert.ok(gemma2.tiedEmbeddings);
  const typed = architectureFor('gemma2').parseConfig({ ...base, model_type: 'gemma2', sliding_window: 8, layer_types: ['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'] });
  assert.deepEqual(typed.localWindow, [null, 8, 8, null]);
  assert.throws(() => architectureFor('llama').parseConfig({ ...base, model_type: 'llama', sliding_window: 8, layer_types: ['full_attention'] }), /layer_types has 1 entries for 4 layers/);
  assert.throws(() => architectureFor('llama').parseConfig({ ...base, model_type: 'llama', layer_types: ['sliding_attention', 'full_attention', 'full_attention', 'full_attention'] }), /sliding_window is not set/);
  // Any Llama-family config that states a softcap gets it; llama itself has no sliding-window rule.
  const capped = architectureFor('llama').parseConfig({ ...base, model_type: 'llama', sliding_window: 8, final_logit_softcapping: 5 });
  assert.equal(capped.finalSoftcap, 5);
  assert.deepEqual(capped.localWindow, [null, null, null, null]);
  assert.equal(capped.qkNorm, false);
  assert.ok(architectureFor('qwen3').parseConfig({ ...base, model_type: 'qwen3' }).qkNorm);
  const qwen2 = architectureFor('qwen2').parseConfig({ ...base, model_type: 'qwen2', sliding_window: 8, use_sliding_window: true, max_window_layers: 2 });
  assert.deepEqual(qwen2.localWindow, [null, null, 8, 8]);
  assert.deepEqual(architectureFor('qwen2').parseConfig({ ...base, model_type: 'qwen2', sliding_window: 8 }).localWindow, [null, null, null, null]);
  assert.deepEqual(architectureFor('phi3').parseConfig({ ...base, model_type: 'phi3', sliding_window: 8 }).localWindow, [8, 8, 8, 8]);
  // Activations are validated, not cast.
  assert.throws(() => architectureFor('llama').parseConfig({ ...base, model_type: 'llama', hidden_act: 'mish' }), /unsupported hidden_act "mish" \(supported: /);
  assert.throws(() => architectureFor('gpt2').parseConfig({ model_type: 'gpt2', n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 10, n_positions: 8, activation_function: 42 }), /unsupported activation_function 42/);
  assert.equal(architectureFor('gpt2').parseConfig({ model_type: 'gpt2', n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 10, n_positions: 8, activation_function: 'gelu_pytorch_tanh' }).activation, 'gelu_new');
  assert.throws(() => architectureFor('gemma2').parseConfig({ ...base, model_type: 'gemma2', attn_logit_softcapping: -1 }), /'attn_logit_softcapping' must be a positive number or null/);
  const neo = { model_type: 'gpt_neo', hidden_size: 8, num_heads: 2, num_layers: 2, vocab_size: 10, max_position_embeddings: 8, window_size: 3 };
  assert.deepEqual(architectureFor('gpt_neo').parseConfig({ ...neo, attention_types: [[['global', 'local'], 1]] }).localWindow, [null, 3]);
  assert.throws(() => architectureFor('gpt_neo').parseConfig({ ...neo, attention_types: [[['global', 'sparse'], 1]] }), /unknown attention type "sparse"/);
  assert.throws(() => architectureFor('gpt_neo').parseConfig({ ...neo, attention_types: [['global', 2]] }), /malformed attention_types entry/);
});
