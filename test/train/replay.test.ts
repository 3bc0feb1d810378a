/**
 * Replays the reference training run (golden/reference-lens/data_chunks.json: no shuffle, 3 sequences
 * of 256 per step, 100 steps) and compares translators after steps 1, 2, 10 and 100, and every
 * step's losses, with what the Python reference produced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { TunedLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { trainLens, type TrainConfig } from '../../src/train/trainer.js';
import { goldenPath, maxAbsDiff, readGolden } from '../helpers/golden.js';

export const REFERENCE_RECIPE: TrainConfig = {
  numSteps: 100,
  tokensPerStep: 768,
  seqLen: 256,
  microBatchSize: 3,
  optimizer: { kind: 'sgd', lrScale: 1, momentum: 0.9, weightDecay: 1e-3 },
  warmupSteps: 0,
  loss: 'kl',
  biasOnly: false,
  maxGradNorm: 1,
  checkpointEvery: 0,
  checkpointDir: null,
};

async function goldenTranslators(file: string): Promise<Map<string, Float32Array>> {
  const f = await openSafetensors(nodeFileSystem, goldenPath('reference-lens', file));
  const out = new Map<string, Float32Array>();
  for (const n of f.names()) out.set(n, (await f.readFloat32(n)).data);
  await f.close();
  return out;
}

function compare(lens: TunedLens, golden: Map<string, Float32Array>, what: string, tol: number): void {
  lens.translators.forEach((t, i) => {
    const dw = maxAbsDiff(t.weight.data, golden.get(`${i}.weight`)!);
    const db = maxAbsDiff(t.bias!.data, golden.get(`${i}.bias`)!);
    assert.ok(dw < tol && db < tol, `${what}: translator ${i} weight diff ${dw}, bias diff ${db}`);
  });
}

test('training replay matches the reference translators after steps 1, 2, 10, 100 and its per-step losses', async () => {
  const model = await loadModel('stories260K');
  const data = readGolden<{ train_chunks_in_order: number[][] }>('reference-lens', 'data_chunks.json');
  const log = readGolden<{ steps: { step: number; lr: number; grad_norm_before_clip: number; loss_nats: number[] }[] }>('reference-lens', 'train_log.json');
  const snapshots = new Map<number, Float32Array[]>();
  const lens = TunedLens.identity(model);
  const reports: { lr: number; gradNorm: number; losses: number[] }[] = [];
  await trainLens(lens, data.train_chunks_in_order, REFERENCE_RECIPE, {
    onStep: (r) => {
      reports.push(r);
      if ([0, 1, 9].includes(r.step)) snapshots.set(r.step + 1, lens.translators.flatMap((t) => [t.weight.data.slice(), t.bias!.data.slice()]));
    },
  });
  for (const step of [1, 2, 10]) {
    const golden = await goldenTranslators(`translators_after_step_${step}.safetensors`);
    const snap = snapshots.get(step)!;
    lens.translators.forEach((_, i) => {
      const dw = maxAbsDiff(snap[2 * i]!, golden.get(`${i}.weight`)!);
      const db = maxAbsDiff(snap[2 * i + 1]!, golden.get(`${i}.bias`)!);
      assert.ok(dw < 1e-4 && db < 1e-4, `after step ${step}: translator ${i} weight diff ${dw}, bias diff ${db}`);
    });
  }
  compare(lens, await goldenTranslators('translators.safetensors'), 'final', 1e-4);
  assert.equal(reports.length, 100);
  let worstLoss = 0;
  reports.forEach((r, k) => {
    const g = log.steps[k]!;
    assert.ok(Math.abs(r.lr - g.lr) < 1e-12, `lr at step ${k}: ${r.lr} vs ${g.lr}`);
    assert.ok(Math.abs(r.gradNorm - g.grad_norm_before_clip) <= 1e-4 * g.grad_norm_before_clip, `grad norm at step ${k}: ${r.gradNorm} vs ${g.grad_norm_before_clip}`);
    r.losses.forEach((l, i) => (worstLoss = Math.max(worstLoss, Math.abs(l - g.loss_nats[i]!) / g.loss_nats[i]!)));
  });
  assert.ok(worstLoss < 1e-4, `worst relative per-step loss difference ${worstLoss}`);
});

test('training in position blocks (bounded memory) gives the same lens as one block, for KL and CE losses', async () => {
  const model = await loadModel('stories260K');
  const data = readGolden<{ train_chunks_in_order: number[][] }>('reference-lens', 'data_chunks.json');
  for (const loss of ['kl', 'ce'] as const) {
    const whole = TunedLens.identity(model);
    const split = TunedLens.identity(model);
    const cfg = { ...REFERENCE_RECIPE, numSteps: 3, loss };
    await trainLens(whole, data.train_chunks_in_order, cfg);
    // 5 layers × 3 sequences × 512 vocab × 4 bytes × 50 positions per block → 6 blocks of a 256-token sequence.
    await trainLens(split, data.train_chunks_in_order, { ...cfg, blockBytes: 5 * 3 * 512 * 4 * 50 });
    whole.translators.forEach((t, i) => {
      const dw = maxAbsDiff(split.translators[i]!.weight.data, t.weight.data);
      assert.ok(dw < 1e-6, `${loss}: translator ${i} weight differs by ${dw}`);
      assert.ok(t.weight.data.some((x) => x !== 0), `${loss}: translator ${i} was trained`);
    });
  }
});
