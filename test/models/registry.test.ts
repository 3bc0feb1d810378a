/** Config parsing: unknown architectures and unsupported options fail clearly; families parse as expected. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { architectureFor, supportedModelTypes } from '../../src/models/registry.js';

test('an unknown model_type names the file and lists the supported ones', () => {
  assert.throws(() => architectureFor('falcon', '/m/config.json'), (e: Error) => {
    assert.match(e.message, /\/m\/config\.json: unsupported model_type 'falcon'/);
    for (const t of ['gpt2', 'gpt_neo', 'gptj', 'gpt_neox', 'opt', 'bloom', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma']) assert.ok(e.message.includes(t), t);
    return true;
  });
  assert.equal(supportedModelTypes().length, 11);
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
