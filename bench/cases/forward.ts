/** Forward pass of the GPT-2-small-shaped random checkpoint at sequence length 1024, batch 1. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { forwardFlops, peakRssMb, timeIt, unembeddingCeilingGflops, type CaseResult } from './common.js';

export async function gpt2Forward(T = 1024): Promise<CaseResult> {
  const dir = await makeGpt2Small();
  const checkpointMb = statSync(join(dir, 'model.safetensors')).size / 2 ** 20;
  const model = await loadModel(dir);
  const ids = [Array.from({ length: T }, (_, i) => (i * 7919 + 13) % model.config.vocabSize)];
  // model.forward: logits (over vocabulary slices), every hidden state, the final residual; a new result each run.
  const s = await timeIt(() => model.forward({ ids }), 3, 1);
  const flops = forwardFlops(model.config, T);
  const rss = peakRssMb(); // before the reuse runs (which hold two results) and the ceiling's own output
  // Repeated forwards that write into the previous result (`into`): no fresh [T, vocab] array per run.
  let previous = await model.forward({ ids });
  const reused = await timeIt(async () => (previous = await model.forward({ ids }, { into: previous })), 3, 1);
  const reusedRss = peakRssMb(); // the process's peak so far: `into` keeps the trunk's arena resident
  const ceiling = await unembeddingCeilingGflops();
  return {
    name: 'gpt2-small forward T=1024',
    seconds: s,
    tokensPerSecond: T / s,
    gflops: flops / s / 1e9,
    ceilingGflops: ceiling,
    fractionOfSameProcessCeiling: flops / s / 1e9 / ceiling,
    reusedSeconds: reused,
    reusedTokensPerSecond: T / reused,
    reusedGflops: flops / reused / 1e9,
    reusedFractionOfSameProcessCeiling: flops / reused / 1e9 / ceiling,
    peakRssMb: rss,
    reusedPeakRssMb: reusedRss,
    checkpointMb,
  };
}
