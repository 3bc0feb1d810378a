/** Every tiny random HF checkpoint reproduces the golden hidden states and logits of HF transformers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { flat, goldenPath, maxAbsDiff, readGolden } from '../helpers/golden.js';

const runtime = createRuntime();
const MODELS = ['gpt2', 'gpt_neox', 'gpt_neo', 'gptj', 'opt', 'opt_project_in_out', 'bloom', 'llama'];

interface Golden {
  input_ids: number[][];
  hidden_states: unknown;
  final_norm_input: unknown;
  logits: unknown;
  n_layers: number;
}

for (const name of MODELS) {
  test(`${name}: hidden states within 1e-5 and logits within 1e-4 of HF`, async () => {
    const golden = readGolden<Golden>('tiny-random', name, 'golden.json');
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
    assert.equal(model.nLayers, golden.n_layers);
    const r = await model.forward({ ids: golden.input_ids });
    const hs = golden.hidden_states as unknown[];
    assert.equal(r.hiddenStates.length, hs.length);
    r.hiddenStates.forEach((h, i) => {
      const d = maxAbsDiff(h.data as Float32Array, flat(hs[i]));
      assert.ok(d < 1e-5, `hidden_states[${i}] max abs diff ${d}`);
    });
    const dn = maxAbsDiff(r.finalNormInput.data as Float32Array, flat(golden.final_norm_input));
    assert.ok(dn < 1e-5, `final_norm_input max abs diff ${dn}`);
    const dl = maxAbsDiff(r.logits.data as Float32Array, flat(golden.logits));
    assert.ok(dl < 1e-4, `logits max abs diff ${dl}`);
  });
}
