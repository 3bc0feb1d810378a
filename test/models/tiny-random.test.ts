/**
 * Every tiny random HF checkpoint reproduces the golden hidden states and logits of HF transformers;
 * the newer six also their left-padded batch (meaningful positions), and their logit lens in the
 * reference form or, where the reference cannot lens the model, the NON_REFERENCE form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { finalNorm, outputHead } from '../../src/models/transformer.js';
import { LogitLens, lensLogProbs } from '../../src/lens/lens.js';
import { flat, goldenPath, maxAbsDiff, readGolden } from '../helpers/golden.js';

const runtime = createRuntime();
const FIRST_EIGHT = ['gpt2', 'gpt_neox', 'gpt_neo', 'gptj', 'opt', 'opt_project_in_out', 'bloom', 'llama'];
const NEWER_SIX = ['mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3'];
/** gemma2's residual stream reaches about 11, so the golden README asks for 1e-4 on its hidden states. */
const hiddenTolerance = (name: string): number => (name === 'gemma2' ? 1e-4 : 1e-5);

interface Golden {
  input_ids: number[][];
  hidden_states: unknown[];
  final_norm_input: unknown;
  logits: unknown;
  n_layers: number;
  logit_lens_log_probs: unknown[] | null;
  logit_lens_log_probs_NON_REFERENCE?: unknown[];
  padded_case?: { input_ids: number[][]; attention_mask: number[][]; meaningful_positions: number[][]; hidden_states: unknown[]; logits: unknown };
}

const load = (name: string): Promise<LanguageModel> => loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);

for (const name of [...FIRST_EIGHT, ...NEWER_SIX]) {
  test(`${name}: hidden states within ${hiddenTolerance(name)} and logits within 1e-4 of HF`, async () => {
    const golden = readGolden<Golden>('tiny-random', name, 'golden.json');
    const model = await load(name);
    assert.equal(model.nLayers, golden.n_layers);
    const r = await model.forward({ ids: golden.input_ids });
    const hs = golden.hidden_states;
    assert.equal(r.hiddenStates.length, hs.length);
    r.hiddenStates.forEach((h, i) => {
      const d = maxAbsDiff(h.data as Float32Array, flat(hs[i]));
      assert.ok(d < hiddenTolerance(name), `hidden_states[${i}] max abs diff ${d}`);
    });
    const dn = maxAbsDiff(r.finalNormInput.data as Float32Array, flat(golden.final_norm_input));
    assert.ok(dn < hiddenTolerance(name), `final_norm_input max abs diff ${dn}`);
    const dl = maxAbsDiff(r.logits.data as Float32Array, flat(golden.logits));
    assert.ok(dl < 1e-4, `logits max abs diff ${dl}`);
  });
}

/** Values of [B][T][...] arrays at the meaningful positions only. */
function atPositions(data: ArrayLike<number>, T: number, width: number, positions: number[][]): number[] {
  const out: number[] = [];
  positions.forEach((ps, b) => ps.forEach((t) => out.push(...Array.from({ length: width }, (_, k) => data[(b * T + t) * width + k]!))));
  return out;
}

for (const name of NEWER_SIX) {
  test(`${name}: the left-padded batch with an attention mask matches HF at the meaningful positions`, async () => {
    const golden = readGolden<Golden>('tiny-random', name, 'golden.json');
    const p = golden.padded_case!;
    const model = await load(name);
    // Our positions count real tokens (generate()'s cumsum); HF used 0..T-1 here. The README measures that
    // difference at <= 2.2e-6 on these logits, since RoPE and the windows depend only on distances.
    const r = await model.forward({ ids: p.input_ids, attentionMask: p.attention_mask });
    const T = p.input_ids[0]!.length;
    const mp = p.meaningful_positions;
    const d = model.config.dModel;
    r.hiddenStates.forEach((h, i) => {
      const diff = maxAbsDiff(atPositions(h.data as Float32Array, T, d, mp), atPositions(flat(p.hidden_states[i]), T, d, mp));
      assert.ok(diff < hiddenTolerance(name), `padded hidden_states[${i}] ${diff}`);
    });
    const V = model.config.vocabSize;
    const dl = maxAbsDiff(atPositions(r.logits.data as Float32Array, T, V, mp), atPositions(flat(p.logits), T, V, mp));
    assert.ok(dl < 1e-4, `padded logits ${dl}`);
  });

  test(`${name}: logit lens (the model's whole head) and the NON_REFERENCE form (final norm + lm_head, no cap)`, async () => {
    const golden = readGolden<Golden>('tiny-random', name, 'golden.json');
    const model = await load(name);
    const batch = { ids: golden.input_ids };
    const lens = await lensLogProbs(new LogitLens(model), batch);
    const nonReference = golden.logit_lens_log_probs_NON_REFERENCE;
    // The uncapped logits, built from the model's pieces: lm_head(final_norm(h_i)).
    const mg = model.buildGraph(batch, { logits: false });
    const outputs: Record<string, Value> = {};
    for (let i = 0; i < model.nLayers; i++) {
      outputs[`z_${i}`] = outputHead(model.config, mg.weights, finalNorm(model.config, mg.weights, mg.forward.hiddenStates[i]!), { softcap: false });
    }
    const uncapped = await model.run(mg, outputs);
    const V = model.config.vocabSize;
    const cap = model.config.finalSoftcap;
    for (let i = 0; i < model.nLayers; i++) {
      const ours = lens.layers[i]!.data as Float32Array;
      const z = Array.from(uncapped[`z_${i}`]!.data as Float32Array);
      const plain = logSoftmaxRows(z, V);
      if (golden.logit_lens_log_probs) {
        // mistral, gemma: the reference LogitLens itself.
        const dd = maxAbsDiff(ours, flat(golden.logit_lens_log_probs[i]));
        assert.ok(dd < 1e-4, `reference logit lens layer ${i}: ${dd}`);
      } else {
        const dd = maxAbsDiff(plain, flat(nonReference![i]));
        assert.ok(dd < 1e-4, `NON_REFERENCE logit lens layer ${i}: ${dd}`);
      }
      // Our lens is the model's whole head: gemma2's final cap c·tanh(z/c) included.
      const expected = cap === null ? plain : logSoftmaxRows(z.map((v) => cap * Math.tanh(v / cap)), V);
      assert.ok(maxAbsDiff(ours, expected) < 1e-5, `lens layer ${i} = log_softmax(head(final_norm(h)))`);
      if (cap !== null) assert.ok(maxAbsDiff(ours, plain) > 1e-2, `the cap changes the lens (layer ${i})`);
    }
    // The head the lens applies, on the residual before the final norm, is the model's own output (capped for gemma2).
    const head = await model.run(mg, { out: op.logSoftmax(outputHead(model.config, mg.weights, finalNorm(model.config, mg.weights, mg.forward.finalNormInput))) });
    const goldenLogits = flat(golden.logits);
    const goldenLogProbs = logSoftmaxRows(goldenLogits, model.config.vocabSize);
    assert.ok(maxAbsDiff(head.out!.data as Float32Array, goldenLogProbs) < 1e-4);
    assert.ok(maxAbsDiff(lens.output.data as Float32Array, goldenLogProbs) < 1e-4, 'lens output = log_softmax(model logits)');
  });
}

/** log_softmax over rows of `width`, in float64. */
function logSoftmaxRows(x: number[], width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / width; r++) {
    const row = x.slice(r * width, (r + 1) * width).map(Math.fround);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    out.push(...row.map((v) => v - lse));
  }
  return out;
}
