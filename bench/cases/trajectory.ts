/** A complete trajectory (all statistics, top-10 per cell) for a 1024-token prompt vs one forward pass. */
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { computeTrajectory } from '../../src/trajectory/compute.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { forwardFlops, peakRssMb, streamingBandwidthGBs, timeIt, unembeddingCeilingGflops, type CaseResult } from './common.js';

export async function gpt2Trajectory(T = 1024): Promise<CaseResult> {
  const model = await loadModel(await makeGpt2Small());
  const ids = [Array.from({ length: T }, (_, i) => (i * 7919 + 13) % model.config.vocabSize)];
  const run = await model.compileForShape({ ids }, (mg) => ({ logits: mg.forward.logits }));
  const forward = await timeIt(() => run({ ids }), 2, 1);
  const lens = new LogitLens(model);
  const trajectory = await timeIt(() => computeTrajectory(lens, { ids }, { topK: 10 }), 2, 1);
  const rss = peakRssMb(); // before the ceiling's own 2048 × 50257 output
  // The floor: its matmuls (the trunk, and one full-vocabulary unembedding per row: R = L + 1) at the
  // ceiling measured here, plus one streaming pass over the [R, T, vocab] logits at the measured bandwidth.
  const { dModel: d, vocabSize: V, nLayers: L } = model.config;
  const head = 2 * d * V * T;
  const matmulFlops = forwardFlops(model.config, T) - head + (L + 1) * head;
  const ceiling = await unembeddingCeilingGflops();
  const bandwidth = streamingBandwidthGBs();
  const floorSeconds = matmulFlops / (ceiling * 1e9) + ((L + 1) * T * V * 4) / (bandwidth * 1e9);
  return {
    name: 'gpt2-small trajectory T=1024 (logit lens, all stats, top-10)', seconds: trajectory, forwardSeconds: forward, ratioToForward: trajectory / forward,
    matmulGflop: matmulFlops / 1e9, ceilingGflops: ceiling, bandwidthGBs: bandwidth, floorSeconds, floorOverSeconds: floorSeconds / trajectory, peakRssMb: rss,
  };
}
