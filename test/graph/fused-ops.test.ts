/**
 * Fused ops: the kernel each one lowers to computes its decomposition (float32), and gradients flow
 * through fused attention in whole models, equal to those of the graph built from primitives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { gradients } from '../../src/graph/autodiff.js';
import { lowerToOnnx } from '../../src/graph/onnx-lowering.js';
import { encodeOnnxModel } from '../../src/graph/onnx-proto.js';
import type { OpTable } from '../../src/graph/op-definition.js';
import { OPS } from '../../src/graph/op-set.js';
import { createRuntime } from '../../src/node/runtime.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { loadModel } from '../../src/node/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { goldenPath } from '../helpers/golden.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Runs `y` lowered with or without fused kernels; inputs get seeded random float32 values. */
async function evaluate(y: Value, fusedKernels: boolean): Promise<{ values: Float32Array; opTypes: string[] }> {
  const model = lowerToOnnx({ y }, { fusedKernels });
  const session = await ort.InferenceSession.create(encodeOnnxModel(model), { intraOpNumThreads: 1 });
  const r = rng(7);
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of model.inputs) feeds[i.name] = new ort.Tensor('float32', Float32Array.from({ length: i.dims.reduce((a, b) => a * b, 1) }, () => 3 * r()), [...i.dims]);
  const out = await session.run(feeds);
  await session.release();
  return { values: out.y!.data as Float32Array, opTypes: model.nodes.map((n) => n.opType) };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let scale = 1e-3;
  for (const x of b) scale = Math.max(scale, Math.abs(x));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / scale;
}

function causalAlibi(g: Graph, H: number, T: number): Value {
  const values: number[] = [];
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) values.push((j > i ? -1e9 : 0) - 0.5 ** (h + 1) * (i - j));
  return op.constant(g, values, [1, H, T, T]);
}

const kernels: Record<string, { kernel: string | null; build: (g: Graph) => Value }> = {
  softmax: { kernel: 'Softmax', build: (g) => op.softmax(g.input('x', 'float32', [3, 7])) },
  log_softmax: { kernel: 'LogSoftmax', build: (g) => op.logSoftmax(g.input('x', 'float32', [3, 7]), 0) },
  gemm: { kernel: 'Gemm', build: (g) => op.gemm(g.input('a', 'float32', [5, 3]), g.input('b', 'float32', [4, 5]), g.input('c', 'float32', [4]), { transA: true, transB: true, alpha: 0.5 }) },
  layer_norm: { kernel: 'LayerNormalization', build: (g) => op.layerNorm(g.input('x', 'float32', [2, 3, 8]), g.input('w', 'float32', [8]), g.input('b', 'float32', [8]), 1e-5) },
  rms_norm: { kernel: null, build: (g) => op.rmsNorm(g.input('x', 'float32', [2, 3, 8]), g.input('w', 'float32', [8]), 1e-6) },
  attention: {
    kernel: 'MultiHeadAttention',
    build: (g) => {
      const x = (n: string): Value => g.input(n, 'float32', [2, 5, 8]);
      return op.attention(x('q'), x('k'), x('v'), { numHeads: 2, scale: 0.5, bias: causalAlibi(g, 2, 5) });
    },
  },
  attention_grouped_query: {
    kernel: 'MultiHeadAttention',
    build: (g) => {
      const kv = (n: string): Value => g.input(n, 'float32', [1, 5, 4]);
      return op.attention(g.input('q', 'float32', [1, 5, 8]), kv('k'), kv('v'), { numHeads: 4, numKvHeads: 2, scale: 0.5, bias: causalAlibi(g, 4, 5) });
    },
  },
  gelu_tanh: { kernel: 'FastGelu', build: (g) => op.geluTanh(g.input('x', 'float32', [3, 7])) },
  attention_chunked_causal: {
    kernel: 'MultiHeadAttention',
    build: (g) => {
      const x = (n: string): Value => g.input(n, 'float32', [2, 5, 8]);
      return op.attention(x('q'), x('k'), x('v'), { numHeads: 2, scale: 0.5, bias: causalAlibi(g, 2, 5), queryChunk: 2, causal: true });
    },
  },
  attention_softcap: {
    kernel: null,
    build: (g) => {
      const x = (n: string): Value => g.input(n, 'float32', [1, 5, 8]);
      return op.attention(x('q'), x('k'), x('v'), { numHeads: 2, scale: 1, softcap: 2, bias: causalAlibi(g, 1, 5) });
    },
  },
};

for (const [name, c] of Object.entries(kernels)) {
  test(`${name}: the lowered kernel equals the decomposition`, async () => {
    const y = c.build(new Graph());
    const fused = await evaluate(y, true);
    const decomposed = await evaluate(y, false);
    if (c.kernel) assert.ok(fused.opTypes.includes(c.kernel), `${name} lowers to ${c.kernel}: ${fused.opTypes.join(' ')}`);
    for (const k of Object.values(kernels)) if (k.kernel) assert.ok(!decomposed.opTypes.includes(k.kernel), `${name}: the decomposition holds no ${k.kernel}`);
    const d = maxRelDiff(fused.values, decomposed.values);
    assert.ok(d < 1e-5, `${name}: kernel vs decomposition differ by ${d} (relative)`);
  });
}

test('attention in chunks of queries equals attention in one piece (fused and decomposed; causal chunks read fewer keys)', async () => {
  for (const [chunk, causalKeys, grouped] of [[2, true, false], [2, false, false], [3, true, true], [4, false, true]] as const) {
    const build = (queryChunk?: number): Value => {
      const g = new Graph();
      const kvWidth = grouped ? 4 : 8;
      const kv = (n: string): Value => g.input(n, 'float32', [2, 7, kvWidth]);
      return op.attention(g.input('q', 'float32', [2, 7, 8]), kv('k'), kv('v'), {
        numHeads: 4, numKvHeads: grouped ? 2 : 4, scale: 0.5, bias: causalAlibi(g, 4, 7), ...(queryChunk ? { queryChunk, causal: causalKeys } : {}),
      });
    };
    for (const fused of [true, false]) {
      const whole = await evaluate(build(), fused);
      const chunked = await evaluate(build(chunk), fused);
      assert.equal(chunked.opTypes.filter((t) => t === 'MultiHeadAttention').length, fused ? Math.ceil(7 / chunk) : 0);
      const d = maxRelDiff(chunked.values, whole.values);
      assert.ok(d < 1e-6, `chunk ${chunk}, causal ${causalKeys}, grouped ${grouped}, fused ${fused}: differ by ${d}`);
    }
  }
});

const runtime = createRuntime({ intraOpNumThreads: 1 });

/**
 * d(next-token loss)/d(hidden state 1) for a padded batch, with the forward pass on the fused kernel or
 * built from primitives; returns the gradient and the ONNX node types of the fused variant.
 */
async function hiddenGradient(model: LanguageModel, fusedAttention: boolean): Promise<{ grad: Float32Array; opTypes: string[] }> {
  const T = 12;
  const V = model.config.vocabSize;
  const row = (seed: number): number[] => Array.from({ length: T }, (_, i) => (i * 37 + seed * 11 + 3) % V);
  const mg = model.buildGraph({ ids: [row(1), row(2)], attentionMask: [new Array(T).fill(1), [0, 0, ...new Array(T - 2).fill(1)]] }, { fusedAttention });
  const h = mg.forward.hiddenStates[1]!;
  const logq = op.logSoftmax(mg.forward.logits);
  // A random projection of the log-probs of real tokens (padding queries have no defined attention).
  const r = rng(3);
  const proj = Array.from({ length: logq.size }, (_, i) => (Math.floor(i / V) >= T && Math.floor(i / V) < T + 2 ? 0 : r()));
  const loss = op.reduceSum(op.mul(logq, op.constant(mg.g, proj, logq.shape)), [0, 1, 2]);
  const [grad] = gradients(loss, [h]);
  const out = await model.run(mg, { grad: grad! });
  return { grad: out.grad!.data as Float32Array, opTypes: lowerToOnnx({ grad: grad! }).nodes.map((n) => n.opType) };
}

async function checkModelGradient(model: LanguageModel): Promise<void> {
  const fused = await hiddenGradient(model, true);
  const decomposed = await hiddenGradient(model, false);
  assert.ok(fused.opTypes.includes('MultiHeadAttention'), `${model.name}: the forward pass runs on the fused kernel`);
  assert.ok(fused.grad.some((x) => x !== 0), `${model.name}: the gradient reaches hidden state 1`);
  const d = maxRelDiff(fused.grad, decomposed.grad);
  assert.ok(d < 1e-4, `${model.name}: d loss / d h through fused vs decomposed attention differ by ${d} (relative)`);
}

test('stories260K (grouped-query): gradients flow through fused attention to a hidden state', async () => {
  await checkModelGradient(await loadModel('stories260K'));
});

for (const name of ['bloom', 'gpt_neo']) {
  test(`${name} (${name === 'bloom' ? 'ALiBi' : 'local attention'}): gradients flow through fused attention to a hidden state`, async () => {
    await checkModelGradient(await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name));
  });
}

test('lowering a graph twice gives the same bytes (decompositions are built once), so its session is reused', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 8]);
  const y = op.rmsNorm(op.attention(op.reshape(x, [1, 2, 8]), op.reshape(x, [1, 2, 8]), op.reshape(x, [1, 2, 8]), { numHeads: 2, scale: 1, softcap: 3 }), null, 1e-6);
  const [dx] = gradients(op.reduceSum(y, [0, 1, 2]), [x]);
  const first = encodeOnnxModel(lowerToOnnx({ y, dx: dx! }));
  const second = encodeOnnxModel(lowerToOnnx({ y, dx: dx! }));
  assert.deepEqual(second, first);
});

test('the op table is complete by construction: tsc rejects one without an op', () => {
  const { attention: _dropped, ...withoutAttention } = OPS;
  // @ts-expect-error the attention definition is missing (npm test typechecks this file)
  const incomplete: OpTable = withoutAttention;
  assert.equal(Object.keys(incomplete).length, Object.keys(OPS).length - 1);
  for (const [name, def] of Object.entries(OPS)) {
    assert.ok(typeof def.lower === 'function', `${name} has a lowering`);
    if (def.tier === 'fused') assert.ok(typeof def.decompose === 'function', `${name} has a decomposition`);
    else assert.ok(def.vjp === 'none' || typeof def.vjp === 'function', `${name} has a gradient rule`);
  }
});
