/**
 * The primitive ops: each one's shape rule, vector-Jacobian product and ONNX node. Every VJP is
 * checked against float64 finite differences in test/graph/gradcheck.test.ts.
 */
import { broadcastShapes, sameShape, shapeStr, type DType, type Value } from './graph.js';
import type { LowerContext, Lowering, PrimitiveDef, PrimitiveName, ShapeRule, Signature, Vjp } from './op-definition.js';
import type { OnnxAttr } from './onnx-proto.js';
import * as op from './ops.js';

/** Sums `g` down to `shape`, undoing numpy broadcasting. */
export function unbroadcast(g: Value, shape: readonly number[]): Value {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? op.reduceSum(g, axes, true) : g;
  return op.reshape(summed, shape);
}

/** Re-inserts reduced axes (as size 1) and broadcasts back to the input shape. */
function expandReduced(gy: Value, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const g = keepdims ? gy : op.reshape(gy, keptShape);
  return op.expand(g, x.shape);
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function requireFloat(fail: (m: string) => never, ...xs: readonly Value[]): void {
  for (const x of xs) if (!isFloat(x.dtype)) fail(`expects a float tensor, got ${x.describe()}`);
}

export function requireSameDtype(fail: (m: string) => never, a: Value, b: Value): void {
  if (a.dtype !== b.dtype) fail(`dtype mismatch: ${a.describe()} vs ${b.describe()}`);
}

// ---------------------------------------------------------------- shape rules shared by several ops

const elementwise =
  (resultDtype: 'input' | 'bool'): ShapeRule<PrimitiveName> =>
  ([a, b], _attrs, fail) => {
    requireSameDtype(fail, a!, b!);
    const shape = broadcastShapes(a!.shape, b!.shape);
    if (!shape) return fail(`cannot broadcast ${a!.describe()} with ${b!.describe()}`);
    return { shape, dtype: resultDtype === 'bool' ? 'bool' : a!.dtype };
  };

const sameAsInput =
  (floatOnly: boolean): ShapeRule<PrimitiveName> =>
  ([x], _attrs, fail) => {
    if (floatOnly) requireFloat(fail, x!);
    return { shape: x!.shape, dtype: x!.dtype };
  };

const reduced =
  (floatOnly: boolean): ShapeRule<ReduceName> =>
  ([x], { axes, keepdims }, fail) => {
    if (floatOnly) requireFloat(fail, x!);
    for (const a of axes) if (a < 0 || a >= x!.rank) fail(`axis out of range for ${x!.describe()}: ${axes.join(',')}`);
    const shape: number[] = [];
    x!.shape.forEach((d, i) => {
      if (axes.includes(i)) {
        if (keepdims) shape.push(1);
      } else shape.push(d);
    });
    return { shape, dtype: x!.dtype };
  };

// ---------------------------------------------------------------- lowerings shared by several ops

const intAttr = (value: number): OnnxAttr => ({ kind: 'int', value });
const simple =
  (opType: string): Lowering<PrimitiveName> =>
  (_v, ctx) =>
    ctx.node(opType, ctx.inputs);
type ReduceName = 'reduce_sum' | 'reduce_mean' | 'reduce_max' | 'reduce_logsumexp';
type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'tanh' | 'erf' | 'relu' | 'sigmoid' | 'abs' | 'reciprocal' | 'identity' | 'stop_gradient';

const reduceNode =
  (opType: string): Lowering<ReduceName> =>
  (v, ctx) =>
    ctx.node(opType, [ctx.inputs[0]!, ctx.ints(v.attrs.axes)], { keepdims: intAttr(v.attrs.keepdims ? 1 : 0) });
const withAxis =
  (opType: string): Lowering<'gather' | 'gather_elements' | 'concat'> =>
  (v, ctx) =>
    ctx.node(opType, ctx.inputs, { axis: intAttr(v.attrs.axis) });

const CAST_TO: Record<DType, number> = { float32: 1, float64: 11, int64: 7, bool: 9 };

function lowerConst(v: Value<'const'>, ctx: LowerContext): void {
  const data = v.attrs.data.values;
  ctx.initializer({ name: ctx.output, dtype: v.dtype, dims: v.shape, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

// ---------------------------------------------------------------- the primitive ops

type PrimitiveTable = { readonly [N in PrimitiveName]: PrimitiveDef<N> };

const unary = (lower: string, vjp: Vjp<UnaryName> | 'none', floatOnly = true): PrimitiveDef<UnaryName> => ({
  tier: 'primitive',
  shape: sameAsInput(floatOnly),
  vjp,
  lower: simple(lower),
});

export const PRIMITIVES: PrimitiveTable = {
  input: {
    tier: 'primitive',
    shape: 'declared',
    vjp: 'none',
    lower: (v, ctx) => ctx.graphInput(ctx.output, v.dtype, v.shape),
  },
  const: { tier: 'primitive', shape: 'declared', vjp: 'none', lower: lowerConst },

  add: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape), unbroadcast(gy, y.inputs[1]!.shape)],
    lower: simple('Add'),
  },
  sub: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape), unbroadcast(op.neg(gy), y.inputs[1]!.shape)],
    lower: simple('Sub'),
  },
  mul: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      return [unbroadcast(op.mul(gy, b), a.shape), unbroadcast(op.mul(gy, a), b.shape)];
    },
    lower: simple('Mul'),
  },
  div: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      return [unbroadcast(op.div(gy, b), a.shape), unbroadcast(op.neg(op.div(op.mul(gy, y), b)), b.shape)];
    },
    lower: simple('Div'),
  },
  pow: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      const da = op.mul(gy, op.mul(b, op.pow(a, op.sub(b, 1))));
      const db = op.mul(gy, op.mul(y, op.log(a)));
      return [unbroadcast(da, a.shape), unbroadcast(db, b.shape)];
    },
    lower: simple('Pow'),
  },
  max: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      const fromB = op.greater(b, a); // ties go to a
      return [unbroadcast(op.where(fromB, 0, gy), a.shape), unbroadcast(op.where(fromB, gy, 0), b.shape)];
    },
    lower: simple('Max'),
  },
  min: {
    tier: 'primitive',
    shape: elementwise('input'),
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      const fromB = op.less(b, a); // ties go to a
      return [unbroadcast(op.where(fromB, 0, gy), a.shape), unbroadcast(op.where(fromB, gy, 0), b.shape)];
    },
    lower: simple('Min'),
  },
  greater: { tier: 'primitive', shape: elementwise('bool'), vjp: 'none', lower: simple('Greater') },
  less: { tier: 'primitive', shape: elementwise('bool'), vjp: 'none', lower: simple('Less') },
  equal: { tier: 'primitive', shape: elementwise('bool'), vjp: 'none', lower: simple('Equal') },

  neg: unary('Neg', (_y, gy) => [op.neg(gy)], false),
  exp: unary('Exp', (y, gy) => [op.mul(gy, y)]),
  log: unary('Log', (y, gy) => [op.div(gy, y.inputs[0]!)]),
  sqrt: unary('Sqrt', (y, gy) => [op.div(op.mul(gy, 0.5), y)]),
  tanh: unary('Tanh', (y, gy) => [op.mul(gy, op.sub(op.scalar(y.graph, 1, y.dtype), op.square(y)))]),
  erf: unary('Erf', (y, gy) => [op.mul(gy, op.mul(op.exp(op.neg(op.square(y.inputs[0]!))), 2 / Math.sqrt(Math.PI)))]),
  relu: unary('Relu', (y, gy) => [op.where(op.greater(y.inputs[0]!, 0), gy, 0)]),
  sigmoid: unary('Sigmoid', (y, gy) => [op.mul(gy, op.mul(y, op.sub(op.scalar(y.graph, 1, y.dtype), y)))]),
  abs: unary('Abs', (y, gy) => [op.where(op.less(y.inputs[0]!, 0), op.neg(gy), gy)], false),
  reciprocal: unary('Reciprocal', (y, gy) => [op.neg(op.mul(gy, op.square(y)))]),
  identity: unary('Identity', (_y, gy) => [gy], false),
  /** Identity in the forward pass; autodiff treats it as a constant. */
  stop_gradient: unary('Identity', () => [null], false),

  reduce_sum: {
    tier: 'primitive',
    shape: reduced(false),
    vjp: (y, gy) => [expandReduced(gy, y.inputs[0]!, y.attrs.axes, y.attrs.keepdims)],
    lower: reduceNode('ReduceSum'),
  },
  reduce_mean: {
    tier: 'primitive',
    shape: reduced(true),
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      const count = y.attrs.axes.reduce((n, a) => n * x.shape[a]!, 1);
      return [op.div(expandReduced(gy, x, y.attrs.axes, y.attrs.keepdims), count)];
    },
    lower: reduceNode('ReduceMean'),
  },
  reduce_max: {
    tier: 'primitive',
    shape: reduced(false),
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      const { axes, keepdims } = y.attrs;
      const yk = expandReduced(y, x, axes, keepdims);
      return [op.where(op.equal(x, yk), expandReduced(gy, x, axes, keepdims), 0)];
    },
    lower: reduceNode('ReduceMax'),
  },
  reduce_logsumexp: {
    tier: 'primitive',
    shape: reduced(true),
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      const { axes, keepdims } = y.attrs;
      return [op.mul(expandReduced(gy, x, axes, keepdims), op.exp(op.sub(x, expandReduced(y, x, axes, keepdims))))];
    },
    lower: reduceNode('ReduceLogSumExp'),
  },

  matmul: {
    tier: 'primitive',
    shape: ([a, b], _attrs, fail) => {
      requireFloat(fail, a!, b!);
      requireSameDtype(fail, a!, b!);
      if (a!.rank < 2 || b!.rank < 2) fail(`operands must have rank >= 2: ${a!.describe()} @ ${b!.describe()}`);
      const m = a!.shape[a!.rank - 2]!;
      const k = a!.shape[a!.rank - 1]!;
      const k2 = b!.shape[b!.rank - 2]!;
      const n = b!.shape[b!.rank - 1]!;
      if (k !== k2) fail(`inner dimensions differ: ${a!.describe()} @ ${b!.describe()}`);
      const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
      if (!batch) return fail(`batch dimensions do not broadcast: ${a!.describe()} @ ${b!.describe()}`);
      return { shape: [...batch, m, n], dtype: a!.dtype };
    },
    vjp: (y, gy) => {
      const [a, b] = y.inputs as [Value, Value];
      return [unbroadcast(op.matmul(gy, op.transposeLast2(b)), a.shape), unbroadcast(op.matmul(op.transposeLast2(a), gy), b.shape)];
    },
    lower: simple('MatMul'),
  },

  gather: {
    tier: 'primitive',
    shape: ([data, indices], { axis }, fail) => {
      if (indices!.dtype !== 'int64') fail(`indices must be int64, got ${indices!.describe()}`);
      return { shape: [...data!.shape.slice(0, axis), ...indices!.shape, ...data!.shape.slice(axis + 1)], dtype: data!.dtype };
    },
    vjp: (y, gy) => {
      const [data, idx] = y.inputs as [Value, Value];
      if (y.attrs.axis !== 0) throw new Error(`autodiff: gather gradient is only implemented for axis 0 (${y.describe()})`);
      return [op.scatterAddRows(data.shape[0]!, idx, gy), null];
    },
    lower: withAxis('Gather'),
  },
  gather_elements: {
    tier: 'primitive',
    shape: ([data, indices], { axis }, fail) => {
      if (indices!.dtype !== 'int64') fail(`indices must be int64, got ${indices!.describe()}`);
      if (indices!.rank !== data!.rank || axis < 0 || axis >= data!.rank) fail(`indices ${indices!.describe()} do not index ${data!.describe()} on axis ${axis}`);
      return { shape: indices!.shape, dtype: data!.dtype };
    },
    vjp: (y, gy) => {
      const [data, idx] = y.inputs as [Value, Value];
      const zeros = op.expand(op.scalar(y.graph, 0, data.dtype), data.shape);
      return [op.scatterElementsAdd(zeros, idx, gy, y.attrs.axis), null];
    },
    lower: withAxis('GatherElements'),
  },
  reshape: {
    tier: 'primitive',
    shape: ([x], { shape }, fail) => {
      if (shape.reduce((a, b) => a * b, 1) !== x!.size) fail(`cannot reshape ${x!.describe()} (${x!.size} elements) to ${shapeStr(shape)}`);
      return { shape, dtype: x!.dtype };
    },
    vjp: (y, gy) => [op.reshape(gy, y.inputs[0]!.shape)],
    lower: (v, ctx) => ctx.node('Reshape', [ctx.inputs[0]!, ctx.ints(v.attrs.shape)]),
  },
  transpose: {
    tier: 'primitive',
    shape: ([x], { perm }, fail) => {
      const sorted = [...perm].sort((a, b) => a - b);
      if (perm.length !== x!.rank || sorted.some((p, i) => p !== i)) fail(`bad permutation [${perm.join(', ')}] for ${x!.describe()}`);
      return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
    },
    vjp: (y, gy) => {
      const perm = y.attrs.perm;
      return [op.transpose(gy, perm.map((_, i) => perm.indexOf(i)))];
    },
    lower: (v, ctx) => ctx.node('Transpose', ctx.inputs, { perm: { kind: 'ints', value: v.attrs.perm } }),
  },
  slice: {
    tier: 'primitive',
    shape: ([x], { axis, start, end }, fail) => {
      const n = x!.shape[axis];
      if (n === undefined || start < 0 || end > n || start > end) fail(`cannot take [${start}, ${end}) on axis ${axis} of ${x!.describe()}`);
      const shape = [...x!.shape];
      shape[axis] = end - start;
      return { shape, dtype: x!.dtype };
    },
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      const { axis, start, end } = y.attrs;
      const pads = x.shape.map((d, i): [number, number] => (i === axis ? [start, d - end] : [0, 0]));
      return [op.pad(gy, pads)];
    },
    lower: (v, ctx) => ctx.node('Slice', [ctx.inputs[0]!, ctx.ints([v.attrs.start]), ctx.ints([v.attrs.end]), ctx.ints([v.attrs.axis])]),
  },
  concat: {
    tier: 'primitive',
    shape: (xs, { axis }, fail) => {
      const base = xs[0]!;
      let total = 0;
      for (const x of xs) {
        requireSameDtype(fail, base, x);
        if (x.rank !== base.rank || x.shape.some((d, i) => i !== axis && d !== base.shape[i])) fail(`shapes differ off axis ${axis}: ${base.describe()} vs ${x.describe()}`);
        total += x.shape[axis]!;
      }
      const shape = [...base.shape];
      shape[axis] = total;
      return { shape, dtype: base.dtype };
    },
    vjp: (y, gy) => {
      const axis = y.attrs.axis;
      let start = 0;
      return y.inputs.map((x) => {
        const s = op.slice(gy, axis, start, start + x.shape[axis]!);
        start += x.shape[axis]!;
        return s;
      });
    },
    lower: withAxis('Concat'),
  },
  expand: {
    tier: 'primitive',
    shape: ([x], { shape }, fail) => {
      const out = broadcastShapes(x!.shape, shape);
      if (!out || !sameShape(out, shape)) fail(`cannot broadcast ${x!.describe()} to ${shapeStr(shape)}`);
      return { shape, dtype: x!.dtype };
    },
    vjp: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape)],
    lower: (v, ctx) => ctx.node('Expand', [ctx.inputs[0]!, ctx.ints(v.attrs.shape)]),
  },
  pad: {
    tier: 'primitive',
    shape: ([x], { pads }, fail) => {
      if (pads.length !== 2 * x!.rank) fail(`need ${x!.rank} pad pairs for ${x!.describe()}`);
      return { shape: x!.shape.map((d, i) => d + pads[i]! + pads[i + x!.rank]!), dtype: x!.dtype };
    },
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      const pads = y.attrs.pads;
      let g = gy;
      x.shape.forEach((d, i) => {
        g = op.slice(g, i, pads[i]!, pads[i]! + d);
      });
      return [g];
    },
    lower: (v, ctx) => ctx.node('Pad', [ctx.inputs[0]!, ctx.ints(v.attrs.pads)]),
  },
  where: {
    tier: 'primitive',
    shape: ([cond, a, b], _attrs, fail) => {
      if (cond!.dtype !== 'bool') fail(`condition must be bool, got ${cond!.describe()}`);
      requireSameDtype(fail, a!, b!);
      const s1 = broadcastShapes(cond!.shape, a!.shape);
      const shape = s1 && broadcastShapes(s1, b!.shape);
      if (!shape) return fail(`cannot broadcast ${cond!.describe()}, ${a!.describe()}, ${b!.describe()}`);
      return { shape, dtype: a!.dtype };
    },
    vjp: (y, gy) => {
      const [c, a, b] = y.inputs as [Value, Value, Value];
      return [null, unbroadcast(op.where(c, gy, 0), a.shape), unbroadcast(op.where(c, 0, gy), b.shape)];
    },
    lower: simple('Where'),
  },
  cast: {
    tier: 'primitive',
    shape: ([x], { to }) => ({ shape: x!.shape, dtype: to }),
    vjp: (y, gy) => {
      const x = y.inputs[0]!;
      return [isFloat(x.dtype) ? op.cast(gy, x.dtype) : null];
    },
    lower: (v, ctx) => ctx.node('Cast', ctx.inputs, { to: intAttr(CAST_TO[v.attrs.to]) }),
  },
  scatter_nd_add: {
    tier: 'primitive',
    shape: ([data, indices], _attrs, fail) => {
      if (indices!.dtype !== 'int64') fail(`indices must be int64, got ${indices!.describe()}`);
      return { shape: data!.shape, dtype: data!.dtype };
    },
    vjp: 'none',
    lower: (_v, ctx) => ctx.node('ScatterND', ctx.inputs, { reduction: { kind: 'string', value: 'add' } }),
  },
  scatter_elements_add: {
    tier: 'primitive',
    shape: ([data, indices, updates], _attrs, fail) => {
      if (indices!.dtype !== 'int64') fail(`indices must be int64, got ${indices!.describe()}`);
      if (!sameShape(indices!.shape, updates!.shape)) fail(`indices ${indices!.describe()} and updates ${updates!.describe()} differ in shape`);
      return { shape: data!.shape, dtype: data!.dtype };
    },
    vjp: 'none',
    lower: (v, ctx) => ctx.node('ScatterElements', ctx.inputs, { axis: intAttr(v.attrs.axis), reduction: { kind: 'string', value: 'add' } }),
  },
  top_k: {
    tier: 'primitive',
    shape: ([x], { k }, fail) => {
      const n = x!.shape[x!.rank - 1]!;
      if (k < 1 || k > n) fail(`k=${k} out of range for ${x!.describe()}`);
      return { shape: [...x!.shape.slice(0, -1), k], dtype: x!.dtype };
    },
    vjp: 'none',
    lower: (v, ctx) =>
      ctx.node('TopK', [ctx.inputs[0]!, ctx.ints([v.attrs.k])], { axis: intAttr(-1), largest: intAttr(1), sorted: intAttr(1) }, { outputs: [ctx.output, `${ctx.output}_1`] }),
  },
  output_of: {
    tier: 'primitive',
    // top_k's indices are the only second output in the op set.
    shape: ([x]): Signature => ({ shape: x!.shape, dtype: 'int64' }),
    vjp: 'none',
    // Produced by the multi-output node itself (see top_k), under the name `${input}_${index}`.
    lower: () => undefined,
  },
  arg_max: {
    tier: 'primitive',
    shape: ([x], { axis, keepdims }) => ({ shape: keepdims ? x!.shape.map((d, i) => (i === axis ? 1 : d)) : x!.shape.filter((_, i) => i !== axis), dtype: 'int64' }),
    vjp: 'none',
    lower: (v, ctx) => ctx.node('ArgMax', ctx.inputs, { axis: intAttr(v.attrs.axis), keepdims: intAttr(v.attrs.keepdims ? 1 : 0) }),
  },
};
