/**
 * Reverse-mode automatic differentiation over the op set: `gradients(y, wrt)` appends the backward
 * pass to the same graph, so forward and backward run as one onnxruntime session.
 */
import { sameShape, type Value } from './graph.js';
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

type Vjp = (y: Value, gy: Value) => (Value | null)[];

const rules: Record<string, Vjp> = {
  add: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape), unbroadcast(gy, y.inputs[1]!.shape)],
  sub: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape), unbroadcast(op.neg(gy), y.inputs[1]!.shape)],
  mul: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    return [unbroadcast(op.mul(gy, b), a.shape), unbroadcast(op.mul(gy, a), b.shape)];
  },
  div: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    return [unbroadcast(op.div(gy, b), a.shape), unbroadcast(op.neg(op.div(op.mul(gy, y), b)), b.shape)];
  },
  pow: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    const da = op.mul(gy, op.mul(b, op.pow(a, op.sub(b, 1))));
    const db = op.mul(gy, op.mul(y, op.log(a)));
    return [unbroadcast(da, a.shape), unbroadcast(db, b.shape)];
  },
  max: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    const fromB = op.greater(b, a); // ties go to a
    return [unbroadcast(op.where(fromB, 0, gy), a.shape), unbroadcast(op.where(fromB, gy, 0), b.shape)];
  },
  min: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    const fromB = op.less(b, a); // ties go to a
    return [unbroadcast(op.where(fromB, 0, gy), a.shape), unbroadcast(op.where(fromB, gy, 0), b.shape)];
  },
  neg: (_y, gy) => [op.neg(gy)],
  exp: (y, gy) => [op.mul(gy, y)],
  log: (y, gy) => [op.div(gy, y.inputs[0]!)],
  sqrt: (y, gy) => [op.div(op.mul(gy, 0.5), y)],
  tanh: (y, gy) => [op.mul(gy, op.sub(op.scalar(y.graph, 1, y.dtype), op.square(y)))],
  erf: (y, gy) => {
    const x = y.inputs[0]!;
    return [op.mul(gy, op.mul(op.exp(op.neg(op.square(x))), 2 / Math.sqrt(Math.PI)))];
  },
  relu: (y, gy) => [op.where(op.greater(y.inputs[0]!, 0), gy, 0)],
  sigmoid: (y, gy) => [op.mul(gy, op.mul(y, op.sub(op.scalar(y.graph, 1, y.dtype), y)))],
  abs: (y, gy) => [op.where(op.less(y.inputs[0]!, 0), op.neg(gy), gy)],
  reciprocal: (y, gy) => [op.neg(op.mul(gy, op.square(y)))],
  identity: (_y, gy) => [gy],
  stop_gradient: () => [null],
  reduce_sum: (y, gy) => [expandReduced(gy, y.inputs[0]!, y.attrs.axes as number[], !!y.attrs.keepdims)],
  reduce_mean: (y, gy) => {
    const x = y.inputs[0]!;
    const axes = y.attrs.axes as number[];
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    return [op.div(expandReduced(gy, x, axes, !!y.attrs.keepdims), count)];
  },
  reduce_max: (y, gy) => {
    const x = y.inputs[0]!;
    const axes = y.attrs.axes as number[];
    const yk = expandReduced(y, x, axes, !!y.attrs.keepdims);
    return [op.where(op.equal(x, yk), expandReduced(gy, x, axes, !!y.attrs.keepdims), 0)];
  },
  reduce_logsumexp: (y, gy) => {
    const x = y.inputs[0]!;
    const axes = y.attrs.axes as number[];
    const keep = !!y.attrs.keepdims;
    return [op.mul(expandReduced(gy, x, axes, keep), op.exp(op.sub(x, expandReduced(y, x, axes, keep))))];
  },
  softmax: (y, gy) => {
    const axis = y.attrs.axis as number;
    return [op.mul(y, op.sub(gy, op.reduceSum(op.mul(gy, y), [axis], true)))];
  },
  log_softmax: (y, gy) => {
    const axis = y.attrs.axis as number;
    return [op.sub(gy, op.mul(op.exp(y), op.reduceSum(gy, [axis], true)))];
  },
  matmul: (y, gy) => {
    const [a, b] = y.inputs as [Value, Value];
    return [unbroadcast(op.matmul(gy, op.transposeLast2(b)), a.shape), unbroadcast(op.matmul(op.transposeLast2(a), gy), b.shape)];
  },
  gemm: (y, gy) => {
    const [a, b, c] = y.inputs as [Value, Value, Value | undefined];
    const { transA, transB } = y.attrs as { transA: boolean; transB: boolean };
    const alpha = y.attrs.alpha as number;
    let da: Value;
    let db: Value;
    if (!transA && !transB) {
      da = op.gemm(gy, b, null, { transB: true, alpha });
      db = op.gemm(a, gy, null, { transA: true, alpha });
    } else if (!transA && transB) {
      da = op.gemm(gy, b, null, { alpha });
      db = op.gemm(gy, a, null, { transA: true, alpha });
    } else if (transA && !transB) {
      da = op.gemm(b, gy, null, { transB: true, alpha });
      db = op.gemm(a, gy, null, { alpha });
    } else {
      da = op.gemm(b, gy, null, { transA: true, transB: true, alpha });
      db = op.gemm(gy, a, null, { transA: true, transB: true, alpha });
    }
    return c ? [da, db, unbroadcast(gy, c.shape)] : [da, db];
  },
  gather: (y, gy) => {
    const [data, idx] = y.inputs as [Value, Value];
    if ((y.attrs.axis as number) !== 0) throw new Error(`autodiff: gather gradient is only implemented for axis 0 (${y.describe()})`);
    return [op.scatterAddRows(data.shape[0]!, idx, gy), null];
  },
  gather_elements: (y, gy) => {
    const [data, idx] = y.inputs as [Value, Value];
    const zeros = op.expand(op.scalar(y.graph, 0, data.dtype), data.shape);
    const scattered = y.graph.add('scatter_elements_add', [zeros, idx, gy], { axis: y.attrs.axis as number }, data.shape, data.dtype);
    return [scattered, null];
  },
  reshape: (y, gy) => [op.reshape(gy, y.inputs[0]!.shape)],
  transpose: (y, gy) => {
    const perm = y.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(gy, inv)];
  },
  slice: (y, gy) => {
    const x = y.inputs[0]!;
    const axis = y.attrs.axis as number;
    const pads = x.shape.map((d, i) => (i === axis ? [y.attrs.start as number, d - (y.attrs.end as number)] : [0, 0]) as [number, number]);
    return [op.pad(gy, pads)];
  },
  pad: (y, gy) => {
    const x = y.inputs[0]!;
    const pads = y.attrs.pads as number[];
    let g = gy;
    x.shape.forEach((d, i) => {
      g = op.slice(g, i, pads[i]!, pads[i]! + d);
    });
    return [g];
  },
  concat: (y, gy) => {
    const axis = y.attrs.axis as number;
    let start = 0;
    return y.inputs.map((x) => {
      const s = op.slice(gy, axis, start, start + x.shape[axis]!);
      start += x.shape[axis]!;
      return s;
    });
  },
  expand: (y, gy) => [unbroadcast(gy, y.inputs[0]!.shape)],
  where: (y, gy) => {
    const [c, a, b] = y.inputs as [Value, Value, Value];
    return [null, unbroadcast(op.where(c, gy, 0), a.shape), unbroadcast(op.where(c, 0, gy), b.shape)];
  },
  cast: (y, gy) => {
    const x = y.inputs[0]!;
    return [x.dtype === 'float32' || x.dtype === 'float64' ? op.cast(gy, x.dtype) : null];
  },
  fused_attention: (y) => {
    throw new Error(`autodiff: ${y.describe()} is the fused forward-only attention kernel; build the model graph with fusedAttention: false to differentiate through attention`);
  },
  layer_norm: (y, gy) => {
    const [x, w, b] = y.inputs as [Value, Value, Value | undefined];
    const eps = y.attrs.eps as number;
    const lead = x.shape.slice(0, -1).map((_, i) => i);
    const xc = op.sub(x, op.reduceMean(x, [-1], true));
    const rstd = op.reciprocal(op.sqrt(op.add(op.reduceMean(op.square(xc), [-1], true), eps)));
    const xhat = op.mul(xc, rstd);
    const gxhat = op.mul(gy, w);
    const dx = op.mul(rstd, op.sub(op.sub(gxhat, op.reduceMean(gxhat, [-1], true)), op.mul(xhat, op.reduceMean(op.mul(gxhat, xhat), [-1], true))));
    const dw = lead.length ? op.reduceSum(op.mul(gy, xhat), lead) : op.mul(gy, xhat);
    const grads: (Value | null)[] = [dx, dw];
    if (b) grads.push(lead.length ? op.reduceSum(gy, lead) : gy);
    return grads;
  },
};

const NON_DIFFERENTIABLE = new Set(['input', 'const', 'greater', 'less', 'equal', 'top_k', 'output_of', 'arg_max', 'scatter_nd_add', 'scatter_elements_add']);

/**
 * Gradients of `y` with respect to each of `wrt`. `seed` is dL/dy (defaults to ones, so for a scalar
 * loss this is the ordinary gradient). An input that `y` does not depend on gets a zero gradient.
 */
export function gradients(y: Value, wrt: readonly Value[], seed?: Value): Value[] {
  const g = y.graph;
  const targets = new Set(wrt.map((v) => v.id));
  // Forward sweep: which values depend on any target (only those need gradients).
  const needs = new Set<number>();
  for (const v of g.values) {
    if (v.id > y.id) break;
    if (targets.has(v.id) || v.inputs.some((i) => needs.has(i.id))) needs.add(v.id);
  }
  const grads = new Map<number, Value>();
  const accumulate = (v: Value, gv: Value): void => {
    const prev = grads.get(v.id);
    grads.set(v.id, prev ? op.add(prev, gv) : gv);
  };
  accumulate(y, seed ?? op.expand(op.scalar(g, 1, y.dtype), y.shape));
  if (seed && !sameShape(seed.shape, y.shape)) g.fail('gradients', `seed ${seed.describe()} must have the shape of ${y.describe()}`);

  const order = g.values.filter((v) => v.id <= y.id && needs.has(v.id)).reverse();
  for (const v of order) {
    const gv = grads.get(v.id);
    if (!gv || NON_DIFFERENTIABLE.has(v.op)) continue;
    if (!v.inputs.some((i) => needs.has(i.id))) continue;
    const rule = rules[v.op];
    if (!rule) throw new Error(`autodiff: no gradient rule for op '${v.op}' (${v.describe()})`);
    const inGrads = g.scope(`grad(${v.scope || v.op})`, () => rule(v, gv));
    v.inputs.forEach((inp, i) => {
      const gi = inGrads[i];
      if (gi && needs.has(inp.id)) accumulate(inp, gi);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? op.expand(op.scalar(g, 0, w.dtype), w.shape));
}

