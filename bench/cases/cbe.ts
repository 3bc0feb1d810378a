/**
 * Causal basis extraction (`npm run bench -- cbe-stories cbe-gpt2`), each case with the matmul ceiling
 * measured in the same process (`unembeddingCeilingGflops`), so the fraction of the ceiling is of one run:
 *
 * - cbe-stories: stories260K, all 5 layers, logit lens, k = 16 and k = 48, sequential (the reference's
 *   algorithm) vs the subspace option; "energy captured" = lens influence with the whole k-subspace
 *   ablated (mean over layers), for both.
 * - cbe-gpt2: GPT-2-small shapes (d 768, vocabulary 50257, random weights), layer 6, k = BENCH_CBE_GPT2_K
 *   (default 4 < d) directions, sequential vs subspace with the same per-call evaluation budget
 *   (BENCH_CBE_GPT2_ITER, default 8): seconds per direction and energy captured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { sharedDir } from '../../test/helpers/shared-data.js';
import { extractCausalBasis } from '../../src/causal/cbe.js';
import { collectHidden } from '../../src/causal/sequences.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { peakRssMb, unembeddingCeilingGflops, type CaseResult } from './common.js';

/** Tokens used on stories260K: the first BENCH_CBE_TOKENS (default 512) of the golden eval chunks. */
const STORIES_TOKENS = Number(process.env.BENCH_CBE_TOKENS ?? 512);
const GPT2_TOKENS = Number(process.env.BENCH_CBE_GPT2_TOKENS ?? 128);
const GPT2_K = Number(process.env.BENCH_CBE_GPT2_K ?? 4);
const GPT2_ITER = Number(process.env.BENCH_CBE_GPT2_ITER ?? 8);

/** The ceiling of this process, and this case's GFLOP/s as a fraction of it. */
async function withCeiling(out: CaseResult, flops: number, seconds: number): Promise<CaseResult> {
  out.gflops = flops / seconds / 1e9;
  out.ceilingGflops = await unembeddingCeilingGflops();
  out.fractionOfCeiling = out.gflops / out.ceilingGflops;
  out.peakRssMb = peakRssMb();
  return out;
}

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
  return withCeiling(out, flops, seconds);
}

export async function gpt2CbeDirection(): Promise<CaseResult> {
  const model = await loadModel(await makeGpt2Small());
  const lens = new LogitLens(model);
  const seqs = [Array.from({ length: GPT2_TOKENS }, (_, i) => (i * 7919) % 50257)];
  const hidden = await collectHidden(model, seqs, 6);
  const out: CaseResult = { name: `CBE GPT-2-small shapes (layer 6, ${GPT2_TOKENS} tokens, k = ${GPT2_K}, ≤ ${GPT2_ITER} evaluations per L-BFGS call)` };
  let flops = 0;
  let seconds = 0;
  for (const subspace of [false, true]) {
    const b = await extractCausalBasis(lens, 6, hidden, { k: GPT2_K, subspace, maxIter: GPT2_ITER });
    const key = subspace ? 'subspace' : 'sequential';
    out[`${key}Seconds`] = b.seconds;
    out[`${key}SecondsPerDirection`] = b.seconds / GPT2_K;
    out[`${key}Evaluations`] = b.evaluations;
    out[`${key}SecondsPerEvaluation`] = b.seconds / b.evaluations;
    out[`${key}EnergyCaptured`] = b.subspaceEnergy;
    out[`${key}TopEnergy`] = b.energies[0]!;
    flops += b.flops;
    seconds += b.seconds;
  }
  return withCeiling(out, flops, seconds);
}
