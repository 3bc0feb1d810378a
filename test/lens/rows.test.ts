/**
 * The lens-rows engine, checked against independent computations: host-side float64 distances from full
 * log-probabilities, a JavaScript matmul for the linear-only translator, finite differences for a
 * gradient w.r.t. a direction, and one-block runs for every consumer that now runs in blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as op from '../../src/graph/ops.js';
import { gradients } from '../../src/graph/autodiff.js';
import { LogitLens, TunedLens, lensLogProbs } from '../../src/lens/lens.js';
import { computeHiddenStates, reduceLensRows, scatterBlock, selectPositions, type RowReduction } from '../../src/lens/rows.js';
import { evaluateLenses } from '../../src/eval/evaluate.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { computeTrajectory } from '../../src/trajectory/compute.js';
import { entropyOf } from '../../src/trajectory/row-statistics.js';
import { promptDistances } from '../../src/viewer/engine.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

const modelPromise = loadModel('stories260K');
const lensPromise = modelPromise.then((m) => loadTunedLens(m, goldenPath('reference-lens', 'lens')));

test('prompt distances in 3-position blocks equal KL/JS/TV computed in float64 from the full log-probs', async () => {
  const model = await modelPromise;
  const lens = await lensPromise;
  const a = model.encode('Once upon a time, there was a little dog named Max.');
  const b = model.encode('Once upon a time, there was a big red ball in the park');
  const T = Math.min(a.length, b.length);
  const V = model.config.vocabSize;
  const blocks = await promptDistances(lens, a, b, { blockBytes: 4 * (model.nLayers + 1) * 2 * V * 3 });
  const pa = await lensLogProbs(lens, { ids: [a.slice(0, T)] });
  const pb = await lensLogProbs(lens, { ids: [b.slice(0, T)] });
  const rowsA = [...pa.layers, pa.output];
  const rowsB = [...pb.layers, pb.output];
  let worst = 0;
  for (let r = 0; r <= model.nLayers; r++) {
    for (let t = 0; t < T; t++) {
      let kl = 0;
      let js = 0;
      let tv = 0;
      for (let v = 0; v < V; v++) {
        const lp = rowsA[r]!.data[t * V + v] as number;
        const lq = rowsB[r]!.data[t * V + v] as number;
        const p = Math.exp(lp);
        const q = Math.exp(lq);
        const m = (p + q) / 2;
        kl += p * (lp - lq);
        js += 0.5 * ((p > 0 ? p * Math.log(p / m) : 0) + (q > 0 ? q * Math.log(q / m) : 0));
        tv += 0.5 * Math.abs(p - q);
      }
      const i = r * T + t;
      // float32 log-probs: relative accuracy ~1e-5 on values of up to tens of nats.
      const rel = (got: number | null, x: number): number => Math.abs(got! - x) / Math.max(1, Math.abs(x));
      worst = Math.max(worst, rel(blocks.kl[i]!, kl), rel(blocks.js[i]!, js), rel(blocks.tv[i]!, tv));
    }
  }
  assert.equal(blocks.positions, T);
  assert.ok(worst < 1e-4, `worst relative difference ${worst}`);
});

test('linearOnly applies h + h Wᵀ without the bias (checked with a JavaScript matmul)', async () => {
  const model = await modelPromise;
  const lens = await lensPromise;
  const ids = model.encode('The cat sat on the mat');
  const layer = 2;
  const hidden = await computeHiddenStates(model, { ids: [ids] });
  const d = model.config.dModel;
  const mg = model.buildGraph({ ids: [ids] });
  const h = mg.forward.hiddenStates[layer]!;
  const r = await model.run(mg, { linear: lens.transformHidden(h, layer, { linearOnly: true }), full: lens.transformHidden(h, layer) }, lens.feeds());
  const { weight, bias } = lens.translators[layer]!;
  const src = hidden.layers[layer]!;
  const expectLinear = new Float64Array(src.length);
  for (let t = 0; t < ids.length; t++) {
    for (let o = 0; o < d; o++) {
      let s = src[t * d + o]!;
      for (let i = 0; i < d; i++) s += src[t * d + i]! * weight.data[o * d + i]!;
      expectLinear[t * d + o] = s;
    }
  }
  assert.ok(maxAbsDiff(r.linear!.data as Float32Array, expectLinear) < 1e-4);
  const withBias = Float64Array.from(expectLinear, (x, k) => x + bias!.data[k % d]!);
  assert.ok(maxAbsDiff(r.full!.data as Float32Array, withBias) < 1e-4);
});

test('a custom reduction at the last position only equals the trajectory\'s last column', async () => {
  const model = await modelPromise;
  const lens = await lensPromise;
  const ids = model.encode('One day, Tom went to the park with his mom. He saw');
  const T = ids.length;
  const L = model.nLayers;
  const full = await computeTrajectory(lens, { ids: [ids] });
  const last = selectPositions(await computeHiddenStates(model, { ids: [ids] }), [T - 1]);
  const entropy = new Float32Array(L + 1);
  const reduction: RowReduction = {
    rowsPerBlock: L + 1,
    build: (block) => ({ entropy: entropyOf(op.logSoftmax(block.logits(lens, [...Array.from({ length: L }, (_, i) => i), 'output']))) }),
  };
  await reduceLensRows(model, { ids: [[ids[T - 1]!]] }, reduction, (out, w) => scatterBlock(entropy, out.entropy!.data, w, L + 1, 1, 1), { hidden: last });
  const expected = Array.from({ length: L + 1 }, (_, r) => full.entropy[r * T + T - 1]!);
  assert.ok(maxAbsDiff(entropy, expected) < 1e-5, `${Array.from(entropy)} vs ${expected}`);
});

test('the gradient w.r.t. a residual direction through lens + unembedding matches finite differences', async () => {
  const model = await modelPromise;
  const lens = await lensPromise;
  const ids = model.encode('Lily liked to play with her ball');
  const d = model.config.dModel;
  const layer = 3;
  const target = 410;
  // f(v) = Σ_t log p_lens(target | h_t + v), with the linear-only translator for the direction's part.
  const reduction: RowReduction = {
    rowsPerBlock: 1,
    build: (block) => {
      const v = block.constant('direction', 'float32', [d]);
      const logits = block.logitsOf(lens, [{ h: op.add(block.hidden(layer), v), layer }]);
      const f = op.reduceSum(op.gatherLast(op.logSoftmax(logits), op.expand(block.positionInput('target', 'int64'), logits.shape.slice(0, -1))), [0, 1, 2]);
      return { f, grad: gradients(f, [v])[0]! };
    },
  };
  const hidden = await computeHiddenStates(model, { ids: [ids] });
  const f = async (v: Float32Array): Promise<{ f: number; grad: Float32Array }> => {
    let value = 0;
    const grad = new Float32Array(d);
    const feeds = { direction: v, target: BigInt64Array.from(ids, () => BigInt(target)) };
    // Two positions per block: the block sums must add up to the whole gradient.
    await reduceLensRows(model, { ids: [ids] }, reduction, (out) => {
      value += (out.f!.data as Float32Array)[0]!;
      (out.grad!.data as Float32Array).forEach((x, i) => (grad[i]! += x));
    }, { hidden, feeds, blockBytes: 4 * model.config.vocabSize * 2 });
    return { f: value, grad };
  };
  const v0 = Float32Array.from({ length: d }, (_, i) => Math.sin(i) * 0.1);
  const { grad } = await f(v0);
  const dir = Float32Array.from({ length: d }, (_, i) => Math.cos(3 * i));
  const eps = 1e-2;
  const up = await f(v0.map((x, i) => x + eps * dir[i]!));
  const down = await f(v0.map((x, i) => x - eps * dir[i]!));
  const numeric = (up.f - down.f) / (2 * eps);
  const analytic = grad.reduce((s, g, i) => s + g * dir[i]!, 0);
  assert.ok(Math.abs(numeric - analytic) <= 2e-3 * Math.max(1, Math.abs(analytic)), `numeric ${numeric} vs analytic ${analytic}`);
});

test('eval in 4-position blocks (with layer transfer and marginals) equals eval in one block', async () => {
  const model = await modelPromise;
  const lens = await lensPromise;
  const text = model.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the sun with her friends.');
  const chunks = [text.slice(0, 12), text.slice(12, 24)];
  const options = { lenses: [{ name: 'logit', lens: new LogitLens(model) }, { name: 'tuned', lens }], layerTransfer: true, logitStats: true };
  const L = model.nLayers;
  const whole = await evaluateLenses(model, chunks, options);
  const rows = 2 * L + 1 + L * L;
  const split = await evaluateLenses(model, chunks, { ...options, blockBytes: 4 * rows * model.config.vocabSize * 4 });
  for (const name of ['logit', 'tuned', 'baseline']) {
    for (const [metric, layers] of Object.entries(whole.nats[name]!)) {
      for (const [layer, v] of Object.entries(layers)) assert.ok(Math.abs(split.nats[name]![metric]![layer]! - v) < 1e-5 * Math.max(1, Math.abs(v)), `${name} ${metric} ${layer}`);
    }
  }
  assert.ok(maxAbsDiff(split.transfer!.kl.flat(), whole.transfer!.kl.flat()) < 1e-5);
  assert.ok(maxAbsDiff(split.transfer!.ce.flat(), whole.transfer!.ce.flat()) < 1e-5);
  assert.ok(maxAbsDiff(split.marginals!.tuned![2]!, whole.marginals!.tuned![2]!) < 1e-6);
  // The tuned lens's own row equals the transfer diagonal; a zero lens is the logit lens.
  for (let i = 0; i < L; i++) assert.ok(Math.abs(whole.transfer!.ce[i]![i]! - whole.nats.tuned!.ce![`layer_${i}`]!) < 1e-5);
  const zero = await evaluateLenses(model, chunks, { lenses: [{ name: 'logit', lens: new LogitLens(model) }, { name: 'tuned', lens: TunedLens.identity(model) }] });
  for (let i = 0; i < L; i++) assert.equal(zero.nats.tuned!.kl![`layer_${i}`], zero.nats.logit!.kl![`layer_${i}`]);
});
