/**
 * Causal basis extraction: stories260K (all 5 layers, logit lens, k = 16 and k = 48, sequential as the
 * reference vs the subspace option; "energy captured" = lens influence with the whole k-subspace
 * ablated) and one direction on GPT-2-small shapes (d 768, vocabulary 50257).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { sharedDir } from '../../test/helpers/shared-data.js';
import { extractCausalBasis } from '../../src/causal/cbe.js';
import { LensInfluence } from '../../src/causal/lens-influence.js';
import { Lbfgs } from '../../src/causal/lbfgs.js';
import { collectHidden } from '../../src/causal/sequences.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { peakRssMb, type CaseResult } from './common.js';

/** Tokens used on stories260K: the first BENCH_CBE_TOKENS (default 512) of the golden eval chunks. */
const STORIES_TOKENS = Number(process.env.BENCH_CBE_TOKENS ?? 512);

export async function stories260kCbe(): Promise<CaseResult> {
  const model = await loadModel('stories260K');
  const lens = new LogitLens(model);
  const chunks = (JSON.parse(readFileSync(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json'), 'utf8')) as { eval_chunks: number[][] }).eval_chunks;
  const seqs = chunks.slice(0, Math.ceil(STORIES_TOKENS / 256)).map((c, i, a) => (i === a.length - 1 ? c.slice(0, STORIES_TOKENS - 256 * i) : c));
  const out: CaseResult = { name: `CBE stories260K (logit lens, 5 layers, ${STORIES_TOKENS} tokens)` };
  let flops = 0;
  let seconds = 0;
  for (const k of [16, 48]) {
    for (const subspace of [false, true]) {
      let t = 0;
      let captured = 0;
      let evals = 0;
      for (let layer = 0; layer < model.nLayers; layer++) {
        const hidden = await collectHidden(model, seqs, layer);
        const b = await extractCausalBasis(lens, layer, hidden, { k, subspace });
        t += b.seconds;
        captured += b.subspaceEnergy;
        evals += b.evaluations;
        flops += b.flops;
      }
      seconds += t;
      const key = `k${k}${subspace ? 'Subspace' : 'Sequential'}`;
      out[`${key}Seconds`] = t;
      out[`${key}EnergyCaptured`] = captured / model.nLayers;
      out[`${key}Evaluations`] = evals;
    }
  }
  out.gflops = flops / seconds / 1e9;
  out.peakRssMb = peakRssMb();
  return out;
}

export async function gpt2CbeDirection(): Promise<CaseResult> {
  const model = await loadModel(await makeGpt2Small());
  const lens = new LogitLens(model);
  const T = 256;
  const seqs = [Array.from({ length: T }, (_, i) => (i * 7919) % 50257)];
  const hidden = await collectHidden(model, seqs, 6);
  const inf = new LensInfluence(lens, 6, hidden, { mode: 'mean' });
  const v = new Float32Array(768);
  v[0] = 1;
  await inf.evaluate(v, 1); // compile
  inf.evaluations = 0;
  inf.flops = 0;
  // One direction: L-BFGS on the first coordinate direction, capped at 10 evaluations.
  const x = Float64Array.from(v);
  const opt = new Lbfgs({ maxIter: 10, maxEval: 10 });
  const t0 = performance.now();
  await opt.step(x, async (p) => {
    const n = Math.hypot(...p);
    const { value, grad } = await inf.evaluate(Float32Array.from(p, (q) => q / n), 1);
    return { loss: -value, grad: grad.map((g) => -g / n) };
  });
  const seconds = (performance.now() - t0) / 1000;
  return { name: `CBE one direction, GPT-2-small shapes (${T} tokens, ≤ 10 evaluations)`, seconds, evaluations: inf.evaluations, secondsPerEvaluation: seconds / inf.evaluations, gflops: inf.flops / seconds / 1e9, peakRssMb: peakRssMb() };
}
