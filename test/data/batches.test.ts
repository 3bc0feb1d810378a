import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkOrder, gradAccumulationSteps, microBatches, Mt19937, planTraining, randperm } from '../../src/data/batches.js';

test('MT19937 matches the reference generator', () => {
  // The standard check value: the 10000th output for seed 5489 is 4123659995 (C++ std::mt19937).
  const g = new Mt19937(5489);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = g.nextUint32();
  assert.equal(v, 4123659995);
  // The first outputs for seed 5489, from the reference mt19937ar.c.
  const h = new Mt19937(5489);
  assert.deepEqual([h.nextUint32(), h.nextUint32(), h.nextUint32()], [3499211612, 581869302, 3890346734]);
});

test('randperm: a permutation, deterministic by seed', () => {
  const a = randperm(1000, 7);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(randperm(1000, 7), a);
  assert.notDeepEqual(randperm(1000, 8), a);
  assert.deepEqual(randperm(0, 1), []);
  assert.deepEqual(randperm(1, 1), [0]);
  // The check against real torch.randperm output (301 chunks, seed 42) is in golden-chunks.test.ts.
  assert.deepEqual(chunkOrder(5, { shuffle: false }), [0, 1, 2, 3, 4]);
  assert.deepEqual(chunkOrder(50, { seed: 3 }), randperm(50, 3));
  assert.deepEqual(chunkOrder(50), randperm(50, 42)); // default seed 42, like the reference
  assert.throws(() => randperm(3, -1), /seed must be a non-negative integer/);
});

test('micro-batches: sizes, limit, dropLast, shuffled order by seed', () => {
  const chunks = Array.from({ length: 5 }, (_, i) => [i, i]);
  const plain = [...microBatches(chunks, { batchSize: 2, shuffle: false })];
  assert.deepEqual(plain, [[[0, 0], [1, 1]], [[2, 2], [3, 3]], [[4, 4]]]);
  assert.equal([...microBatches(chunks, { batchSize: 2, shuffle: false, dropLast: true })].length, 2);
  assert.equal([...microBatches(chunks, { batchSize: 1, limit: 3 })].length, 3);
  const order = randperm(5, 11);
  const shuffled = [...microBatches(chunks, { batchSize: 1, seed: 11 })].map((b) => b[0]![0]);
  assert.deepEqual(shuffled, order);
  assert.deepEqual([...microBatches(chunks, { batchSize: 1, seed: 11 })], [...microBatches(chunks, { batchSize: 1, seed: 11 })]);
  assert.throws(() => [...microBatches(chunks, { batchSize: 0 })], /batchSize must be a positive integer/);
});

test('gradient accumulation like the reference', () => {
  assert.deepEqual(gradAccumulationSteps(768, 256, 1), { steps: 3, sequencesPerStep: 3, tokensPerStep: 768, warning: null });
  assert.deepEqual(gradAccumulationSteps(2 ** 18, 2048, 4).steps, 32);
  // 4 sequences per step in micro-batches of 3: rounded up to 2 micro-batches (6 sequences), with a warning.
  const r = gradAccumulationSteps(1024, 256, 3);
  assert.equal(r.steps, 2);
  assert.equal(r.tokensPerStep, 1536);
  assert.match(r.warning!, /from 1 to 2 .*1536 tokens per training step \(1024 requested\)/);
  assert.throws(() => gradAccumulationSteps(1000, 256, 1), /tokens per step \(1000\) must be divisible by the number of tokens per sample \(256\)/);
});

test('too few chunks for the requested steps', () => {
  assert.throws(
    () => planTraining({ numChunks: 10, seqLen: 256, tokensPerStep: 768, numSteps: 5 }),
    /^Error: Can only take 3 steps on dataset with --tokens-per-step=768\. Requested 5 steps\. \(10 chunks of 256 tokens; each step uses 3 sequences, so 5 steps need 15\.\)$/,
  );
  const p = planTraining({ numChunks: 15, seqLen: 256, tokensPerStep: 768, numSteps: 5 });
  assert.equal(p.totalMicroBatches, 15);
  assert.equal(p.chunksUsed, 15);
  const q = planTraining({ numChunks: 100, seqLen: 4, tokensPerStep: 16, numSteps: 10, batchSize: 2 });
  assert.deepEqual([q.steps, q.totalMicroBatches, q.chunksUsed], [2, 20, 40]);
});
