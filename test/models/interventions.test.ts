/**
 * Forward-pass interventions and block plans: identity edits change nothing, a deleted block equals a
 * zeroed update, a mean edit adds exactly the mean, planned runs equal blocks run one by one by hand
 * (each block keeping its own sliding window). Gradients through edits: gradient-through-models.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import type { ModelConfig } from '../../src/models/model-config.js';
import { batchShape, type Batch } from '../../src/models/position-inputs.js';
import { block, positionInputs, WeightInputs } from '../../src/models/transformer.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

const runtime = createRuntime();
const tiny = (name: string): Promise<LanguageModel> => loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
const storiesPromise = loadModel('stories260K');
const f32 = (a: { data: unknown }): Float32Array => a.data as Float32Array;

function idsFor(model: LanguageModel, T: number, seed = 1): Batch {
  const V = model.config.vocabSize;
  return { ids: [Array.from({ length: T }, (_, i) => (i * 37 + seed * 11 + 3) % V), Array.from({ length: T }, (_, i) => (i * 53 + seed * 7 + 5) % V)] };
}

/** Runs one block alone on a given residual, in its own graph, with `cfg`'s settings for that block. */
async function runBlockAlone(model: LanguageModel, cfg: ModelConfig, layer: number, h: Float32Array, batch: Batch): Promise<Float32Array> {
  const [B, T] = batchShape(batch);
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const x = g.input('h', 'float32', [B, T, cfg.dModel]);
  const out = block(cfg, w, { step: 0, layer }, x, positionInputs(g, cfg, B, T)).residOut;
  const compiled = await model.runtime.compile({ out });
  const all: Record<string, Float32Array | BigInt64Array> = { ...w.feeds(), ...model.batchFeeds(batch), h } as Record<string, Float32Array | BigInt64Array>;
  return f32((await compiled.run(Object.fromEntries([...compiled.inputs.keys()].map((n) => [n, all[n]!]))))['out']!);
}

test('identity edits at every hidden state (x itself, x + fed zeros) reproduce the plain run exactly', async () => {
  const model = await storiesPromise;
  const batch = idsFor(model, 9);
  const plain = await model.forward(batch);
  const L = model.nLayers;
  const same = await model.forward(batch, { edits: { residual: (_k, x) => x } });
  for (let i = 0; i <= L; i++) {
    const zero = await model.forward(batch, {
      edits: { residual: (k, x, inputs) => (k === i ? op.add(x, inputs.input('delta', x.shape, new Float32Array(x.size))) : x) },
    });
    for (const r of [same, zero]) {
      assert.equal(maxAbsDiff(f32(r.logits), f32(plain.logits)), 0, `edit at ${i}: logits`);
      r.hiddenStates.forEach((h, k) => assert.equal(maxAbsDiff(f32(h), f32(plain.hiddenStates[k]!)), 0, `edit at ${i}: hidden_states[${k}]`));
    }
  }
});

test('deleting block i from the plan equals a zeroed block update; a fed mean update adds exactly the mean', async () => {
  const model = await storiesPromise;
  const batch = idsFor(model, 9, 2);
  const L = model.nLayers;
  const d = model.config.dModel;
  const plain = await model.forward(batch);
  for (let i = 0; i < L; i++) {
    const plan = Array.from({ length: L }, (_, k) => k).filter((k) => k !== i);
    const deleted = await model.forward(batch, { plan });
    const zeroed = await model.forward(batch, { edits: { blockUpdate: (b, u) => (b.layer === i ? op.mul(u, 0) : u) } });
    assert.equal(deleted.hiddenStates.length, L);
    // Two different graphs: onnxruntime may fuse the residual adds with the norms differently, hence not bit-exact.
    assert.ok(maxAbsDiff(f32(deleted.logits), f32(zeroed.logits)) < 1e-4, `block ${i}: logits`);
    assert.ok(maxAbsDiff(f32(deleted.finalNormInput), f32(zeroed.finalNormInput)) < 1e-5, `block ${i}: final norm input`);
    assert.ok(maxAbsDiff(f32(deleted.logits), f32(plain.logits)) > 1e-2, `deleting block ${i} changes the logits`);
  }
  // Mean ablation with a caller-fed vector: hidden_states[2] = hidden_states[1] + mean at every position.
  const mean = Float32Array.from({ length: d }, (_, j) => Math.sin(j + 1));
  const r = await model.forward(batch, {
    edits: { blockUpdate: (b, u, _x, inputs) => (b.layer === 1 ? op.expand(inputs.input('mean_update', [d], mean), u.shape) : u) },
  });
  const h1 = f32(r.hiddenStates[1]!);
  const expected = h1.map((v, k) => Math.fround(v + mean[k % d]!));
  assert.equal(maxAbsDiff(f32(r.hiddenStates[2]!), expected), 0);
  // Handing the update back unchanged is the plain run up to the order of two float additions.
  const same = await model.forward(batch, { edits: { blockUpdate: (_b, u) => u } });
  assert.ok(maxAbsDiff(f32(same.logits), f32(plain.logits)) < 1e-5);
});

test('stories260K: a permuted plan with a repeat equals the blocks run one by one by hand', async () => {
  const model = await storiesPromise;
  const batch = idsFor(model, 11, 3);
  const plan = [3, 0, 0, 4, 2];
  const planned = await model.forward(batch, { plan });
  assert.equal(planned.hiddenStates.length, plan.length + 1);
  let h = f32((await model.forward(batch)).hiddenStates[0]!);
  for (let step = 0; step < plan.length; step++) {
    h = await runBlockAlone(model, model.config, plan[step]!, h, batch);
    const got = step + 1 < plan.length ? f32(planned.hiddenStates[step + 1]!) : f32(planned.finalNormInput);
    const dd = maxAbsDiff(got, h);
    assert.ok(dd < 1e-5, `step ${step} (block ${plan[step]}): ${dd}`);
  }
  // The planned run really differs from the plain one.
  assert.ok(maxAbsDiff(f32(planned.logits), f32((await model.forward(batch)).logits)) > 1e-2);
});

test('gpt_neo: a local-attention block moved to the front keeps its window', async () => {
  const model = await tiny('gpt_neo');
  assert.deepEqual(model.config.localWindow, [null, 5, 5]);
  const batch = idsFor(model, 12);
  const planned = await model.forward(batch, { plan: [2, 0] });
  const h0 = f32(planned.hiddenStates[0]!);
  const windowed = await runBlockAlone(model, model.config, 2, h0, batch);
  const global = await runBlockAlone(model, { ...model.config, localWindow: [null, null, null] }, 2, h0, batch);
  assert.ok(maxAbsDiff(f32(planned.hiddenStates[1]!), windowed) < 1e-6);
  assert.ok(maxAbsDiff(windowed, global) > 1e-3, 'the window matters on 12 tokens');
  const next = await runBlockAlone(model, model.config, 0, windowed, batch);
  assert.ok(maxAbsDiff(f32(planned.finalNormInput), next) < 1e-5);
});

test('the named sites add up: residMid = residIn + attnOut, residOut = residMid + mlpOut = residIn + update', async () => {
  const model = await tiny('gpt_neox');
  const batch = idsFor(model, 8);
  const mg = model.buildGraph(batch);
  const s = mg.forward.sites[1]!;
  const r = await model.run(mg, { a: s.residIn, attn: s.attnOut, mid: s.residMid, mlp: s.mlpOut, upd: s.update, out: s.residOut, h2: mg.forward.hiddenStates[2]! });
  const [a, attn, mid, mlp, upd, out] = ['a', 'attn', 'mid', 'mlp', 'upd', 'out'].map((k) => f32(r[k]!));
  assert.ok(maxAbsDiff(mid!, a!.map((v, k) => v + attn![k]!)) < 1e-6);
  assert.ok(maxAbsDiff(out!, mid!.map((v, k) => v + mlp![k]!)) < 1e-6);
  assert.ok(maxAbsDiff(out!, a!.map((v, k) => v + upd![k]!)) < 1e-5);
  assert.equal(maxAbsDiff(out!, f32(r.h2!)), 0);
});

test('edits are checked: wrong shapes and out-of-range plans fail clearly', async () => {
  const model = await storiesPromise;
  const batch = idsFor(model, 4);
  assert.throws(() => model.buildGraph(batch, { plan: [0, 9] }), /block plan: 9 is not a block index of this model \(0\.\.4\)/);
  assert.throws(() => model.buildGraph(batch, { edits: { residual: (_i, x) => op.reduceSum(x, [2]) } }), /residual edit must return \[2, 4, 64\] float32/);
});

test('zeroed attention and MLP outputs equal a deleted block; compiled runners take edit inputs per run', async () => {
  const model = await storiesPromise;
  const batch = idsFor(model, 6, 4);
  const zero = (v: Value): Value => op.mul(v, 0);
  const branches = await model.forward(batch, { edits: { attnOut: (b, a) => (b.layer === 2 ? zero(a) : a), mlpOut: (b, m) => (b.layer === 2 ? zero(m) : m) } });
  const deleted = await model.forward(batch, { plan: [0, 1, 3, 4] });
  assert.ok(maxAbsDiff(f32(branches.finalNormInput), f32(deleted.finalNormInput)) < 1e-5);
  assert.equal(maxAbsDiff(f32(branches.hiddenStates[3]!), f32(branches.hiddenStates[2]!)), 0);

  // A steering input declared without data, fed per run through a compiled runner.
  const d = model.config.dModel;
  const run = await model.compileForShape(batch, (mg) => ({ h: mg.forward.hiddenStates[2]!, base: mg.forward.sites[1]!.residOut }), {
    edits: { residual: (i, x, inputs) => (i === 2 ? op.add(x, op.expand(inputs.input('steer', [d]), x.shape)) : x) },
  });
  const steer = Float32Array.from({ length: d }, (_, j) => (j % 3) - 1);
  const r = await run(batch, { steer });
  const base = f32(r.base!);
  assert.equal(maxAbsDiff(f32(r.h!), base.map((v, k) => Math.fround(v + steer[k % d]!))), 0);
  await assert.rejects(run(batch), /graph input 'steer' \[64\] float32 was not fed/);
});

test('greedy generation runs the planned model', async () => {
  const model = await storiesPromise;
  const ids = model.encode('Once upon a time');
  const plain = await model.generateGreedy(ids, 4);
  assert.deepEqual(await model.generateGreedy(ids, 4, { plan: [0, 1, 2, 3, 4] }), plain);
  // Without any block the model is a bigram table: the embedding straight into the head.
  const bigram = await model.generateGreedy(ids, 4, { plan: [] });
  assert.notDeepEqual(bigram, plain);
  const mg = model.buildGraph({ ids: [ids] }, { plan: [] });
  const logits = (await model.run(mg, { l: mg.forward.logits })).l!.data as Float32Array;
  const V = model.config.vocabSize;
  const last = logits.subarray((ids.length - 1) * V, ids.length * V);
  assert.equal(bigram[ids.length], last.indexOf(Math.max(...last)));
});
