/** Evaluation throughput (logit + tuned lens, all layers) for stories260K and GPT-2-small shapes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateLenses } from '../../src/eval/evaluate.js';
import { LogitLens, TunedLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { sharedDir } from '../../test/helpers/shared-data.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
import { peakRssMb, type CaseResult } from './common.js';

async function evalThroughput(spec: string, chunks: number[][]): Promise<number> {
  const model = await loadModel(spec);
  const lenses = [{ name: 'logit', lens: new LogitLens(model) }, { name: 'tuned', lens: TunedLens.identity(model) }];
  await evaluateLenses(model, chunks.slice(0, 1), { lenses });
  const t0 = performance.now();
  const r = await evaluateLenses(model, chunks, { lenses });
  return r.tokens / ((performance.now() - t0) / 1000);
}

export async function stories260kEval(): Promise<CaseResult> {
  const data = JSON.parse(readFileSync(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json'), 'utf8')) as { eval_chunks: number[][] };
  return { name: 'stories260K eval (logit + tuned, 90 × 256 tokens)', tokensPerSecond: await evalThroughput('stories260K', data.eval_chunks), peakRssMb: peakRssMb() };
}

export async function gpt2Eval(): Promise<CaseResult> {
  const dir = await makeGpt2Small();
  const chunks = Array.from({ length: 2 }, (_, k) => Array.from({ length: 1024 }, (_, i) => (i * 7919 + k * 31) % 50257));
  return { name: 'gpt2-small eval (logit + tuned, 2 × 1024 tokens)', tokensPerSecond: await evalThroughput(dir, chunks), peakRssMb: peakRssMb() };
}
