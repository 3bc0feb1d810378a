// Reproduces shared/golden/reference-lens/data_chunks.json from the TinyStories sample and the stories260K tokenizer,
// following the recipe in that folder's README (story split, documents 0–144 train / 145–178 eval, BOS separator,
// 256-token chunks, last chunk dropped, randperm(301, seed 42) order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';
import { loadLlama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';
import { readDataset } from '../../src/data/documents.js';
import { chunkAndTokenize, defaultBoundary } from '../../src/data/chunking.js';
import { microBatches, planTraining, randperm } from '../../src/data/batches.js';
import { readGolden } from '../helpers/golden.js';

interface DataChunks {
  grad_acc_steps: number;
  train_shuffle_permutation: number[];
  train_chunks_in_order: number[][];
  eval_chunks: number[][];
}
interface EvalInfo {
  train: { n_docs: number; total_tokens_before_drop: number; total_bytes: number; n_chunks_available: number; nats_to_bpb: number; seed: number; num_steps: number; tokens_per_step: number; seq_len: number };
  eval: { n_docs: number; total_tokens_before_drop: number; total_bytes: number; n_chunks: number; nats_to_bpb: number };
}

const golden = readGolden<DataChunks>('reference-lens', 'data_chunks.json');
const info = readGolden<EvalInfo>('reference-lens', 'eval_info.json');
const tokP = loadLlama2cTokenizer(fs, join(sharedDir(), 'models', 'stories260K', 'tok512.bin'));
const docsP = readDataset(fs, join(sharedDir(), 'corpora', 'tinystories_sample.txt')).then((d) => {
  assert.equal(d.kind, 'text');
  return d.kind === 'text' ? d.documents : [];
});
const SEQ = 256;

test('the TinyStories sample splits into the 179 golden documents', async () => {
  const docs = await docsP;
  assert.equal(docs.length, 179);
  assert.equal(info.train.n_docs + info.eval.n_docs, 179);
  const tok = await tokP;
  // "100,173 tokens including one BOS each"
  assert.equal(docs.reduce((n, d) => n + tok.encode(d).length, 0), 100_173);
});

test('llama2.c default boundary is BOS counted as "<s>"', async () => {
  assert.deepEqual(defaultBoundary(await tokP), { kind: 'token', id: 1, countAs: '<s>' });
});

test('train chunks, counts, nats_to_bpb and shuffled order match data_chunks.json', async () => {
  const [docs, tok] = await Promise.all([docsP, tokP]);
  const train = chunkAndTokenize(docs.slice(0, 145), tok, { chunkSize: SEQ });
  assert.equal(train.totalTokens, info.train.total_tokens_before_drop);
  assert.equal(train.totalBytes, info.train.total_bytes);
  assert.equal(train.chunks.length, info.train.n_chunks_available);
  assert.equal(train.natsToBpb, info.train.nats_to_bpb); // same formula, same doubles: exact
  assert.ok(train.chunks.every((c) => c.length === SEQ));

  const perm = randperm(train.chunks.length, info.train.seed);
  assert.deepEqual(perm.slice(0, golden.train_shuffle_permutation.length), golden.train_shuffle_permutation);

  const plan = planTraining({ numChunks: train.chunks.length, seqLen: SEQ, tokensPerStep: info.train.tokens_per_step, numSteps: info.train.num_steps });
  assert.equal(plan.steps, golden.grad_acc_steps);
  assert.equal(plan.warning, null);
  assert.equal(plan.totalMicroBatches, 300);

  const used = [...microBatches(train.chunks, { batchSize: 1, seed: info.train.seed, limit: plan.totalMicroBatches })];
  assert.equal(used.length, golden.train_chunks_in_order.length);
  used.forEach((mb, k) => assert.deepEqual(mb, [golden.train_chunks_in_order[k]], `micro-batch ${k}`));
});

test('eval chunks, counts and nats_to_bpb match data_chunks.json', async () => {
  const [docs, tok] = await Promise.all([docsP, tokP]);
  const ev = chunkAndTokenize(docs.slice(145), tok, { chunkSize: SEQ });
  assert.equal(ev.totalTokens, info.eval.total_tokens_before_drop);
  assert.equal(ev.totalBytes, info.eval.total_bytes);
  assert.equal(ev.chunks.length, info.eval.n_chunks);
  assert.equal(ev.natsToBpb, info.eval.nats_to_bpb);
  assert.deepEqual(ev.chunks, golden.eval_chunks);
});
