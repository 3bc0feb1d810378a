/**
 * The typed op set. Every function checks shapes and dtypes when the graph is built and returns a
 * new Value; lowering to ONNX is in onnx-lowering.ts and gradients are in autodiff.ts.
 */
import { broadcastShapes, normAxis, sameShape, shapeStr, type ConstData, type DType, type Graph, type Value } from './graph.js';

function g0(xs: readonly Value[]): Graph {
  return xs[0]!.graph;
}

function requireFloat(op: string, ...xs: Value[]): void {
  for (const x of xs) {
    if (x.dtype !== 'float32' && x.dtype !== 'float64') x.graph.fail(op, `expects a float tensor, got ${x.describe()}`);
  }
}

function requireSameDtype(op: string, a: Value, b: Value): void {
  if (a.dtype !== b.dtype) a.graph.fail(op, `dtype mismatch: ${a.describe()} vs ${b.describe()}`);
}

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

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min';
type CompareOp = 'greater' | 'less' | 'equal';

function binary(op: BinaryOp | CompareOp, a: Value, b: Value | number): Value {
  const g = a.graph;
  const bv = typeof b === 'number' ? scalarLike(a, b) : b;
  requireSameDtype(op, a, bv);
  const shape = broadcastShapes(a.shape, bv.shape);
  if (!shape) g.fail(op, `cannot broadcast ${a.describe()} with ${bv.describe()}`);
  const isCompare = op === 'greater' || op === 'less' || op === 'equal';
  return g.add(op, [a, bv], {}, shape!, isCompare ? 'bool' : a.dtype);
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
  if (op !== 'identity' && op !== 'stop_gradient' && op !== 'neg' && op !== 'abs') requireFloat(op, x);
  return x.graph.add(op, [x], {}, x.shape, x.dtype);
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
  const g = x.graph;
  if (op !== 'reduce_sum' && op !== 'reduce_max') requireFloat(op, x);
  const norm = [...new Set(axes.map((a) => normAxis(a, x.rank)))].sort((a, b) => a - b);
  for (const a of norm) if (a < 0 || a >= x.rank) g.fail(op, `axis out of range for ${x.describe()}: ${axes.join(',')}`);
  const shape: number[] = [];
  x.shape.forEach((d, i) => {
    if (norm.includes(i)) {
      if (keepdims) shape.push(1);
    } else shape.push(d);
  });
  return g.add(op, [x], { axes: norm, keepdims }, shape, x.dtype);
}

export const reduceSum = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_sum', x, axes, keepdims);
export const reduceMean = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_mean', x, axes, keepdims);
export const reduceMax = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_max', x, axes, keepdims);
export const logSumExp = (x: Value, axes: readonly number[], keepdims = false): Value => reduce('reduce_logsumexp', x, axes, keepdims);

export function softmax(x: Value, axis = -1): Value {
  requireFloat('softmax', x);
  return x.graph.add('softmax', [x], { axis: normAxis(axis, x.rank) }, x.shape, x.dtype);
}

export function logSoftmax(x: Value, axis = -1): Value {
  requireFloat('log_softmax', x);
  return x.graph.add('log_softmax', [x], { axis: normAxis(axis, x.rank) }, x.shape, x.dtype);
}

// ---------------------------------------------------------------- linear algebra

/** Batched matrix product with numpy broadcasting of the batch dims; both operands rank >= 2. */
export function matmul(a: Value, b: Value): Value {
  const g = a.graph;
  requireFloat('matmul', a, b);
  requireSameDtype('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) g.fail('matmul', `operands must have rank >= 2: ${a.describe()} @ ${b.describe()}`);
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!;
  const n = b.shape[b.rank - 1]!;
  if (k !== k2) g.fail('matmul', `inner dimensions differ: ${a.describe()} @ ${b.describe()}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!batch) g.fail('matmul', `batch dimensions do not broadcast: ${a.describe()} @ ${b.describe()}`);
  return g.add('matmul', [a, b], {}, [...batch!, m, n], a.dtype);
}

/**
 * 2-D `alpha * op(a) @ op(b) + c` (ONNX Gemm). `transB` lets PyTorch-layout weights `[out, in]` be
 * used without a transpose copy at run time.
 */
export function gemm(a: Value, b: Value, c: Value | null, opts: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Value {
  const g = a.graph;
  requireFloat('gemm', a, b);
  requireSameDtype('gemm', a, b);
  if (a.rank !== 2 || b.rank !== 2) g.fail('gemm', `operands must be 2-D: ${a.describe()}, ${b.describe()}`);
  const [m, k] = opts.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [k2, n] = opts.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (k !== k2) g.fail('gemm', `inner dimensions differ: ${a.describe()}${opts.transA ? 'ᵀ' : ''} @ ${b.describe()}${opts.transB ? 'ᵀ' : ''}`);
  const inputs = [a, b];
  if (c) {
    requireSameDtype('gemm', a, c);
    if (!broadcastShapes([m, n], c.shape) || !sameShape(broadcastShapes([m, n], c.shape)!, [m, n])) g.fail('gemm', `bias ${c.describe()} does not broadcast to [${m}, ${n}]`);
    inputs.push(c);
  }
  return g.add('gemm', inputs, { transA: !!opts.transA, transB: !!opts.transB, alpha: opts.alpha ?? 1 }, [m, n], a.dtype);
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
  const g = data.graph;
  if (indices.dtype !== 'int64') g.fail('gather', `indices must be int64, got ${indices.describe()}`);
  const ax = normAxis(axis, data.rank);
  const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
  return g.add('gather', [data, indices], { axis: ax }, shape, data.dtype);
}

/** Picks one element per row along the last axis: `out[...] = data[..., indices[...]]`. */
export function gatherLast(data: Value, indices: Value): Value {
  const g = data.graph;
  if (indices.dtype !== 'int64') g.fail('gather_last', `indices must be int64, got ${indices.describe()}`);
  if (!sameShape(indices.shape, data.shape.slice(0, -1))) g.fail('gather_last', `indices ${indices.describe()} must match ${data.describe()} without its last axis`);
  const idx = reshape(indices, [...indices.shape, 1]);
  const out = g.add('gather_elements', [data, idx], { axis: data.rank - 1 }, idx.shape, data.dtype);
  return reshape(out, indices.shape);
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
  return g.add('reshape', [x], { shape: resolved }, resolved, x.dtype);
}

export function transpose(x: Value, perm: readonly number[]): Value {
  const g = x.graph;
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) g.fail('transpose', `bad permutation [${perm.join(', ')}] for ${x.describe()}`);
  if (perm.every((p, i) => p === i)) return x;
  return g.add('transpose', [x], { perm: [...perm] }, perm.map((p) => x.shape[p]!), x.dtype);
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
  const shape = [...x.shape];
  shape[ax] = e - s;
  return g.add('slice', [x], { axis: ax, start: s, end: e }, shape, x.dtype);
}

export function concat(xs: readonly Value[], axis: number): Value {
  const g = g0(xs);
  if (xs.length === 1) return xs[0]!;
  const ax = normAxis(axis, xs[0]!.rank);
  const base = xs[0]!;
  let total = 0;
  for (const x of xs) {
    requireSameDtype('concat', base, x);
    if (x.rank !== base.rank || x.shape.some((d, i) => i !== ax && d !== base.shape[i])) {
      g.fail('concat', `shapes differ off axis ${ax}: ${base.describe()} vs ${x.describe()}`);
    }
    total += x.shape[ax]!;
  }
  const shape = [...base.shape];
  shape[ax] = total;
  return g.add('concat', xs, { axis: ax }, shape, base.dtype);
}

/** Broadcasts `x` to `shape` (numpy rules, rank may grow on the left). */
export function expand(x: Value, shape: readonly number[]): Value {
  const out = broadcastShapes(x.shape, shape);
  if (!out || !sameShape(out, shape)) x.graph.fail('expand', `cannot broadcast ${x.describe()} to ${shapeStr(shape)}`);
  if (sameShape(x.shape, shape)) return x;
  return x.graph.add('expand', [x], { shape: [...shape] }, shape, x.dtype);
}

/** Zero padding: `pads[i] = [before, after]` for axis i. */
export function pad(x: Value, pads: readonly (readonly [number, number])[]): Value {
  if (pads.length !== x.rank) x.graph.fail('pad', `need ${x.rank} pad pairs for ${x.describe()}`);
  const shape = x.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
  return x.graph.add('pad', [x], { pads: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])] }, shape, x.dtype);
}

export function where(cond: Value, a: Value | number, b: Value | number): Value {
  const g = cond.graph;
  if (cond.dtype !== 'bool') g.fail('where', `condition must be bool, got ${cond.describe()}`);
  const like = typeof a !== 'number' ? a : typeof b !== 'number' ? b : null;
  const dtype = like?.dtype ?? 'float32';
  const av = typeof a === 'number' ? scalar(g, a, dtype) : a;
  const bv = typeof b === 'number' ? scalar(g, b, dtype) : b;
  requireSameDtype('where', av, bv);
  const s1 = broadcastShapes(cond.shape, av.shape);
  const shape = s1 && broadcastShapes(s1, bv.shape);
  if (!shape) g.fail('where', `cannot broadcast ${cond.describe()}, ${av.describe()}, ${bv.describe()}`);
  return g.add('where', [cond, av, bv], {}, shape!, dtype);
}

export function cast(x: Value, dtype: DType): Value {
  if (x.dtype === dtype) return x;
  return x.graph.add('cast', [x], { to: dtype }, x.shape, dtype);
}

/** `data` (zeros) with `updates` added at `indices` along axis 0: the gradient of gather(axis 0). */
export function scatterAddRows(rows: number, indices: Value, updates: Value): Value {
  const g = indices.graph;
  const tail = updates.shape.slice(indices.rank);
  const zeros = expand(scalar(g, 0, updates.dtype), [rows, ...tail]);
  const idx = reshape(indices, [...indices.shape, 1]);
  return g.add('scatter_nd_add', [zeros, idx, updates], {}, [rows, ...tail], updates.dtype);
}

// ---------------------------------------------------------------- selection (no gradient)

/** Largest `k` entries along the last axis, sorted: [values, int64 indices]. */
export function topK(x: Value, k: number): [Value, Value] {
  const g = x.graph;
  const n = x.shape[x.rank - 1]!;
  if (k < 1 || k > n) g.fail('top_k', `k=${k} out of range for ${x.describe()}`);
  const shape = [...x.shape.slice(0, -1), k];
  const values = g.add('top_k', [x], { k }, shape, x.dtype);
  const indices = g.add('output_of', [values], { index: 1 }, shape, 'int64');
  return [values, indices];
}

export function argMax(x: Value, axis = -1, keepdims = false): Value {
  const ax = normAxis(axis, x.rank);
  const shape = keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return x.graph.add('arg_max', [x], { axis: ax, keepdims }, shape, 'int64');
}

// ---------------------------------------------------------------- composites

/**
 * LayerNorm over the last axis. Lowers to ONNX LayerNormalization (one fused kernel); its gradient is
 * written in primitives in autodiff.ts.
 */
export function layerNorm(x: Value, weight: Value | null, bias: Value | null, eps: number): Value {
  const g = x.graph;
  requireFloat('layer_norm', x);
  const d = x.shape[x.rank - 1]!;
  for (const p of [weight, bias]) if (p && !sameShape(p.shape, [d])) g.fail('layer_norm', `parameter ${p.describe()} should be [${d}]`);
  const w = weight ?? expand(scalar(g, 1, x.dtype), [d]);
  const inputs = bias ? [x, w, bias] : [x, w];
  return g.add('layer_norm', inputs, { eps }, x.shape, x.dtype);
}

/** RMSNorm over the last axis: `x / sqrt(mean(x²) + eps) * (offset + w)` (Gemma uses offset 1). */
export function rmsNorm(x: Value, weight: Value | null, eps: number, weightOffset = 0): Value {
  const ms = reduceMean(square(x), [-1], true);
  let y = mul(x, reciprocal(sqrt(add(ms, eps))));
  if (weight) y = mul(y, weightOffset ? add(weight, weightOffset) : weight);
  return y;
}

/**
 * Fused multi-head attention (onnxruntime's com.microsoft MultiHeadAttention kernel):
 * q, k, v are [B, T, H·hd] with heads contiguous per position; `bias` [B|1, H|1, T, T] is added to
 * the scaled scores (0 / large negative for masking, plus ALiBi). Forward only: it has no gradient
 * rule, so graphs that differentiate through attention use the decomposed form.
 */
export function fusedAttention(q: Value, k: Value, v: Value, bias: Value, numHeads: number, scale: number): Value {
  const g = q.graph;
  requireFloat('fused_attention', q, k, v, bias);
  if (q.rank !== 3 || !sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape)) g.fail('fused_attention', `q, k, v must share one [B, T, H·hd] shape: ${q.describe()}, ${k.describe()}, ${v.describe()}`);
  const [B, T, D] = q.shape as [number, number, number];
  if (D % numHeads !== 0) g.fail('fused_attention', `${D} features do not split into ${numHeads} heads`);
  if (bias.rank !== 4 || (bias.shape[0] !== 1 && bias.shape[0] !== B) || (bias.shape[1] !== 1 && bias.shape[1] !== numHeads) || bias.shape[2] !== T || bias.shape[3] !== T) {
    g.fail('fused_attention', `bias ${bias.describe()} must be [${B}|1, ${numHeads}|1, ${T}, ${T}]`);
  }
  return g.add('fused_attention', [q, k, v, bias], { numHeads, scale }, q.shape, q.dtype);
}

/** Softmax over the last axis after adding an additive mask (0 or a large negative number). */
export function maskedSoftmax(scores: Value, additiveMask: Value | null): Value {
  return softmax(additiveMask ? add(scores, additiveMask) : scores, -1);
}
