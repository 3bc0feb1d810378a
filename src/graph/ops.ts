/**
 * The op builders: the public way to add ops to a graph. Each takes care of argument conventions
 * (numbers as scalars, negative axes, no-op shortcuts) and appends the op through `emit`, whose shape
 * rule checks shapes and dtypes when the graph is built. What each op means (shape rule, gradient,
 * lowering) is defined once, in primitives.ts and fused.ts.
 */
import { normAxis, sameShape, shapeStr, type ConstData, type DType, type Graph, type Value } from './graph.js';
import { emit } from './op-set.js';

// ---------------------------------------------------------------- constants

export function constant(g: Graph, values: readonly number[] | Float32Array | Float64Array | BigInt64Array | Uint8Array, shape: readonly number[], dtype: DType = 'float32'): Value {
  const n = shape.reduce((a, b) => a * b, 1);
  if (values.length !== n) g.fail('constant', `${values.length} values for shape ${shapeStr(shape)}`);
  let data: ConstData['values'];
  if (dtype === 'float32') data = Float32Array.from(values as ArrayLike<number>);
  else if (dtype === 'float64') data = Float64Array.from(values as ArrayLike<number>);
  else if (dtype === 'int64') data = values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(v)));
  else data = Uint8Array.from(values as ArrayLike<number>);
  return g.add('const', [], { data: { kind: 'const-data', values: data } }, shape, dtype);
}

/** A rank-0 constant of the given dtype (defaults to the dtype of `like` when given). */
export function scalar(g: Graph, v: number, dtype: DType = 'float32'): Value {
  return constant(g, [v], [], dtype);
}

function scalarLike(x: Value, v: number): Value {
  return scalar(x.graph, v, x.dtype);
}

// ---------------------------------------------------------------- elementwise

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'greater' | 'less' | 'equal';

function binary(op: BinaryOp, a: Value, b: Value | number): Value {
  return emit(a.graph, op, [a, typeof b === 'number' ? scalarLike(a, b) : b], {});
}

export const add = (a: Value, b: Value | number): Value => binary('add', a, b);
export const sub = (a: Value, b: Value | number): Value => binary('sub', a, b);
export const mul = (a: Value, b: Value | number): Value => binary('mul', a, b);
export const div = (a: Value, b: Value | number): Value => binary('div', a, b);
export const pow = (a: Value, b: Value | number): Value => binary('pow', a, b);
export const maximum = (a: Value, b: Value | number): Value => binary('max', a, b);
export const minimum = (a: Value, b: Value | number): Value => binary('min', a, b);
export const greater = (a: Value, b: Value | number): Value => binary('greater', a, b);
export const less = (a: Value, b: Value | number): Value => binary('less', a, b);
export const equal = (a: Value, b: Value | number): Value => binary('equal', a, b);

type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'tanh' | 'erf' | 'relu' | 'sigmoid' | 'abs' | 'reciprocal' | 'identity' | 'stop_gradient';

function unary(op: UnaryOp, x: Value): Value {
  return emit(x.graph, op, [x], {});
}

export const neg = (x: Value): Value => unary('neg', x);
export const exp = (x: Value): Value => unary('exp', x);
export const log = (x: Value): Value => unary('log', x);
export const sqrt = (x: Value): Value => unary('sqrt', x);
export const tanh = (x: Value): Value => unary('tanh', x);
export const erf = (x: Value): Value => unary('erf', x);
export const relu = (x: Value): Value => unary('relu', x);
export const sigmoid = (x: Value): Value => unary('sigmoid', x);
export const abs = (x: Value): Value => unary('abs', x);
export const reciprocal = (x: Value): Value => unary('reciprocal', x);
export const identity = (x: Value): Value => unary('identity', x);
/** Identity in the forward pass; autodiff treats it as a constant. */
export const stopGradient = (x: Value): Value => unary('stop_gradient', x);

export function square(x: Value): Value {
  return mul(x, x);
}

// ---------------------------------------------------------------- reductions

type ReduceOp = 'reduce_sum' | 'reduce_mean' | 'reduce_max' | 'reduce_logsumexp';

function reduce(op: ReduceOp, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const norm = [...new Set(axes.map((a) => normAxis(a, x.rank)))].sort((a, b) => a - b);
  if (norm.some((a) => a < 0 || a >= x.rank)) x.graph.fail(op, `axis out of range for ${x.describe()}: ${axes.join(',')}`);
  return emit(x.graph, op, [x], { axes: norm, keepdims });
}

export const reduceSum = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_sum', x, axes, keepdims);
export const reduceMean = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_mean', x, axes, keepdims);
export const reduceMax = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_max', x, axes, keepdims);
export const logSumExp = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_logsumexp', x, axes, keepdims);

export function softmax(x: Value, axis = -1): Value {
  return emit(x.graph, 'softmax', [x], { axis: normAxis(axis, x.rank) });
}

export function logSoftmax(x: Value, axis = -1): Value {
  return emit(x.graph, 'log_softmax', [x], { axis: normAxis(axis, x.rank) });
}

/** The tanh approximation of GELU (GPT-2's gelu_new): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluTanh(x: Value): Value {
  return emit(x.graph, 'gelu_tanh', [x], {});
}

// ---------------------------------------------------------------- linear algebra

/** Batched matrix product with numpy broadcasting of the batch dims; both operands rank >= 2. */
export function matmul(a: Value, b: Value): Value {
  return emit(a.graph, 'matmul', [a, b], {});
}

/**
 * 2-D `alpha * op(a) @ op(b) + c` (ONNX Gemm). `transB` lets PyTorch-layout weights `[out, in]` be
 * used without a transpose copy at run time.
 */
export function gemm(a: Value, b: Value, c: Value | null, opts: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Value {
  return emit(a.graph, 'gemm', c ? [a, b, c] : [a, b], { transA: !!opts.transA, transB: !!opts.transB, alpha: opts.alpha ?? 1 });
}

/**
 * PyTorch `nn.Linear` on the last axis: `x @ Wᵀ + b` with W `[out, in]`, for x of any rank.
 * 2-D inputs lower to one Gemm with transB. Higher ranks use MatMul on a transposed W, which
 * onnxruntime fuses into one FusedMatMul(transB) kernel: no copy of W, and the result is written in
 * its final [..., out] shape (a Gemm would need reshapes around it, and a graph output produced by a
 * Reshape is copied once more).
 */
export function linear(x: Value, weight: Value, bias: Value | null = null): Value {
  const g = x.graph;
  if (weight.rank !== 2) g.fail('linear', `weight must be [out, in], got ${weight.describe()}`);
  const [out, inp] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inp) g.fail('linear', `input ${x.describe()} does not end in ${inp} (weight ${weight.describe()})`);
  if (bias && !sameShape(bias.shape, [out])) g.fail('linear', `bias ${bias.describe()} should be [${out}]`);
  if (x.rank === 2) return gemm(x, weight, bias, { transB: true });
  const y = matmul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}

// ---------------------------------------------------------------- indexing and layout

/** ONNX Gather: picks slices of `data` along `axis` with int64 `indices` of any shape. */
export function gather(data: Value, indices: Value, axis = 0): Value {
  return emit(data.graph, 'gather', [data, indices], { axis: normAxis(axis, data.rank) });
}

/** Picks one element per row along the last axis: `out[...] = data[..., indices[...]]`. */
export function gatherLast(data: Value, indices: Value): Value {
  const g = data.graph;
  if (indices.dtype !== 'int64') g.fail('gather_last', `indices must be int64, got ${indices.describe()}`);
  if (!sameShape(indices.shape, data.shape.slice(0, -1))) g.fail('gather_last', `indices ${indices.describe()} must match ${data.describe()} without its last axis`);
  const idx = reshape(indices, [...indices.shape, 1]);
  return reshape(emit(g, 'gather_elements', [data, idx], { axis: data.rank - 1 }), indices.shape);
}

/** `data` with `updates` added at `indices` along `axis` (ONNX ScatterElements with add): the gradient of gather_elements. */
export function scatterElementsAdd(data: Value, indices: Value, updates: Value, axis: number): Value {
  return emit(data.graph, 'scatter_elements_add', [data, indices, updates], { axis: normAxis(axis, data.rank) });
}

export function reshape(x: Value, shape: readonly number[]): Value {
  const g = x.graph;
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) g.fail('reshape', `more than one -1 in ${shapeStr(shape)}`);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (resolved.reduce((a, b) => a * b, 1) !== x.size || resolved.some((d) => !Number.isInteger(d))) {
    g.fail('reshape', `cannot reshape ${x.describe()} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  if (sameShape(resolved, x.shape)) return x;
  return emit(g, 'reshape', [x], { shape: resolved });
}

export function transpose(x: Value, perm: readonly number[]): Value {
  if (perm.length === x.rank && perm.every((p, i) => p === i)) return x;
  return emit(x.graph, 'transpose', [x], { perm: [...perm] });
}

/** Swaps the last two axes. */
export function transposeLast2(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

/** `x[..., start:end, ...]` on one axis (step 1; negative start/end count from the end). */
export function slice(x: Value, axis: number, start: number, end: number): Value {
  const g = x.graph;
  const ax = normAxis(axis, x.rank);
  if (ax < 0 || ax >= x.rank) g.fail('slice', `axis ${axis} out of range for ${x.describe()}`);
  const n = x.shape[ax]!;
  const s = Math.max(0, Math.min(n, start < 0 ? start + n : start));
  const e = Math.max(s, Math.min(n, end < 0 ? end + n : end));
  if (s === 0 && e === n) return x;
  return emit(g, 'slice', [x], { axis: ax, start: s, end: e });
}

export function concat(xs: readonly Value[], axis: number): Value {
  const base = xs[0]!;
  if (xs.length === 1) return base;
  return emit(base.graph, 'concat', xs, { axis: normAxis(axis, base.rank) });
}

/** Broadcasts `x` to `shape` (numpy rules, rank may grow on the left). */
export function expand(x: Value, shape: readonly number[]): Value {
  if (sameShape(x.shape, shape)) return x;
  return emit(x.graph, 'expand', [x], { shape: [...shape] });
}

/** Zero padding: `pads[i] = [before, after]` for axis i. */
export function pad(x: Value, pads: readonly (readonly [number, number])[]): Value {
  if (pads.length !== x.rank) x.graph.fail('pad', `need ${x.rank} pad pairs for ${x.describe()}`);
  return emit(x.graph, 'pad', [x], { pads: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])] });
}

export function where(cond: Value, a: Value | number, b: Value | number): Value {
  const g = cond.graph;
  if (cond.dtype !== 'bool') g.fail('where', `condition must be bool, got ${cond.describe()}`);
  const like = typeof a !== 'number' ? a : typeof b !== 'number' ? b : null;
  const dtype = like?.dtype ?? 'float32';
  const av = typeof a === 'number' ? scalar(g, a, dtype) : a;
  const bv = typeof b === 'number' ? scalar(g, b, dtype) : b;
  return emit(g, 'where', [cond, av, bv], {});
}

export function cast(x: Value, dtype: DType): Value {
  if (x.dtype === dtype) return x;
  return emit(x.graph, 'cast', [x], { to: dtype });
}

/** `data` (zeros) with `updates` added at `indices` along axis 0: the gradient of gather(axis 0). */
export function scatterAddRows(rows: number, indices: Value, updates: Value): Value {
  const g = indices.graph;
  const tail = updates.shape.slice(indices.rank);
  const zeros = expand(scalar(g, 0, updates.dtype), [rows, ...tail]);
  return emit(g, 'scatter_nd_add', [zeros, reshape(indices, [...indices.shape, 1]), updates], {});
}

// ---------------------------------------------------------------- selection (no gradient)

/** Largest `k` entries along the last axis, sorted: [values, int64 indices]. */
export function topK(x: Value, k: number): [Value, Value] {
  const values = emit(x.graph, 'top_k', [x], { k });
  return [values, emit(x.graph, 'output_of', [values], { index: 1 })];
}

export function argMax(x: Value, axis = -1, keepdims = false): Value {
  return emit(x.graph, 'arg_max', [x], { axis: normAxis(axis, x.rank), keepdims });
}

// ---------------------------------------------------------------- fused ops (fused.ts)

/** LayerNorm over the last axis: one LayerNormalization kernel; differentiated through its decomposition. */
export function layerNorm(x: Value, weight: Value | null, bias: Value | null, eps: number): Value {
  const d = x.shape[x.rank - 1]!;
  const w = weight ?? expand(scalar(x.graph, 1, x.dtype), [d]);
  return emit(x.graph, 'layer_norm', bias ? [x, w, bias] : [x, w], { eps });
}

/** RMSNorm over the last axis: `x / sqrt(mean(x²) + eps) * (offset + w)` (Gemma uses offset 1). */
export function rmsNorm(x: Value, weight: Value | null, eps: number, weightOffset = 0): Value {
  return emit(x.graph, 'rms_norm', weight ? [x, weight] : [x], { eps, weightOffset });
}

export interface AttentionOptions {
  numHeads: number;
  /** Fewer key/value heads than query heads (grouped-query attention): query head h reads kv head ⌊h / (H / Hkv)⌋. */
  numKvHeads?: number;
  /** Multiplies q·k (usually 1/√head_dim). */
  scale: number;
  /** Added to the scaled scores: [B|1, H|1, T, Tk], 0 / large negative for masking (causal, padding, windows), plus ALiBi. */
  bias?: Value | null;
  /** Gemma-2 logit soft-capping: scores → cap·tanh(scores / cap) before the bias. */
  softcap?: number | null;
  /**
   * Attend in chunks of this many queries when there are more (each query's row is independent of the
   * others, so the result is the same). Bounds the [B, H, queries, keys] scores a kernel holds at once:
   * GPT-2-small at 1024 tokens held 152 MiB of attention scratch in onnxruntime's arena unchunked.
   */
  queryChunk?: number;
  /**
   * Self-attention where every key after a query's own position is masked by `bias` (causal, no cache):
   * a chunk of queries then reads only the keys up to its last query, which also skips the masked work.
   */
  causal?: boolean;
}

/**
 * Multi-head attention. q is [B, T, H·hd] and k, v [B, Tk, Hkv·hd] (Tk = T for self-attention, longer for a
 * key/value cache), heads contiguous per position.
 * Lowers to onnxruntime's fused MultiHeadAttention kernel where it applies (float32, no soft-cap), else to
 * its decomposition; gradients flow through the decomposition either way.
 */
export function attention(q: Value, k: Value, v: Value, opts: AttentionOptions): Value {
  const C = opts.queryChunk;
  if (C && q.rank === 3 && q.shape[1]! > C) return chunkedAttention(q, k, v, { ...opts, queryChunk: C });
  const H = opts.numHeads;
  const Hkv = opts.numKvHeads ?? H;
  let kk = k;
  let vv = v;
  if (Hkv !== H) {
    if (q.rank !== 3 || k.rank !== 3 || H % Hkv !== 0) q.graph.fail('attention', `${H} query heads do not group over ${Hkv} kv heads (q ${q.describe()}, k ${k.describe()})`);
    const [B, T, D] = k.shape as [number, number, number];
    const hd = D / Hkv;
    const repeat = (t: Value): Value => reshape(expand(reshape(t, [B, T, Hkv, 1, hd]), [B, T, Hkv, H / Hkv, hd]), [B, T, H * hd]);
    kk = repeat(k);
    vv = repeat(v);
  }
  const inputs = opts.bias ? [q, kk, vv, opts.bias] : [q, kk, vv];
  return emit(q.graph, 'attention', inputs, { numHeads: H, scale: opts.scale, softcap: opts.softcap ?? null });
}

/** `attention` over chunks of `opts.queryChunk` queries, concatenated along the positions. */
function chunkedAttention(q: Value, k: Value, v: Value, opts: AttentionOptions & { queryChunk: number }): Value {
  const T = q.shape[1]!;
  const Tk = k.shape[1]!;
  if (opts.causal && Tk !== T) q.graph.fail('attention', `causal chunking needs as many keys as queries (q ${q.describe()}, k ${k.describe()})`);
  const parts: Value[] = [];
  for (let start = 0; start < T; start += opts.queryChunk) {
    const end = Math.min(T, start + opts.queryChunk);
    const keys = opts.causal ? end : Tk;
    const part = (x: Value): Value => (keys === Tk ? x : slice(x, 1, 0, keys));
    const bias = opts.bias ? slice(opts.bias.shape[3] === keys ? opts.bias : slice(opts.bias, 3, 0, keys), 2, start, end) : null;
    parts.push(attention(slice(q, 1, start, end), part(k), part(v), { ...opts, bias, queryChunk: undefined }));
  }
  return concat(parts, 1);
}

/** `attention` with an additive bias and as many kv heads as query heads (the original signature). */
export function fusedAttention(q: Value, k: Value, v: Value, bias: Value, numHeads: number, scale: number): Value {
  return attention(q, k, v, { numHeads, scale, bias });
}

/** Softmax over the last axis after adding an additive mask (0 or a large negative number). */
export function maskedSoftmax(scores: Value, additiveMask: Value | null): Value {
  return softmax(additiveMask ? add(scores, additiveMask) : scores, -1);
}
