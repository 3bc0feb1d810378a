/** A complete trajectory (all statistics, top-10 per cell) for a 1024-token prompt vs one forward pass. */
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { computeTrajectory } from '../../src/trajectory/compute.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { peakRssMb, timeIt, type CaseResult } from './common.js';

export async function gpt2Trajectory(T = 1024): Promise<CaseResult> {
  const model = await loadModel(await makeGpt2Small());
  const ids = [Array.from({ length: T }, (_, i) => (i * 7919 + 13) % model.config.vocabSize)];
  const run = await model.compileForShape({ ids }, (mg) => ({ logits: mg.forward.logits }));
  const forward = await timeIt(() => run({ ids }), 2, 1);
  const lens = new LogitLens(model);
  const trajectory = await timeIt(() => computeTrajectory(lens, { ids }, { topK: 10 }), 2, 1);
  return { name: 'gpt2-small trajectory T=1024 (logit lens, all stats, top-10)', seconds: trajectory, forwardSeconds: forward, ratioToForward: trajectory / forward, peakRssMb: peakRssMb() };
}
