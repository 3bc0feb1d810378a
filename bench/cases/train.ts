/** Lens training throughput: stories260K with the reference recipe, and GPT-2-small shapes at T=1024. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TunedLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { trainLens, type TrainConfig } from '../../src/train/trainer.js';
import { sharedDir } from '../../test/helpers/shared-data.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { forwardFlops, peakRssMb, unembeddingCeilingGflops, type CaseResult } from './common.js';

const recipe = (over: Partial<TrainConfig>): TrainConfig => ({
  numSteps: 100, tokensPerStep: 768, seqLen: 256, microBatchSize: 3,
  optimizer: { kind: 'sgd', lrScale: 1, momentum: 0.9, weightDecay: 1e-3 },
  warmupSteps: 0, loss: 'kl', biasOnly: false, maxGradNorm: 1, checkpointEvery: 0, checkpointDir: null, ...over,
});

export async function stories260kTraining(): Promise<CaseResult> {
  const model = await loadModel('stories260K');
  const data = JSON.parse(readFileSync(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json'), 'utf8')) as { train_chunks_in_order: number[][] };
  const lens = TunedLens.identity(model);
  // Warm-up run (compiles the graph), then the measured 100-step run from a fresh lens.
  await trainLens(TunedLens.identity(model), data.train_chunks_in_order, recipe({ numSteps: 2 }));
  const t0 = performance.now();
  await trainLens(lens, data.train_chunks_in_order, recipe({}));
  const s = (performance.now() - t0) / 1000;
  return { name: 'stories260K lens training (seq 256, 768 tok/step, 100 steps)', seconds: s, tokensPerSecond: 76800 / s, referenceTokensPerSecond: '4700-7400', peakRssMb: peakRssMb() };
}

export async function gpt2Training(steps = 2): Promise<CaseResult> {
  const dir = await makeGpt2Small();
  const model = await loadModel(dir);
  const T = 1024;
  const chunks = Array.from({ length: steps + 1 }, (_, k) => Array.from({ length: T }, (_, i) => (i * 7919 + k * 104729) % model.config.vocabSize));
  await trainLens(TunedLens.identity(model), chunks, recipe({ numSteps: 1, tokensPerStep: T, seqLen: T, microBatchSize: 1 }));
  const lens = TunedLens.identity(model);
  const t0 = performance.now();
  await trainLens(lens, chunks.slice(1), recipe({ numSteps: steps, tokensPerStep: T, seqLen: T, microBatchSize: 1 }));
  const s = (performance.now() - t0) / 1000;
  const { dModel: d, vocabSize: V, nLayers: L } = model.config;
  // Per layer: translator forward + its weight gradient (its input is frozen: no input gradient), the
  // frozen unembedding's forward + input gradient (no weight gradient). The final row's logits are the
  // forward's head.
  const lensFlops = L * (2 * 2 * T * d * d + 2 * 2 * T * d * V);
  const flops = steps * (forwardFlops(model.config, T) + lensFlops);
  const rss = peakRssMb(); // before the ceiling's own 2048 × 50257 product
  const ceiling = await unembeddingCeilingGflops();
  return { name: 'gpt2-small lens training (seq 1024)', seconds: s, tokensPerSecond: (steps * T) / s, gflops: flops / s / 1e9, ceilingGflops: ceiling, fractionOfSameProcessCeiling: flops / s / 1e9 / ceiling, peakRssMb: rss, checkpointMb: statSync(join(dir, 'model.safetensors')).size / 2 ** 20 };
}
