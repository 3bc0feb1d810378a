/**
 * Trajectories run padded at the end to a length bucket (graph/length-buckets.ts) and trimmed: the real
 * positions equal the unpadded run, and prompts of nearby lengths share the compiled sessions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketLength } from '../../src/graph/length-buckets.js';
import { LogitLens } from '../../src/lens/lens.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { computeTrajectory, type TrajectoryData } from '../../src/trajectory/compute.js';
import { goldenPath, maxAbsDiff } from '../helpers/golden.js';

const finite = (a: Float32Array): number[] => Array.from(a).map((x) => (Number.isNaN(x) ? -1 : x));

function assertSameTrajectory(padded: TrajectoryData, exact: TrajectoryData): void {
  assert.equal(padded.positions, exact.positions);
  for (const key of ['entropy', 'maxProb', 'forwardKl', 'topProbs'] as const) {
    assert.equal(padded[key].length, exact[key].length, key);
    const dd = maxAbsDiff(padded[key], exact[key]);
    assert.ok(dd < 1e-5, `${key} ${dd}`);
  }
  assert.deepEqual(Array.from(padded.topIds), Array.from(exact.topIds));
  assert.ok(maxAbsDiff(finite(padded.crossEntropy), finite(exact.crossEntropy)) < 1e-4);
  assert.deepEqual(finite(padded.rank), finite(exact.rank));
  assert.ok(maxAbsDiff(finite(padded.logProbDiff!), finite(exact.logProbDiff!)) < 1e-4);
  assert.ok(maxAbsDiff(padded.comparison!.kl, exact.comparison!.kl) < 1e-5);
}

test('a trajectory padded to its length bucket equals the unpadded one on the real positions', async () => {
  const model = await loadModel('stories260K', { runtime: createRuntime() });
  const tuned = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const ids = model.encode('One day, Tom went to the park with his mom. He saw');
  assert.ok(bucketLength(ids.length) > ids.length, 'the prompt must need padding for this test');
  const opts = { compareWith: new LogitLens(model), maskInput: true, antiTargets: [ids.map(() => 410)] };
  const exact = await computeTrajectory(tuned, { ids: [ids] }, { ...opts, lengthBucket: false });
  const padded = await computeTrajectory(tuned, { ids: [ids] }, opts);
  assertSameTrajectory(padded, exact);
});

test('prompts of nearby lengths share compiled sessions', async () => {
  const runtime = createRuntime();
  const model = await loadModel('stories260K', { runtime });
  const lens = new LogitLens(model);
  const ids = model.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.').slice(0, 22);
  const T = ids.length;
  const shorter = ids.slice(0, T - 1);
  assert.equal(bucketLength(shorter.length), bucketLength(T));
  await computeTrajectory(lens, { ids: [ids] });
  const sessions = runtime.cachedSessions;
  const r = await computeTrajectory(lens, { ids: [shorter] });
  assert.equal(runtime.cachedSessions, sessions, 'a prompt in the same bucket compiled a new session');
  assert.equal(r.positions, T - 1);
  // The exact-length run compiles its own graphs (the baseline this saves).
  await computeTrajectory(lens, { ids: [shorter] }, { lengthBucket: false });
  assert.ok(runtime.cachedSessions > sessions);
});
