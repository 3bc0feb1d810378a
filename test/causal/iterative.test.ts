/**
 * Iterative-inference pieces: numpy-style percentiles and Spearman ρ on hand-computed cases, the random
 * baseline, and the residual–gradient alignment's gradients against finite differences of an
 * independently composed forward pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import type { HostData } from '../../src/graph/runtime.js';
import { loadModel } from '../../src/node/load-model.js';
import { block, finalNorm, outputHead, positionInputs, WeightInputs } from '../../src/models/transformer.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { alignmentValues, nextTokenTargets, perSequenceMeanCe, residualAlignment } from '../../src/causal/iterative.js';
import { percentile, randomCosineP5, spearman } from '../../src/causal/stats.js';
import { readGolden } from '../helpers/golden.js';

test('percentiles interpolate linearly like numpy; Spearman averages tied ranks like scipy', () => {
  assert.equal(percentile([1, 2, 3, 4], 5), 1.15);
  assert.ok(Math.abs(percentile([3, 1, 2, 10, 7], 95) - 9.4) < 1e-12);
  assert.equal(percentile([0.5], 50), 0.5);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505139) < 1e-12);
  assert.equal(spearman([1, 2, 3], [30, 20, 10]), -1);
});

test('random baseline: seeded, and near the Gaussian 5th percentile −1.645/√dim', () => {
  const a = randomCosineP5(400, 3, 120);
  assert.equal(a, randomCosineP5(400, 3, 120));
  assert.ok(Math.abs(a - -1.645 / 20) < 0.015, `p5 ${a}`);
});

/** Σ_b mean CE of sequence b, with hidden_states[layer] fed as an input and the blocks from there composed independently. */
async function lossFrom(model: LanguageModel, ids: number[][], layer: number, h: Float32Array): Promise<number> {
  const cfg = model.config;
  const [B, T] = [ids.length, ids[0]!.length];
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const pos = positionInputs(g, cfg, B, T, false);
  let x = g.input('h', 'float32', [B, T, cfg.dModel]);
  for (let i = layer; i < cfg.nLayers; i++) x = block(cfg, w, { step: i, layer: i }, x, pos).residOut;
  const loss = perSequenceMeanCe(outputHead(cfg, w, finalNorm(cfg, w, x)), g.input('t', 'int64', [B, T - 1]));
  const all: Record<string, HostData> = { ...w.feeds(), ...model.batchFeeds({ ids }), h, t: nextTokenTargets(ids) };
  const compiled = await model.runtime.compile({ loss });
  const feeds: Record<string, HostData> = {};
  for (const name of compiled.inputs.keys()) feeds[name] = all[name]!;
  return ((await compiled.run(feeds)).loss!.data as Float32Array)[0]!;
}

test('residual alignment: ∂L/∂h_ℓ matches finite differences, cosines follow from update and gradient', async () => {
  const model = await loadModel('stories260K');
  const ids = readGolden<{ input_ids: number[][] }>('causal', 'ablate_layer.json').input_ids.map((r) => r.slice(0, 12)).slice(0, 2);
  const [B, T, d] = [2, 12, 64];
  const mg = model.buildGraph({ ids }, { fusedAttention: false });
  const parts = alignmentValues(mg.forward, mg.g.input('causal.targets', 'int64', [B, T - 1]), model.nLayers);
  const outputs: Record<string, ReturnType<typeof op.add>> = {};
  parts.forEach((p, l) => Object.assign(outputs, { [`u${l}`]: p.update, [`g${l}`]: p.gradient, [`c${l}`]: p.cosine, [`h${l}`]: mg.forward.hiddenStates[l]! }));
  const r = await model.run(mg, outputs, { 'causal.targets': nextTokenTargets(ids) });
  const viaCommand = await residualAlignment(model, ids);
  for (const l of [0, 2, 4]) {
    const h = r[`h${l}`]!.data as Float32Array;
    const grad = r[`g${l}`]!.data as Float32Array;
    const upd = r[`u${l}`]!.data as Float32Array;
    // Directional derivatives along the block update itself and along a fixed pseudo-random direction.
    const other = Float32Array.from({ length: h.length }, (_, i) => Math.sin(i * 12.9898 + l) * 0.5);
    for (const dir of [upd, other]) {
      const n = Math.hypot(...dir);
      const eps = 1e-2;
      const plus = await lossFrom(model, ids, l, h.map((x, i) => x + (eps * dir[i]!) / n));
      const minus = await lossFrom(model, ids, l, h.map((x, i) => x - (eps * dir[i]!) / n));
      const fd = (plus - minus) / (2 * eps);
      const an = grad.reduce((s, g, i) => s + (g * dir[i]!) / n, 0);
      assert.ok(Math.abs(fd - an) <= 0.02 * Math.abs(an) + 2e-4, `layer ${l}: directional derivative ${an} vs finite differences ${fd}`);
    }
    for (let b = 0; b < B; b++) {
      let dot = 0;
      let nu = 0;
      let ng = 0;
      for (let i = b * T * d; i < (b + 1) * T * d; i++) {
        dot += upd[i]! * grad[i]!;
        nu += upd[i]! ** 2;
        ng += grad[i]! ** 2;
      }
      const cos = dot / Math.sqrt(nu * ng);
      assert.ok(Math.abs(cos - (r[`c${l}`]!.data as Float32Array)[b]!) < 1e-5, `layer ${l} sequence ${b}: cosine`);
      assert.ok(Math.abs(cos - viaCommand.cosines[l]![b]!) < 1e-5, `layer ${l} sequence ${b}: residualAlignment`);
    }
  }
  // The last block's update ends at the raw residual (final_norm_input), not the post-norm hidden state.
  const full = await model.forward({ ids });
  const last = r[`u${model.nLayers - 1}`]!.data as Float32Array;
  const expect = (full.finalNormInput.data as Float32Array).map((x, i) => x - (full.hiddenStates[model.nLayers - 1]!.data as Float32Array)[i]!);
  assert.ok(last.every((x, i) => Math.abs(x - expect[i]!) < 1e-4));
});
