/** Runtime behaviour that does not depend on onnxruntime's numerics: provider fallback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { Runtime, type OrtModule } from '../../src/graph/runtime.js';

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
