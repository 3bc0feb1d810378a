/**
 * The source vectors of App. E.1 checked against matrices built here straight from the checkpoint files'
 * own tensors (GPT-2 Conv1D c_attn, NeoX per-head query_key_value, Mistral GQA with separate q/k/v), so the
 * canonical layout of load-weights.ts and the head bookkeeping are both checked independently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { layerSources, randomLayerSources, type SourceGroup } from '../../src/weights/sources.js';
import { SeededRandom } from '../../src/weights/random.js';
import { frobeniusNorm } from '../../src/linalg/dense.js';
import { goldenPath } from '../helpers/golden.js';

const runtime = createRuntime();

/** A dense float64 [rows, cols] matrix with element accessor. */
type Dense = { rows: number; cols: number; at: (i: number, j: number) => number };

function product(a: Dense, b: Dense): Float64Array {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) for (let k = 0; k < a.cols; k++) for (let j = 0; j < b.cols; j++) out[i * b.cols + j]! += a.at(i, k) * b.at(k, j);
  return out;
}

/** Σ σ u vᵀ over the + sign vectors of one head, from the left/right groups. */
function rebuilt(left: SourceGroup, right: SourceGroup, head: number, d: number): Float64Array {
  const out = new Float64Array(d * d);
  left.info.forEach((info, r) => {
    if (info.head !== head || info.sign !== 1) return;
    const u = left.vectors.subarray(r * d, (r + 1) * d);
    const v = right.vectors.subarray(r * d, (r + 1) * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j]! += info.singularValue! * u[i]! * v[j]!;
  });
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

interface RawLayout {
  /** W_O^h [d, hd], W_V^h [hd, d], W_Q^hᵀ [d, hd], W_K^h [hd, d], neuron i's input vector, neuron i's output vector. */
  wo(h: number): Dense;
  wv(h: number): Dense;
  wqT(h: number): Dense;
  wk(h: number): Dense;
  inVec(i: number): number[];
  outVec(i: number): number[];
  dFF: number;
}

async function raw(name: string): Promise<(t: string) => Promise<{ shape: number[]; at: (i: number, j: number) => number }>> {
  const f = await openSafetensors(nodeFileSystem, goldenPath('tiny-random', name, 'model.safetensors'));
  return async (t) => {
    const x = await f.readFloat32(t);
    return { shape: x.shape, at: (i, j) => x.data[i * x.shape[1]! + j]! };
  };
}

const CASES: Record<string, (read: Awaited<ReturnType<typeof raw>>, hd: number, d: number) => Promise<RawLayout>> = {
  // Conv1D: c_attn [d, 3d] maps x → [q | k | v]; c_proj [d, d] maps the heads' context → output.
  gpt2: async (read, hd, d) => {
    const attn = await read('transformer.h.0.attn.c_attn.weight');
    const proj = await read('transformer.h.0.attn.c_proj.weight');
    const fc = await read('transformer.h.0.mlp.c_fc.weight');
    const fcOut = await read('transformer.h.0.mlp.c_proj.weight');
    return {
      wo: (h) => ({ rows: d, cols: hd, at: (i, j) => proj.at(h * hd + j, i) }),
      wv: (h) => ({ rows: hd, cols: d, at: (i, j) => attn.at(j, 2 * d + h * hd + i) }),
      wqT: (h) => ({ rows: d, cols: hd, at: (i, j) => attn.at(i, h * hd + j) }),
      wk: (h) => ({ rows: hd, cols: d, at: (i, j) => attn.at(j, d + h * hd + i) }),
      inVec: (n) => Array.from({ length: d }, (_, i) => fc.at(i, n)),
      outVec: (n) => Array.from({ length: d }, (_, i) => fcOut.at(n, i)),
      dFF: fc.shape[1]!,
    };
  },
  // NeoX: query_key_value rows are [head][q, k, v][hd]; dense is a Linear [d, d].
  gpt_neox: async (read, hd, d) => {
    const qkv = await read('gpt_neox.layers.0.attention.query_key_value.weight');
    const dense = await read('gpt_neox.layers.0.attention.dense.weight');
    const up = await read('gpt_neox.layers.0.mlp.dense_h_to_4h.weight');
    const down = await read('gpt_neox.layers.0.mlp.dense_4h_to_h.weight');
    return {
      wo: (h) => ({ rows: d, cols: hd, at: (i, j) => dense.at(i, h * hd + j) }),
      wv: (h) => ({ rows: hd, cols: d, at: (i, j) => qkv.at((h * 3 + 2) * hd + i, j) }),
      wqT: (h) => ({ rows: d, cols: hd, at: (i, j) => qkv.at((h * 3 + 0) * hd + j, i) }),
      wk: (h) => ({ rows: hd, cols: d, at: (i, j) => qkv.at((h * 3 + 1) * hd + i, j) }),
      inVec: (n) => Array.from({ length: d }, (_, i) => up.at(n, i)),
      outVec: (n) => Array.from({ length: d }, (_, i) => down.at(i, n)),
      dFF: up.shape[0]!,
    };
  },
  // Mistral: 4 query heads share 2 kv heads (query head h reads kv head h // 2).
  mistral: async (read, hd, d) => {
    const q = await read('model.layers.0.self_attn.q_proj.weight');
    const k = await read('model.layers.0.self_attn.k_proj.weight');
    const v = await read('model.layers.0.self_attn.v_proj.weight');
    const o = await read('model.layers.0.self_attn.o_proj.weight');
    const up = await read('model.layers.0.mlp.up_proj.weight');
    const down = await read('model.layers.0.mlp.down_proj.weight');
    const g = (h: number): number => Math.floor(h / 2);
    return {
      wo: (h) => ({ rows: d, cols: hd, at: (i, j) => o.at(i, h * hd + j) }),
      wv: (h) => ({ rows: hd, cols: d, at: (i, j) => v.at(g(h) * hd + i, j) }),
      wqT: (h) => ({ rows: d, cols: hd, at: (i, j) => q.at(h * hd + j, i) }),
      wk: (h) => ({ rows: hd, cols: d, at: (i, j) => k.at(g(h) * hd + i, j) }),
      inVec: (n) => Array.from({ length: d }, (_, i) => up.at(n, i)),
      outVec: (n) => Array.from({ length: d }, (_, i) => down.at(i, n)),
      dFF: up.shape[0]!,
    };
  },
};

for (const [name, layout] of Object.entries(CASES)) {
  test(`${name}: OV and QK singular vectors rebuild W_O W_V and W_Qᵀ W_K of the file's own tensors; W_in columns / W_out rows are its neurons`, async () => {
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
    const cfg = model.config;
    const d = cfg.dModel;
    const r = await layout(await raw(name), cfg.headDim, d);
    const groups = new Map(layerSources(cfg, model.weights, 0).map((g) => [g.source, g]));
    for (let h = 0; h < cfg.nHeads; h++) {
      const ov = product(r.wo(h), r.wv(h));
      const qk = product(r.wqT(h), r.wk(h));
      const scale = Math.max(...ov.map(Math.abs), ...qk.map(Math.abs));
      assert.ok(maxAbs(rebuilt(groups.get('ov_svd_left')!, groups.get('ov_svd_right')!, h, d), ov) < 1e-5 * scale, `OV head ${h}`);
      assert.ok(maxAbs(rebuilt(groups.get('qk_svd_left')!, groups.get('qk_svd_right')!, h, d), qk) < 1e-5 * scale, `QK head ${h}`);
    }
    const cols = groups.get('w_in_columns')!;
    const rows = groups.get('w_out_rows')!;
    assert.equal(cols.info.length, r.dFF);
    assert.equal(rows.info.length, r.dFF);
    for (const n of [0, 7, r.dFF - 1]) {
      assert.ok(maxAbs(cols.vectors.subarray(n * d, (n + 1) * d), r.inVec(n)) < 1e-7);
      assert.ok(maxAbs(rows.vectors.subarray(n * d, (n + 1) * d), r.outVec(n)) < 1e-7);
    }
    // SVD sources: both signs, min(d, dFF) singular vectors of unit length.
    const win = groups.get('w_in_svd')!;
    assert.equal(win.info.length, 2 * Math.min(d, r.dFF));
    assert.deepEqual([win.info[0]!.sign, win.info[1]!.sign], [1, -1]);
    assert.ok(Math.abs(Math.hypot(...win.vectors.subarray(0, d)) - 1) < 1e-6);
    assert.equal(groups.has('w_in_gate_svd'), cfg.gatedMlp);
  });
}

test('random baseline: same shapes and Frobenius norms, reproducible from the seed, different from the weights', async () => {
  const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', 'mistral') }, runtime, 'mistral');
  const a = randomLayerSources(model.config, model.weights, 1, new SeededRandom(7));
  const b = randomLayerSources(model.config, model.weights, 1, new SeededRandom(7));
  const real = layerSources(model.config, model.weights, 1);
  assert.deepEqual(a.map((g) => [g.source, g.info.length]), real.map((g) => [g.source, g.info.length]));
  assert.deepEqual(Array.from(a[0]!.vectors), Array.from(b[0]!.vectors));
  const rowsRandom = a.find((g) => g.source === 'w_out_rows')!;
  const rowsReal = real.find((g) => g.source === 'w_out_rows')!;
  // W_out rows are the matrix itself: the norm is preserved exactly, the entries are not.
  assert.ok(Math.abs(frobeniusNorm({ data: rowsRandom.vectors }) - frobeniusNorm({ data: rowsReal.vectors })) < 1e-4 * frobeniusNorm({ data: rowsReal.vectors }));
  assert.ok(maxAbs(rowsRandom.vectors, rowsReal.vectors) > 1e-3);
});

test('every tiny-random architecture yields every source with the expected counts (gate only for gated MLPs)', async () => {
  for (const name of ['gpt2', 'gpt_neox', 'gpt_neo', 'gptj', 'opt', 'opt_project_in_out', 'bloom', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3']) {
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
    const { nHeads: H, headDim: hd, dModel: d, dFF, gatedMlp } = model.config;
    const counts = Object.fromEntries(layerSources(model.config, model.weights, model.nLayers - 1).map((g) => [g.source, g.info.length]));
    const expected: Record<string, number> = {
      ov_svd_left: 2 * H * Math.min(hd, d),
      ov_svd_right: 2 * H * Math.min(hd, d),
      qk_svd_left: 2 * H * Math.min(hd, d),
      qk_svd_right: 2 * H * Math.min(hd, d),
      w_in_svd: 2 * Math.min(d, dFF),
      w_in_columns: dFF,
      w_out_svd: 2 * Math.min(d, dFF),
      w_out_rows: dFF,
    };
    if (gatedMlp) Object.assign(expected, { w_in_gate_svd: 2 * Math.min(d, dFF), w_in_gate_columns: dFF });
    // Random tiny weights are full rank, so no singular direction is dropped.
    assert.deepEqual(counts, expected, name);
  }
});
