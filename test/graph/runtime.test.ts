/** Runtime behaviour: provider fallback, session reference counting, length buckets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import { Graph, type Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { Runtime, type HostArray, type OrtModule } from '../../src/graph/runtime.js';
import { bucketLength, padAxis, trimAxis } from '../../src/graph/length-buckets.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModel } from '../../src/node/load-model.js';

test('a GPU provider that cannot be loaded falls back to the CPU with a warning', async () => {
  const tried: string[][] = [];
  const fakeOrt: OrtModule = {
    Tensor: ort.Tensor as unknown as OrtModule['Tensor'],
    InferenceSession: {
      create: (model, options) => {
        const eps = (options?.executionProviders ?? []) as string[];
        tried.push(eps);
        if (eps.includes('cuda')) return Promise.reject(new Error('Failed to load shared library'));
        return ort.InferenceSession.create(model, options);
      },
    },
  };
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const rt = new Runtime(fakeOrt, { executionProviders: ['cuda', 'cpu'] });
    const g = new Graph();
    const y = op.mul(g.input('x', 'float32', [2]), 3);
    const r = await rt.run({ y }, { x: new Float32Array([1, 2]) });
    assert.deepEqual(Array.from(r.y!.data as Float32Array), [3, 6]);
    assert.deepEqual(tried, [['cuda', 'cpu'], ['cpu']]);
    assert.match(warnings[0]!, /execution provider cuda, cpu failed .* using the CPU/);
  } finally {
    console.warn = warn;
  }
});

/** An onnxruntime stand-in whose runs finish when the test says so, recording releases. */
function controlledOrt(): { ort: OrtModule; finishRuns: () => void; released: number[]; created: () => number } {
  let pending: (() => void)[] = [];
  const released: number[] = [];
  let created = 0;
  const fake: OrtModule = {
    Tensor: ort.Tensor as unknown as OrtModule['Tensor'],
    InferenceSession: {
      create: async () => {
        const id = created++;
        return {
          // Like onnxruntime-node, the run hands back a new array for every output fetched.
          run: (feeds: Record<string, { data: Float32Array }>, fetches: Record<string, unknown>) =>
            new Promise((resolve) => pending.push(() => resolve(Object.fromEntries(Object.keys(fetches).map((k) => [k, { data: new Float32Array(feeds.x!.data.length) }]))))),
          release: async () => void released.push(id),
        } as unknown as InferenceSession;
      },
    },
  };
  return {
    ort: fake,
    finishRuns: () => {
      const p = pending;
      pending = [];
      p.forEach((f) => f());
    },
    released,
    created: () => created,
  };
}

const doubled = (n: number): Record<string, Value> => {
  const g = new Graph();
  return { y: op.mul(g.input('x', 'float32', [n]), 2) };
};
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

test('LRU eviction while a run is in flight releases the session only after the run', async () => {
  const c = controlledOrt();
  const rt = new Runtime(c.ort, { maxCachedSessions: 1 });
  const first = await rt.compile(doubled(2));
  const run = first.run({ x: new Float32Array(2) });
  await tick();
  assert.equal(first.runsInFlight, 1);
  await rt.compile(doubled(3)); // evicts the first graph
  await tick();
  assert.equal(rt.cachedSessions, 1);
  assert.deepEqual(c.released, [], 'not released under a running run');
  c.finishRuns();
  await run;
  await tick();
  assert.deepEqual(c.released, [0], 'released once the run finished');
  assert.equal(first.isOpen, false);
});

test('a compiled graph evicted while a caller holds it compiles again on its next run', async () => {
  const c = controlledOrt();
  const rt = new Runtime(c.ort, { maxCachedSessions: 1 });
  const first = await rt.compile(doubled(2));
  await rt.compile(doubled(3));
  await tick();
  assert.deepEqual(c.released, [0]);
  const run = first.run({ x: new Float32Array(2) });
  await tick();
  assert.equal(c.created(), 3, 'the held graph got a new session');
  c.finishRuns();
  await run;
  await tick();
  // It is back in the cache, and the other graph made room for it.
  assert.deepEqual(c.released, [0, 1]);
  assert.equal(await rt.compile(doubled(2)), first);
});

test('length buckets: 8, 12, 16, 24, 32, 48, 64, … capped by the model limit', () => {
  assert.deepEqual([1, 5, 7, 8, 9, 13, 17, 25, 33, 49, 65, 100].map((t) => bucketLength(t)), [8, 8, 8, 8, 12, 16, 24, 32, 48, 64, 96, 128]);
  assert.equal(bucketLength(100, 110), 110);
  assert.equal(bucketLength(120, 110), 120);
  const a = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  const padded = padAxis(a, 1, 5, -1);
  assert.deepEqual(Array.from(padded.data as Float32Array), [1, 2, 3, -1, -1, 4, 5, 6, -1, -1]);
  assert.deepEqual(trimAxis(padded, 1, 3), a);
  assert.deepEqual(Array.from(padAxis({ data: BigInt64Array.from([7n]), shape: [1, 1] }, 1, 3, 0).data as BigInt64Array), [7n, 0n, 0n]);
});

test('bucketing: prompts of 5 and 7 tokens share one session and give the unpadded logits', async () => {
  const model = await loadModel('stories260K', { runtime: createRuntime({ intraOpNumThreads: 1 }) });
  const V = model.config.vocabSize;
  const logits = async (ids: number[]): Promise<HostArray> => {
    const mg = model.buildGraph({ ids: [ids] });
    return (await model.run(mg, { logits: mg.forward.logits })).logits!;
  };
  const before = model.runtime.cachedSessions;
  for (const T of [5, 7]) {
    const ids = model.encode('Once upon a time there was').slice(0, T);
    assert.equal(ids.length, T);
    const Tb = bucketLength(T);
    const padded = padAxis({ data: Float32Array.from(ids), shape: [1, T] }, 1, Tb, 0);
    const bucketed = trimAxis(await logits(Array.from(padded.data as Float32Array)), 1, T);
    assert.deepEqual(bucketed.shape, [1, T, V]);
    const exact = await logits(ids);
    const d = Math.max(...Array.from(bucketed.data as Float32Array, (x, i) => Math.abs(x - (exact.data as Float32Array)[i]!)));
    assert.ok(d < 1e-5, `T = ${T}: bucketed logits differ by ${d}`);
  }
  // One session for the bucket of 8, one per exact length.
  assert.equal(model.runtime.cachedSessions - before, 3);
});

test('onnxruntime errors are wrapped with the graph they came from and kept as the cause', async () => {
  const boom = new Error('Non-zero status code returned while running Gather node');
  const fake: OrtModule = {
    Tensor: ort.Tensor as unknown as OrtModule['Tensor'],
    InferenceSession: { create: async () => ({ run: () => Promise.reject(boom), release: async () => undefined }) as unknown as InferenceSession },
  };
  const rt = new Runtime(fake);
  const err = await rt.run(doubled(2), { x: new Float32Array(2) }).then(
    () => assert.fail('the run should fail'),
    (e: Error) => e,
  );
  assert.match(err.message, /failed running the graph computing y: Non-zero status code/);
  assert.equal(err.cause, boom);
  const failing = new Runtime({ ...fake, InferenceSession: { create: () => Promise.reject(boom) } });
  await assert.rejects(failing.compile(doubled(2)), (e: Error) => /could not compile the graph computing y \(1 nodes\)/.test(e.message) && e.cause === boom);
});

test('a run ignores feeds its graph does not take, so callers need not filter them', async () => {
  const rt = createRuntime({ intraOpNumThreads: 1 });
  const r = await rt.run(doubled(2), { x: new Float32Array([1, 2]), unused: new Float32Array(5) });
  assert.deepEqual(Array.from(r.y!.data as Float32Array), [2, 4]);
});
