/**
 * The viewer's grid modes, each against an independent computation: prediction depth of a hand-made
 * trajectory; layer differences recomputed from the full distributions (lensLogProbs); sub-layer reads
 * recomputed from HF's golden hidden states by running the last block's attention alone (tiny-random
 * llama and gemma2), and on stories260K by a model whose MLP at that block is zeroed; architectures
 * with parallel attention/MLP refused with their reason; the engine, the URL field and the panels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { lensLogProbs } from '../../src/lens/rows.js';
import { midBlockResidualUnavailable } from '../../src/models/blocks.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { batchShape } from '../../src/models/position-inputs.js';
import { block, positionInputs, unembed, WeightInputs } from '../../src/models/transformer.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { createRuntime } from '../../src/node/runtime.js';
import { computeLayerDifferences } from '../../src/trajectory/layer-differences.js';
import { computeSublayerTrajectory } from '../../src/trajectory/sublayer.js';
import { ViewerEngine } from '../../src/viewer/engine.js';
import { buildViewPanels, gridDepths, gridModeNotice, interleaveSublayer, modeResponse } from '../../src/viewer/grid-modes.js';
import { nodeEngineLoaders } from '../../src/viewer/node-loaders.js';
import type { GridPayload, TrajectoryResponse, ViewSettings } from '../../src/viewer/protocol.js';
import { DEFAULT_VIEW, stateFromQuery, stateToQuery, defaultState } from '../../src/viewer/url-state.js';
import { flat, goldenPath, readGolden } from '../helpers/golden.js';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer.js';

const LENS_DIR = goldenPath('reference-lens', 'lens');
const runtime = createRuntime();
const tiny = (name: string): Promise<LanguageModel> => loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
const view = (over: Partial<ViewSettings>): ViewSettings => ({ ...DEFAULT_VIEW, ...over });

/** A grid of L = 3 lens rows + output, 3 positions, top-2, whose top-1 per row is given as [row][pos]. */
function handGrid(top1: number[][], prompt: 0 | 1 = 0): GridPayload {
  const R = top1.length;
  const T = top1[0]!.length;
  const cells = (v: number): number[] => new Array<number>(R * T).fill(v);
  return {
    lens: 'logit', prompt, label: 'logit lens', rows: R, positions: T, topK: 2,
    rowLabels: [...Array.from({ length: R - 1 }, (_, i) => String(i)), 'output'],
    inputIds: Array.from({ length: T }, (_, t) => 10 + t), targets: Array.from({ length: T }, (_, t) => (t + 1 < T ? 11 + t : -1)),
    entropy: cells(1), crossEntropy: cells(2), forwardKl: cells(0.5), maxProb: cells(0.4), rank: cells(3),
    topIds: top1.flatMap((row) => row.flatMap((id) => [id, 99])), topProbs: cells(0).flatMap(() => [0.4, 0.1]),
  };
}

function handResponse(grids: GridPayload[]): TrajectoryResponse {
  const pieces: Record<string, string> = {};
  for (const id of [1, 2, 5, 7, 9, 10, 11, 12, 99]) pieces[id] = `t${id}`;
  return { model: { index: 0, name: 'hand', vocabSize: 100, nLayers: grids[0]!.rows - 1, maxTokens: 64, sha256: null }, lens: 'logit', tunedLensName: null, tunedLensSha256: null, grids, distance: null, pieces, elapsedMs: 0 };
}

test('depth mode: the depth of a hand-made trajectory, settled cells coloured by it, the depth over each column', () => {
  // Rows 0..2 then output; columns: settled from the input row; from row 1; output only; agree early but not late.
  const grid = handGrid([
    [5, 1, 5, 7],
    [5, 5, 5, 7],
    [5, 5, 2, 1],
    [5, 5, 5, 7],
  ]);
  assert.deepEqual(gridDepths(grid), [0, 1, 3, 3]);
  const resp = handResponse([grid]);
  const [panel] = buildViewPanels(resp, view({ mode: 'depth' }));
  assert.equal(panel!.key, 'depth-0');
  // values[display row][col], display row i = trajectory row i (stride 1).
  assert.deepEqual(panel!.data.values, [
    [0, null, null, null],
    [0, 1, null, null],
    [0, 1, null, null],
    [0, 1, 3, 3],
  ]);
  assert.deepEqual(panel!.data.columnTopLabels, ['0', '1', '3', '3']);
  assert.deepEqual(panel!.data.range, [0, 3]);
  assert.equal(panel!.data.rowLabels[0], 'input');
  assert.equal(panel!.data.cellLabels[2]![2], 't2'); // the lens's own top-1 stays as the label
  assert.match(panel!.note!(0, 2)!, /Prediction depth 3 of 3.*only the model output has it.*not yet settled.*t5/);
  assert.match(panel!.note!(3, 1)!, /Prediction depth 1 of 3.*settled here/);
  // Stride 2 keeps rows 0, 2 and the output: the values follow the trajectory rows, not the display rows.
  const [strided] = buildViewPanels(resp, view({ mode: 'depth', stride: 2 }));
  assert.deepEqual(strided!.rows, [0, 2, 3]);
  assert.deepEqual(strided!.data.values[1], [0, 1, null, null]);
});

test('sub-layer rows interleave with the block rows; the URL keeps the mode; unknown modes fall back', () => {
  const block = handGrid([[1], [2], [5]]);
  const mid = { ...handGrid([[7], [9], [5]]), rowLabels: ['0.attn', '1.attn', 'output'], entropy: [10, 11, 12] };
  const both = interleaveSublayer(block, mid);
  assert.deepEqual(both.rowLabels, ['0', '0.attn', '1', '1.attn', 'output']);
  assert.deepEqual(both.topIds.filter((_, i) => i % 2 === 0), [1, 7, 2, 9, 5]);
  assert.deepEqual(both.entropy, [1, 10, 1, 11, 1]);
  const resp = { ...handResponse([block]), sublayerGrids: [mid] };
  const [panel] = buildViewPanels(resp, view({ mode: 'sublayer' }));
  assert.deepEqual(panel!.data.rowLabels, ['input', '0.attn', '1', '1.attn', 'output']);
  assert.equal(modeResponse(resp, 'lens'), resp);

  for (const mode of ['depth', 'delta', 'sublayer'] as const) {
    const s = { ...defaultState(), prompt: 'x', view: { ...DEFAULT_VIEW, mode } };
    assert.equal(stateFromQuery(stateToQuery(s)).view.mode, mode);
  }
  assert.equal(stateToQuery({ ...defaultState(), view: { ...DEFAULT_VIEW, mode: 'lens' } }), '');
  assert.equal(stateFromQuery('?mode=bogus').view.mode, undefined);
});

test('layer differences equal KL/JS/TV and the largest rise recomputed from the full distributions (stories260K, tuned lens)', async () => {
  const model = await loadModel('stories260K');
  const lens = await loadTunedLens(model, LENS_DIR);
  const ids = model.encode('Once upon a time, there was a little girl named Lily.');
  const T = ids.length;
  const V = model.config.vocabSize;
  const R = model.nLayers + 1;
  const d = await computeLayerDifferences(lens, ids, { topK: 3 });
  const full = await lensLogProbs(lens, { ids: [ids] });
  const rows = [...full.layers, full.output].map((a) => a.data as Float32Array);
  assert.equal(d.rows, R);
  for (let t = 0; t < T; t++) assert.ok(Number.isNaN(d.kl[t]!) && d.riseIds[t * 3] === -1, 'row 0 has no row below');
  let worst = 0;
  for (let r = 1; r < R; r++) {
    for (let t = 0; t < T; t++) {
      let kl = 0;
      let js = 0;
      let tv = 0;
      let best = -1;
      let bestRise = -Infinity;
      for (let v = 0; v < V; v++) {
        const lp = rows[r]![t * V + v]!;
        const lq = rows[r - 1]![t * V + v]!;
        const p = Math.exp(lp);
        const q = Math.exp(lq);
        const m = (p + q) / 2;
        kl += p * (lp - lq);
        js += 0.5 * ((p > 0 ? p * (lp - Math.log(m)) : 0) + (q > 0 ? q * (lq - Math.log(m)) : 0));
        tv += 0.5 * Math.abs(p - q);
        if (p - q > bestRise) [best, bestRise] = [v, p - q];
      }
      const i = r * T + t;
      worst = Math.max(worst, Math.abs(d.kl[i]! - kl) / Math.max(1, kl), Math.abs(d.js[i]! - js), Math.abs(d.tv[i]! - tv), Math.abs(d.rise[i * 3]! - bestRise));
      assert.equal(d.riseIds[i * 3], best, `largest rise at row ${r}, position ${t}`);
      assert.ok(d.rise[i * 3]! >= d.rise[i * 3 + 1]! && d.rise[i * 3 + 1]! >= d.rise[i * 3 + 2]!);
    }
  }
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
});

/** log-softmax of the logit lens on block `layer`'s residual after attention, from its golden input, run alone. */
async function midReadFromGolden(model: LanguageModel, input: number[][], hIn: Float32Array, layer: number): Promise<Float32Array> {
  const cfg = model.config;
  const batch = { ids: input };
  const [B, T] = batchShape(batch);
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const x = g.input('h', 'float32', [B, T, cfg.dModel]);
  const mid = block(cfg, w, { step: 0, layer }, x, positionInputs(g, cfg, B, T)).residMid;
  const compiled = await model.runtime.compile({ logp: op.logSoftmax(unembed(cfg, w, mid)) });
  const all = { ...w.feeds(), ...model.batchFeeds(batch), h: hIn } as Record<string, Float32Array>;
  const out = await compiled.run(Object.fromEntries([...compiled.inputs.keys()].map((n) => [n, all[n]!])));
  return out.logp!.data as Float32Array;
}

for (const arch of ['llama', 'gemma2']) {
  test(`sub-layer read at the last block's mid-point equals its attention run alone on the golden hidden states (tiny-random ${arch})`, async () => {
    const gold = readGolden<{ input_ids: number[][]; hidden_states: unknown[] }>('tiny-random', arch, 'golden.json');
    const model = await tiny(arch);
    const L = model.nLayers;
    const V = model.config.vocabSize;
    const ids = [gold.input_ids[0]!];
    const T = ids[0]!.length;
    const d = model.config.dModel;
    const hIn = Float32Array.from(flat(gold.hidden_states[L - 1]).slice(0, T * d)); // batch item 0
    const logp = await midReadFromGolden(model, ids, hIn, L - 1);
    const K = 5;
    const traj = await computeSublayerTrajectory(model, { ids }, { topK: K, lengthBucket: false });
    assert.equal(traj.rowLabels[L - 1], `${L - 1}.attn`);
    assert.equal(traj.rowLabels[L], 'output');
    let worst = 0;
    for (let t = 0; t < T; t++) {
      const row = Array.from(logp.subarray(t * V, (t + 1) * V));
      const entropy = -row.reduce((s, lp) => s + Math.exp(lp) * lp, 0);
      const order = row.map((lp, v) => [lp, v] as const).sort((a, b) => b[0] - a[0]);
      const cell = (L - 1) * T + t;
      worst = Math.max(worst, Math.abs(traj.entropy[cell]! - entropy), Math.abs(traj.maxProb[cell]! - Math.exp(order[0]![0])));
      assert.equal(traj.topIds[cell * K], order[0]![1], `top-1 at position ${t}`);
      if (t + 1 < T) worst = Math.max(worst, Math.abs(traj.crossEntropy[cell]! + row[ids[0]![t + 1]!]!));
    }
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });
}

test('every sub-layer row on stories260K equals the model run to that block with its MLP output zeroed', async () => {
  const model = await loadModel('stories260K');
  const ids = model.encode('Once upon a time, there was a little girl named Lily.');
  const T = ids.length;
  const V = model.config.vocabSize;
  const traj = await computeSublayerTrajectory(model, { ids: [ids] }, { topK: 1 });
  let worst = 0;
  for (let l = 0; l < model.nLayers; l++) {
    // Blocks 0..l, the last without its MLP: the residual entering the final norm is block l's mid-point.
    const plan = Array.from({ length: l + 1 }, (_, i) => i);
    const r = await model.forward({ ids: [ids] }, { plan, edits: { mlpOut: (b, m) => (b.step === l ? op.mul(m, 0) : m) } });
    const logits = r.logits.data as Float32Array;
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const entropy = -Array.from(row).reduce((s, x) => s + Math.exp(x - lse) * (x - lse), 0);
      worst = Math.max(worst, Math.abs(traj.entropy[l * T + t]! - entropy));
      assert.equal(traj.topIds[l * T + t], row.indexOf(max), `top-1 of ${l}.attn at position ${t}`);
    }
  }
  assert.ok(worst < 1e-4, `largest entropy difference ${worst}`);
});

test('parallel attention/MLP has no mid-block residual: the mode is refused with the reason from the layout', async () => {
  for (const arch of ['gpt_neox', 'gptj']) {
    const model = await tiny(arch);
    const why = midBlockResidualUnavailable(model.config);
    assert.match(why ?? '', /no mid-block residual: .*parallel/);
    await assert.rejects(computeSublayerTrajectory(model, { ids: [[1, 2, 3]] }), /no mid-block residual/);
  }
  for (const arch of ['gpt2', 'llama', 'gemma2', 'opt', 'bloom', 'phi3']) assert.equal(midBlockResidualUnavailable((await tiny(arch)).config), null, arch);
});

test('engine: delta and sub-layer data per grid, the plain grids unchanged, panels for each mode', async () => {
  const engine = new ViewerEngine({ models: ['stories260K'], lenses: { stories260K: [LENS_DIR] } }, nodeEngineLoaders());
  const req = engine.parseTrajectoryRequest({ model: 0, lens: 'compare', prompt: 'Once upon a time, there was a little girl named Lily.' });
  assert.equal(req.mode, undefined);
  assert.equal(engine.parseTrajectoryRequest({ ...req, mode: 'depth' }).mode, undefined, 'depth is drawn from the plain trajectory');
  assert.throws(() => engine.parseTrajectoryRequest({ ...req, mode: 'nope' }), /Unknown grid mode/);
  const plain = await engine.trajectory(req);
  const delta = await engine.trajectory(engine.parseTrajectoryRequest({ ...req, mode: 'delta' }));
  const sub = await engine.trajectory(engine.parseTrajectoryRequest({ ...req, mode: 'sublayer' }));
  assert.deepEqual(delta.grids, plain.grids);
  assert.equal(delta.layerDeltas!.length, 2);
  assert.equal(sub.sublayerGrids!.length, 2);
  assert.equal(sub.sublayerGrids![0], sub.sublayerGrids![1], 'one read per prompt');
  assert.equal(sub.sublayerGrids![0]!.rowLabels[0], '0.attn');
  // The tuned grid's differences are the tuned lens's: recompute one cell through the library.
  const model = await loadModel('stories260K');
  const tunedDelta = await computeLayerDifferences(await loadTunedLens(model, LENS_DIR), plain.grids[1]!.inputIds);
  const i = 3 * plain.grids[1]!.positions + 2;
  assert.ok(Math.abs(delta.layerDeltas![1]!.kl[i]! - tunedDelta.kl[i]!) < 1e-4 * Math.max(1, tunedDelta.kl[i]!));
  for (const id of delta.layerDeltas![1]!.riseIds) if (id >= 0) assert.ok(String(id) in delta.pieces);

  const depthPanels = buildViewPanels(plain, view({ mode: 'depth' }));
  assert.deepEqual(depthPanels.map((p) => p.key), ['depth-0', 'depth-1']);
  assert.deepEqual(depthPanels[0]!.data.columnTopLabels, gridDepths(plain.grids[0]!).map(String));
  const deltaPanels = buildViewPanels(delta, view({ mode: 'delta', distance: 'js' }));
  assert.equal(deltaPanels[1]!.data.values[2]![2], delta.layerDeltas![1]!.js[2 * plain.grids[1]!.positions + 2]);
  const subPanels = buildViewPanels(sub, view({ mode: 'sublayer' }));
  assert.equal(subPanels.length, 2);
  assert.equal(subPanels[0]!.data.rowLabels.length, 2 * model.nLayers + 1);
  assert.match(subPanels[1]!.title, /\.attn rows: logit lens/);
  // A mode without its data (asked of a plain response) draws the lens rows.
  assert.deepEqual(buildViewPanels(plain, view({ mode: 'delta' })).map((p) => p.key), ['grid-0', 'grid-1']);
});

test('engine on a parallel-residual model (tiny-random gpt_neox): sub-layer reads off with the reason, lens rows shown, differences still work', async () => {
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'tl-neox-'));
  try {
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(goldenPath('tiny-random', 'gpt_neox', f), nodePath.join(dir, f));
    writeFileSync(nodePath.join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer(199)));
    const engine = new ViewerEngine({ models: [dir] }, nodeEngineLoaders());
    const req = engine.parseTrajectoryRequest({ model: 0, lens: 'logit', prompt: 'hello world!', mode: 'sublayer' });
    const resp = await engine.trajectory(req);
    assert.match(resp.model.sublayerUnavailable ?? '', /no mid-block residual: .*parallel/);
    assert.equal(resp.sublayerUnavailable, resp.model.sublayerUnavailable);
    assert.equal(resp.sublayerGrids, undefined);
    assert.deepEqual(buildViewPanels(resp, view({ mode: 'sublayer' })).map((p) => p.key), ['grid-0']);
    assert.match(gridModeNotice(resp, view({ mode: 'sublayer' }), false)!, /Sub-layer reads are off .*parallel.* Showing the lens rows/);
    const delta = await engine.trajectory({ ...req, mode: 'delta' });
    assert.equal(delta.layerDeltas![0]!.rows, 4);
    assert.ok(delta.layerDeltas![0]!.kl.slice(delta.layerDeltas![0]!.positions).every((v) => v !== null && v >= -1e-6));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
