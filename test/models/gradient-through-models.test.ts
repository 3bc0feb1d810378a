/**
 * The causal analyses differentiate through whole models: for every architecture, d(loss)/d(hidden_states[1])
 * (through a residual edit input, attention — fused op or explicit decomposition — and everything after it)
 * matches central finite differences in float32.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { gradients } from '../../src/graph/autodiff.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { batchShape, type Batch } from '../../src/models/position-inputs.js';
import { goldenPath } from '../helpers/golden.js';

const runtime = createRuntime();
const tiny = (name: string): Promise<LanguageModel> => loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
const f32 = (a: { data: unknown }): Float32Array => a.data as Float32Array;

function idsFor(model: LanguageModel, T: number): Batch {
  const V = model.config.vocabSize;
  return { ids: [Array.from({ length: T }, (_, i) => (i * 37 + 14) % V), Array.from({ length: T }, (_, i) => (i * 53 + 12) % V)] };
}

// Every architecture: attention (ALiBi, windows, soft caps, GQA), norms and MLPs all carry gradients.
['gpt2', 'gpt_neox', 'gpt_neo', 'gptj', 'opt', 'opt_project_in_out', 'bloom', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3'].forEach((name, index) => {
  test(`${name}: d(loss)/d(hidden_states[1]) through the rest of the model matches finite differences`, async () => {
    const model = await tiny(name);
    const batch = idsFor(model, 7);
    const [B, T] = batchShape(batch);
    const d = model.config.dModel;
    let delta: Value | undefined;
    // Half the models with the fused attention node (differentiated through its decomposition), half with
    // the decomposition built explicitly.
    const mg = model.buildGraph(batch, {
      fusedAttention: index % 2 === 0,
      edits: { residual: (i, x, inputs) => (i === 1 ? op.add(x, (delta = inputs.input('delta', [B, T, d]))) : x) },
    });
    const logits = mg.forward.logits;
    const proj = op.constant(mg.g, Float32Array.from({ length: logits.size }, (_, k) => Math.sin(k * 1.7) * 0.5), logits.shape);
    const loss = op.reduceSum(op.mul(op.logSoftmax(logits), proj), [0, 1, 2]);
    const [grad] = gradients(loss, [delta!]);
    const zeros = new Float32Array(B * T * d);
    const analytic = f32((await model.run(mg, { grad: grad! }, { delta: zeros })).grad!);
    const lossAt = async (data: Float32Array): Promise<number> => f32((await model.run(mg, { loss }, { delta: data })).loss!)[0]!;
    const eps = 1e-2;
    // Early positions: their gradient also flows through later positions' attention.
    for (const k of [0, d + 5, T * d + 7, (T + 2) * d + 11]) {
      const up = zeros.slice();
      up[k] = eps;
      const down = zeros.slice();
      down[k] = -eps;
      const numeric = ((await lossAt(up)) - (await lossAt(down))) / (2 * eps);
      assert.ok(Math.abs(numeric - analytic[k]!) <= 2e-3 + 1e-2 * Math.abs(numeric), `coordinate ${k}: analytic ${analytic[k]} vs numeric ${numeric}`);
    }
    assert.ok(analytic.some((v) => Math.abs(v) > 1e-2), 'the gradient is not trivially zero');
  });
});
