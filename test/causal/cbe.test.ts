/**
 * Causal basis extraction against the reference's own run (shared/golden/causal/cbe_logit_lens.*, README
 * tolerances), and the lens-influence objective and its gradient against an independent float64
 * computation with finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens, type Lens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { cbeInit, extractCausalBasis } from '../../src/causal/cbe.js';
import { LensInfluence, rowMean, type HiddenRows } from '../../src/causal/lens-influence.js';
import { Lbfgs } from '../../src/causal/lbfgs.js';
import { mat, orthonormalityError, thinQr } from '../../src/linalg/dense.js';
import { goldenPath, readGolden } from '../helpers/golden.js';
import { lensLogProbs64 } from './helpers.js';

interface CbeGolden {
  input_ids: number[][];
  layers: { layer_index: number; energies: number[]; vectors: number[][]; svd_init: number[][]; stable_under_same_algorithm: boolean[] }[];
}

const golden = readGolden<CbeGolden>('causal', 'cbe_logit_lens.json');
const modelPromise = loadModel('stories260K');
const hiddenPromise = modelPromise.then((m) => m.forward({ ids: golden.input_ids }));

async function layerRows(layer: number, n = 1024): Promise<HiddenRows> {
  const h = (await hiddenPromise).hiddenStates[layer]!.data as Float32Array;
  return { data: h.subarray(0, n * 64), n, d: 64 };
}

/** Mean over tokens of KL(p(h) ‖ p(h + v(μ·v − h·v))) for the lens, all in float64 (independent of the graph). */
function lensInfluence64(lens: Lens, layer: number, rows: HiddenRows, mean: Float32Array, v: Float64Array): number {
  const { d } = rows;
  const V = lens.model.config.vocabSize;
  const logProbs = (h: Float64Array): Float64Array => lensLogProbs64(lens, layer, h);
  let total = 0;
  const muv = v.reduce((s, x, i) => s + x * mean[i]!, 0);
  for (let t = 0; t < rows.n; t++) {
    const h = Float64Array.from(rows.data.subarray(t * d, (t + 1) * d));
    const hv = h.reduce((s, x, i) => s + x * v[i]!, 0);
    const ha = h.map((x, i) => x + v[i]! * (muv - hv));
    const lp = logProbs(h);
    const lq = logProbs(ha);
    for (let k = 0; k < V; k++) total += Math.exp(lp[k]!) * (lp[k]! - lq[k]!);
  }
  return total / rows.n;
}

function unit(d: number, seed: number): Float64Array {
  let s = seed;
  const v = Float64Array.from({ length: d }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  });
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
}

test('lens influence of the tuned lens: value and gradient match float64 recomputation and finite differences', async () => {
  const model = await modelPromise;
  const lens = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const rows = await layerRows(2, 48);
  const mean = rowMean(rows);
  // Blocks of 20 tokens: three runs, the last one padded, must add up to the whole.
  const inf = new LensInfluence(lens, 2, rows, { mode: 'mean', blockTokens: 20 });
  const v = unit(64, 7);
  const { value, grad } = await inf.evaluate(Float32Array.from(v), 1);
  const ref = lensInfluence64(lens, 2, rows, mean, v);
  assert.ok(Math.abs(value - ref) / ref < 1e-5, `value ${value} vs float64 ${ref}`);
  // Central differences of the float64 objective along a few random directions.
  for (const seed of [1, 2, 3]) {
    const u = unit(64, seed * 31);
    const h = 1e-4;
    const plus = lensInfluence64(lens, 2, rows, mean, v.map((x, i) => x + h * u[i]!));
    const minus = lensInfluence64(lens, 2, rows, mean, v.map((x, i) => x - h * u[i]!));
    const fd = (plus - minus) / (2 * h);
    const an = grad.reduce((s, g, i) => s + g * u[i]!, 0);
    assert.ok(Math.abs(fd - an) <= 1e-3 * Math.abs(fd) + 1e-6, `directional derivative ${an} vs finite differences ${fd}`);
  }
});

test('CBE initialisation: the left singular vectors of W_Uᵀ of the reference (|cos| ≥ 0.9999)', async () => {
  const model = await modelPromise;
  const init = cbeInit(new LogitLens(model), 0, 4);
  const ref = golden.layers[0]!.svd_init;
  for (let j = 0; j < 4; j++) {
    let c = 0;
    for (let r = 0; r < 64; r++) c += init.data[r * 4 + j]! * ref[r]![j]!;
    assert.ok(Math.abs(c) >= 0.9999, `column ${j}: |cos| ${Math.abs(c)}`);
  }
});

for (const layer of [3, 1]) {
  test(`CBE on stories260K layer ${layer} (logit lens, k = 4): the reference's stable vectors and energies, orthonormal, descending, self-consistent`, async () => {
    const model = await modelPromise;
    const lens = new LogitLens(model);
    const rows = await layerRows(layer);
    const b = await extractCausalBasis(lens, layer, rows, { k: 4 });
    const g = golden.layers[layer]!;
    const V = mat(64, 4, b.vectors);
    assert.ok(orthonormalityError(V) < 1e-5, `orthonormality ${orthonormalityError(V)}`);
    for (let j = 1; j < 4; j++) assert.ok(b.energies[j - 1]! >= b.energies[j]!, 'energies descending');
    for (let s = 0; s < 4; s++) {
      if (!g.stable_under_same_algorithm[s]) continue;
      let best = 0;
      let bi = 0;
      for (let j = 0; j < 4; j++) {
        let c = 0;
        for (let r = 0; r < 64; r++) c += g.vectors[r]![s]! * b.vectors[r * 4 + j]!;
        if (Math.abs(c) > best) [best, bi] = [Math.abs(c), j];
      }
      const eRef = Math.fround(g.energies[s]!);
      assert.ok(best >= 0.999, `reference vector ${s}: best |cos| ${best}`);
      assert.ok(Math.abs(b.energies[bi]! - eRef) <= 1e-3 * eRef + 2e-5, `reference vector ${s}: energy ${b.energies[bi]} vs ${eRef}`);
    }
    // The saved energy is the objective at the saved vector (independent float64 recomputation).
    for (const j of [0, 3]) {
      const v = Float64Array.from({ length: 64 }, (_, r) => b.vectors[r * 4 + j]!);
      const e64 = lensInfluence64(lens, layer, rows, b.mean, v);
      assert.ok(Math.abs(b.energies[j]! - e64) / e64 < 1e-4, `direction ${j}: saved ${b.energies[j]} vs recomputed ${e64}`);
    }
  });
}

test('L-BFGS (strong Wolfe) minimises the Rosenbrock function', async () => {
  const x = Float64Array.from([-1.2, 1]);
  const opt = new Lbfgs({ maxIter: 200 });
  const f = async (p: Float64Array) => {
    const [a, b] = [p[0]!, p[1]!];
    return { loss: (1 - a) ** 2 + 100 * (b - a * a) ** 2, grad: Float64Array.from([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]) };
  };
  await opt.step(x, f);
  assert.ok(Math.abs(x[0]! - 1) < 1e-4 && Math.abs(x[1]! - 1) < 1e-4, `ended at ${x[0]}, ${x[1]}`);
});

test('subspace option: an orthonormal basis whose joint ablation captures at least the initial subspace\'s energy', async () => {
  const model = await modelPromise;
  const lens = new LogitLens(model);
  const rows = await layerRows(4, 256);
  const b = await extractCausalBasis(lens, 4, rows, { k: 3, subspace: true, maxIter: 30 });
  assert.ok(orthonormalityError(mat(64, 3, b.vectors)) < 1e-5);
  const inf = new LensInfluence(lens, 4, rows, { mode: 'mean' });
  const initial = (await inf.evaluate(Float32Array.from(thinQr(mat(64, 3, b.init)).q.data), 3)).value;
  assert.ok(b.subspaceEnergy > initial, `subspace energy ${b.subspaceEnergy} vs initial ${initial}`);
  for (let j = 1; j < 3; j++) assert.ok(b.energies[j - 1]! >= b.energies[j]!);
});
