/**
 * Every gradient rule against central finite differences in float64, run through onnxruntime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { gradients } from '../../src/graph/autodiff.js';
import { createRuntime } from '../../src/node/runtime.js';

const rt = createRuntime({ intraOpNumThreads: 1 });

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Case {
  shapes: number[][];
  /** Values are drawn uniformly from [lo, hi]. */
  range?: [number, number];
  build: (xs: Value[]) => Value;
}

async function gradcheck(name: string, c: Case): Promise<void> {
  const r = rng(name.length * 7919 + 17);
  const [lo, hi] = c.range ?? [-1.5, 1.5];
  const data = c.shapes.map((s) => Float64Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()));
  const g = new Graph();
  const xs = c.shapes.map((s, i) => g.input(`x${i}`, 'float64', s));
  const y = c.build(xs);
  // A fixed random projection makes the scalar loss sensitive to every output element.
  const proj = op.constant(g, Float64Array.from({ length: y.size }, () => r() - 0.5), y.shape, 'float64');
  const loss = op.reduceSum(op.mul(y, proj), y.shape.map((_, i) => i));
  const grads = gradients(loss, xs);
  const outputs: Record<string, Value> = { loss };
  grads.forEach((gv, i) => (outputs[`g${i}`] = gv));
  const fwd = await rt.compile({ loss });
  const both = await rt.compile(outputs);
  const feeds = (): Record<string, Float64Array> => Object.fromEntries(data.map((d, i) => [`x${i}`, d]));
  const analytic = await both.run(feeds());
  const h = 1e-6;
  for (let i = 0; i < data.length; i++) {
    const gi = analytic[`g${i}`]!.data as Float64Array;
    for (let j = 0; j < data[i]!.length; j++) {
      const orig = data[i]![j]!;
      data[i]![j] = orig + h;
      const up = ((await fwd.run(feeds())).loss!.data as Float64Array)[0]!;
      data[i]![j] = orig - h;
      const down = ((await fwd.run(feeds())).loss!.data as Float64Array)[0]!;
      data[i]![j] = orig;
      const numeric = (up - down) / (2 * h);
      const tol = 1e-6 + 1e-5 * Math.abs(numeric);
      assert.ok(Math.abs(numeric - gi[j]!) <= tol, `${name}: d/dx${i}[${j}] analytic ${gi[j]} vs numeric ${numeric}`);
    }
  }
}

const causal = (_b: number, _h: number, i: number, j: number): number => (j > i ? -1e9 : 0);

/** A constant additive attention bias [B, H, T, T] (T from q [B, T, ·]) with entries `f(b, h, i, j)`. */
function mask(q: Value, B: number, H: number, f: (b: number, h: number, i: number, j: number) => number): Value {
  const T = q.shape[1]!;
  const values: number[] = [];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) values.push(f(b, h, i, j));
  return op.constant(q.graph, values, [B, H, T, T], 'float64');
}

const cases: Record<string, Case> = {
  add_broadcast: { shapes: [[2, 3], [3]], build: ([a, b]) => op.add(a!, b!) },
  sub_broadcast: { shapes: [[2, 1], [1, 3]], build: ([a, b]) => op.sub(a!, b!) },
  mul_broadcast: { shapes: [[2, 3], [2, 1]], build: ([a, b]) => op.mul(a!, b!) },
  div: { shapes: [[2, 3], [3]], range: [0.5, 2], build: ([a, b]) => op.div(a!, b!) },
  pow: { shapes: [[2, 3], [3]], range: [0.5, 2], build: ([a, b]) => op.pow(a!, b!) },
  max: { shapes: [[2, 3], [2, 3]], build: ([a, b]) => op.maximum(a!, b!) },
  min: { shapes: [[2, 3], [3]], build: ([a, b]) => op.minimum(a!, b!) },
  neg: { shapes: [[4]], build: ([a]) => op.neg(a!) },
  exp: { shapes: [[4]], build: ([a]) => op.exp(a!) },
  log: { shapes: [[4]], range: [0.3, 3], build: ([a]) => op.log(a!) },
  sqrt: { shapes: [[4]], range: [0.3, 3], build: ([a]) => op.sqrt(a!) },
  tanh: { shapes: [[4]], build: ([a]) => op.tanh(a!) },
  relu: { shapes: [[6]], build: ([a]) => op.relu(a!) },
  sigmoid: { shapes: [[4]], build: ([a]) => op.sigmoid(a!) },
  abs: { shapes: [[4]], build: ([a]) => op.abs(a!) },
  reciprocal: { shapes: [[4]], range: [0.5, 2], build: ([a]) => op.reciprocal(a!) },
  reduce_sum: { shapes: [[2, 3, 4]], build: ([a]) => op.reduceSum(a!, [0, 2]) },
  reduce_mean_keep: { shapes: [[2, 3, 4]], build: ([a]) => op.reduceMean(a!, [1], true) },
  reduce_max: { shapes: [[3, 4]], build: ([a]) => op.reduceMax(a!, [1]) },
  logsumexp: { shapes: [[3, 4]], build: ([a]) => op.logSumExp(a!, [-1]) },
  softmax: { shapes: [[2, 5]], build: ([a]) => op.softmax(a!) },
  log_softmax: { shapes: [[2, 5]], build: ([a]) => op.logSoftmax(a!) },
  matmul_batched: { shapes: [[2, 3, 4], [4, 2]], build: ([a, b]) => op.matmul(a!, b!) },
  matmul_broadcast: { shapes: [[2, 1, 3, 4], [3, 4, 2]], build: ([a, b]) => op.matmul(a!, b!) },
  gemm_nn: { shapes: [[3, 4], [4, 2], [2]], build: ([a, b, c]) => op.gemm(a!, b!, c!, { alpha: 0.7 }) },
  gemm_nt: { shapes: [[3, 4], [2, 4]], build: ([a, b]) => op.gemm(a!, b!, null, { transB: true }) },
  gemm_tn: { shapes: [[4, 3], [4, 2]], build: ([a, b]) => op.gemm(a!, b!, null, { transA: true }) },
  gemm_tt: { shapes: [[4, 3], [2, 4], [3, 2]], build: ([a, b, c]) => op.gemm(a!, b!, c!, { transA: true, transB: true }) },
  linear_3d: { shapes: [[2, 3, 4], [5, 4], [5]], build: ([x, w, b]) => op.linear(x!, w!, b!) },
  gather_rows: {
    shapes: [[5, 3]],
    build: ([t]) => op.gather(t!, op.constant(t!.graph, [4, 0, 4, 2], [2, 2], 'int64')),
  },
  gather_last: {
    shapes: [[3, 4]],
    build: ([t]) => op.gatherLast(t!, op.constant(t!.graph, [3, 0, 1], [3], 'int64')),
  },
  reshape_transpose: { shapes: [[2, 6]], build: ([a]) => op.transpose(op.reshape(a!, [2, 3, 2]), [2, 0, 1]) },
  slice: { shapes: [[3, 5]], build: ([a]) => op.slice(a!, 1, 1, 4) },
  concat: { shapes: [[2, 2], [2, 3]], build: ([a, b]) => op.concat([a!, b!], 1) },
  expand: { shapes: [[3, 1]], build: ([a]) => op.expand(a!, [2, 3, 4]) },
  pad: { shapes: [[2, 2]], build: ([a]) => op.pad(a!, [[1, 0], [0, 2]]) },
  where: {
    shapes: [[2, 3], [3]],
    build: ([a, b]) => op.where(op.greater(a!, 0), a!, b!),
  },
  layer_norm: { shapes: [[3, 5], [5], [5]], build: ([x, w, b]) => op.layerNorm(x!, w!, b!, 1e-5) },
  rms_norm: { shapes: [[3, 5], [5]], build: ([x, w]) => op.rmsNorm(x!, w!, 1e-6) },
  masked_softmax: {
    shapes: [[2, 4, 4]],
    build: ([s]) => op.maskedSoftmax(s!, op.constant(s!.graph, [0, -1e9, -1e9, -1e9, 0, 0, -1e9, -1e9, 0, 0, 0, -1e9, 0, 0, 0, 0], [4, 4], 'float64')),
  },
  gemm_nn_alpha_broadcast_bias: { shapes: [[3, 4], [4, 2], [1, 2]], build: ([a, b, c]) => op.gemm(a!, b!, c!, { alpha: -1.3 }) },
  layer_norm_no_bias: { shapes: [[2, 3, 4], [4]], build: ([x, w]) => op.layerNorm(x!, w!, null, 1e-5) },
  rms_norm_offset: { shapes: [[2, 5], [5]], build: ([x, w]) => op.rmsNorm(x!, w!, 1e-6, 1) },
  softmax_axis0: { shapes: [[3, 2]], build: ([a]) => op.softmax(a!, 0) },
  // Fused attention, differentiated through its decomposition: B = 2, T = 4, H = 2 heads of 3.
  attention_causal: { shapes: [[2, 4, 6], [2, 4, 6], [2, 4, 6]], build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.6, bias: mask(q!, 1, 1, causal) }) },
  attention_causal_chunked: {
    shapes: [[2, 5, 6], [2, 5, 6], [2, 5, 6]],
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.6, bias: mask(q!, 1, 1, causal), queryChunk: 2, causal: true }),
  },
  gelu_tanh: { shapes: [[2, 5]], build: ([a]) => op.geluTanh(a!) },
  attention_padding: {
    shapes: [[2, 4, 6], [2, 4, 6], [2, 4, 6]],
    // Sequence 1 is left-padded by one position: no real query reads key 0. (The padding query reads
    // itself, as Hugging Face unmasks fully masked rows; a row of -1e9 scores would leave finite
    // differences below float64 resolution.)
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.6, bias: mask(q!, 2, 1, (b, _h, i, j) => causal(b, 0, i, j) + (b === 1 && j === 0 && i > 0 ? -1e9 : 0)) }),
  },
  attention_alibi: {
    shapes: [[1, 4, 6], [1, 4, 6], [1, 4, 6]],
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.6, bias: mask(q!, 1, 2, (b, h, i, j) => causal(b, h, i, j) + 2 ** -(h + 1) * (j - i)) }),
  },
  attention_sliding_window: {
    shapes: [[1, 5, 6], [1, 5, 6], [1, 5, 6]],
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.6, bias: mask(q!, 1, 1, (b, h, i, j) => causal(b, h, i, j) + (i - j >= 2 ? -1e9 : 0)) }),
  },
  attention_grouped_query: {
    // 4 query heads of 2 share 2 kv heads.
    shapes: [[1, 4, 8], [1, 4, 4], [1, 4, 4]],
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 4, numKvHeads: 2, scale: 0.7, bias: mask(q!, 1, 1, causal) }),
  },
  attention_softcap: {
    shapes: [[1, 4, 6], [1, 4, 6], [1, 4, 6]],
    range: [-3, 3],
    build: ([q, k, v]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 1, softcap: 1.5, bias: mask(q!, 1, 1, causal) }),
  },
  attention_bias_gradient: {
    shapes: [[1, 3, 4], [1, 3, 4], [1, 3, 4], [1, 2, 3, 3]],
    build: ([q, k, v, bias]) => op.attention(q!, k!, v!, { numHeads: 2, scale: 0.5, bias: bias! }),
  },
  attention_shared_input: { shapes: [[1, 3, 4]], build: ([x]) => op.attention(x!, x!, x!, { numHeads: 2, scale: 0.5 }) },
  kl_chain: {
    shapes: [[3, 6], [3, 6]],
    build: ([p, q]) => {
      const lp = op.logSoftmax(p!);
      const lq = op.logSoftmax(q!);
      return op.reduceSum(op.mul(op.exp(lp), op.sub(lp, lq)), [-1]);
    },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`gradient of ${name} matches finite differences (float64)`, () => gradcheck(name, c));
}

/** erf to float64 precision (Abramowitz–Stegun 7.1.26 is too coarse): Taylor series, fine for |x| < 3. */
function erf64(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

test('gradient of erf matches finite differences (float64)', async () => {
  // onnxruntime's CPU provider has no float64 Erf kernel, so the forward values for the finite
  // differences come from a float64 series; the gradient graph itself needs only Exp and runs in float64.
  const xs = [-1.3, -0.4, 0.0, 0.7, 1.9];
  const g = new Graph();
  const x = g.input('x', 'float64', [xs.length]);
  const [dx] = gradients(op.erf(x), [x]);
  const r = await rt.run({ dx: dx! }, { x: Float64Array.from(xs) });
  xs.forEach((v, i) => {
    const numeric = (erf64(v + 1e-6) - erf64(v - 1e-6)) / 2e-6;
    assert.ok(Math.abs(numeric - (r.dx!.data as Float64Array)[i]!) < 1e-8, `erf'(${v})`);
  });
});

test('shape errors name the op, the scope and the shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => g.scope('layer3.attn', () => op.matmul(a, b)), /matmul \(in layer3\.attn\): inner dimensions differ: input 'a'.*\[2, 3\].*input 'b'.*\[4, 5\]/);
  assert.throws(() => op.add(a, b), /add: cannot broadcast/);
  assert.throws(() => op.reshape(a, [4, 2]), /reshape: cannot reshape .* to \[4, 2\]/);
});

test('the runtime checks fed shapes and caches sessions by graph signature', async () => {
  const mk = (n: number): Value => {
    const g = new Graph();
    return op.mul(g.input('x', 'float32', [n]), 2);
  };
  const rt = createRuntime({ intraOpNumThreads: 1 });
  const before = rt.cachedSessions;
  const r1 = await rt.run({ y: mk(3) }, { x: new Float32Array([1, 2, 3]) });
  assert.deepEqual(Array.from(r1.y!.data as Float32Array), [2, 4, 6]);
  await rt.run({ y: mk(3) }, { x: new Float32Array([1, 1, 1]) });
  assert.equal(rt.cachedSessions, before + 1);
  await assert.rejects(rt.run({ y: mk(3) }, { x: new Float32Array([1, 2]) }), /expects shape \[3\] \(3 elements\), got 2/);
});

test('top-k and arg-max select the largest entries', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 4]);
  const [v, i] = op.topK(x, 2);
  const r = await rt.run({ v, i, a: op.argMax(x) }, { x: new Float32Array([1, 5, 3, 4, 9, 0, 8, 7]) });
  assert.deepEqual(Array.from(r.v!.data as Float32Array), [5, 4, 9, 8]);
  assert.deepEqual(Array.from(r.i!.data as BigInt64Array, Number), [1, 3, 0, 2]);
  assert.deepEqual(Array.from(r.a!.data as BigInt64Array, Number), [1, 0]);
});
