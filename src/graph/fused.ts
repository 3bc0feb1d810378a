/**
 * The fused ops. Each is defined by its decomposition into other ops (what it means, and what autodiff
 * differentiates), and lowers to one onnxruntime kernel where one applies. Kernel and decomposition are
 * compared in test/graph/fused-ops.test.ts; gradients through each in test/graph/gradcheck.test.ts.
 */
import { broadcastShapes, sameShape, type Value } from './graph.js';
import type { FusedDef, FusedName } from './op-definition.js';
import * as op from './ops.js';
import { requireFloat, requireSameDtype } from './primitives.js';

type FusedTable = { readonly [N in FusedName]: FusedDef<N> };

/** The max along `axis`, as a constant for autodiff: softmaxes are shift-invariant, so it carries no gradient. */
function stableShift(x: Value, axis: number): Value {
  return op.stopGradient(op.reduceMax(x, [axis], true));
}

export const FUSED: FusedTable = {
  softmax: {
    tier: 'fused',
    shape: ([x], _attrs, fail) => {
      requireFloat(fail, x!);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    decompose: ([x], { axis }) => {
      const e = op.exp(op.sub(x!, stableShift(x!, axis)));
      return op.div(e, op.reduceSum(e, [axis], true));
    },
    // One pass over the (often vocabulary-sized) axis instead of differentiating exp, sum and divide.
    vjp: (y, gy) => [op.mul(y, op.sub(gy, op.reduceSum(op.mul(gy, y), [y.attrs.axis], true)))],
    lower: (v, ctx) => ctx.node('Softmax', ctx.inputs, { axis: { kind: 'int', value: v.attrs.axis } }),
  },
  log_softmax: {
    tier: 'fused',
    shape: ([x], _attrs, fail) => {
      requireFloat(fail, x!);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    decompose: ([x], { axis }) => {
      const z = op.sub(x!, stableShift(x!, axis));
      return op.sub(z, op.log(op.reduceSum(op.exp(z), [axis], true)));
    },
    // Lens training differentiates log-softmax over [layers, batch, positions, vocabulary]: the closed
    // form is one pass, the decomposition's derivative several.
    vjp: (y, gy) => [op.sub(gy, op.mul(op.exp(y), op.reduceSum(gy, [y.attrs.axis], true)))],
    lower: (v, ctx) => ctx.node('LogSoftmax', ctx.inputs, { axis: { kind: 'int', value: v.attrs.axis } }),
  },

  gemm: {
    tier: 'fused',
    shape: ([a, b, c], { transA, transB }, fail) => {
      requireFloat(fail, a!, b!);
      requireSameDtype(fail, a!, b!);
      if (a!.rank !== 2 || b!.rank !== 2) fail(`operands must be 2-D: ${a!.describe()}, ${b!.describe()}`);
      const [m, k] = transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
      const [k2, n] = transB ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
      if (k !== k2) fail(`inner dimensions differ: ${a!.describe()}${transA ? 'ᵀ' : ''} @ ${b!.describe()}${transB ? 'ᵀ' : ''}`);
      if (c) {
        requireSameDtype(fail, a!, c);
        const bc = broadcastShapes([m, n], c.shape);
        if (!bc || !sameShape(bc, [m, n])) fail(`bias ${c.describe()} does not broadcast to [${m}, ${n}]`);
      }
      return { shape: [m, n], dtype: a!.dtype };
    },
    decompose: ([a, b, c], { transA, transB, alpha }) => {
      const y = op.matmul(transA ? op.transpose(a!, [1, 0]) : a!, transB ? op.transpose(b!, [1, 0]) : b!);
      const scaled = alpha !== 1 ? op.mul(y, alpha) : y;
      return c ? op.add(scaled, c) : scaled;
    },
    lower: (v, ctx) =>
      ctx.node('Gemm', ctx.inputs, {
        transA: { kind: 'int', value: v.attrs.transA ? 1 : 0 },
        transB: { kind: 'int', value: v.attrs.transB ? 1 : 0 },
        alpha: { kind: 'float', value: v.attrs.alpha },
      }),
  },

  layer_norm: {
    tier: 'fused',
    shape: ([x, ...params], _attrs, fail) => {
      requireFloat(fail, x!);
      const d = x!.shape[x!.rank - 1]!;
      for (const p of params) if (!sameShape(p.shape, [d])) fail(`parameter ${p.describe()} should be [${d}]`);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    decompose: ([x, w, b], { eps }) => {
      const xc = op.sub(x!, op.reduceMean(x!, [-1], true));
      const xhat = op.mul(xc, op.reciprocal(op.sqrt(op.add(op.reduceMean(op.square(xc), [-1], true), eps))));
      const y = op.mul(xhat, w!);
      return b ? op.add(y, b) : y;
    },
    lower: (v, ctx) => ctx.node('LayerNormalization', ctx.inputs, { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: v.attrs.eps } }),
  },

  rms_norm: {
    tier: 'fused',
    shape: ([x, w], _attrs, fail) => {
      requireFloat(fail, x!);
      const d = x!.shape[x!.rank - 1]!;
      if (w && !sameShape(w.shape, [d])) fail(`weight ${w.describe()} should be [${d}]`);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    decompose: ([x, w], { eps, weightOffset }) => {
      const ms = op.reduceMean(op.square(x!), [-1], true);
      const y = op.mul(x!, op.reciprocal(op.sqrt(op.add(ms, eps))));
      return w ? op.mul(y, weightOffset ? op.add(w, weightOffset) : w) : y;
    },
    // Opset 18 has no RMSNormalization, and onnxruntime's contrib kernel rounds differently from the
    // golden-checked primitives: the decomposition is the kernel.
    lower: (_v, ctx) => ctx.decomposition(),
  },

  gelu_tanh: {
    tier: 'fused',
    shape: ([x], _attrs, fail) => {
      requireFloat(fail, x!);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    // GPT-2's gelu_new: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    decompose: ([x]) => {
      const inner = op.mul(op.add(x!, op.mul(op.mul(op.square(x!), x!), 0.044715)), Math.sqrt(2 / Math.PI));
      return op.mul(op.mul(x!, 0.5), op.add(op.tanh(inner), 1));
    },
    // onnxruntime's com.microsoft FastGelu (float32): one pass and one [T, d_ff] buffer instead of the
    // decomposition's nine ops (GPT-2-small at 1024 tokens: 25–37 MiB less arena; the nine ops took 0.14 s of a 3.1 s forward).
    lower: (v, ctx) => (v.dtype === 'float32' ? ctx.node('FastGelu', ctx.inputs, {}, { domain: 'com.microsoft' }) : ctx.decomposition()),
  },

  attention: {
    tier: 'fused',
    shape: ([q, k, v, bias], { numHeads }, fail) => {
      requireFloat(fail, q!, k!, v!, ...(bias ? [bias] : []));
      // Keys/values may be longer than the queries (a key/value cache): k, v [B, Tk, H·hd].
      if (q!.rank !== 3 || k!.rank !== 3 || !sameShape(k!.shape, v!.shape) || k!.shape[0] !== q!.shape[0] || k!.shape[2] !== q!.shape[2]) {
        fail(`q must be [B, T, H·hd] and k, v one [B, Tk, H·hd] shape: ${q!.describe()}, ${k!.describe()}, ${v!.describe()}`);
      }
      const [B, T, D] = q!.shape as [number, number, number];
      const Tk = k!.shape[1]!;
      if (D % numHeads !== 0) fail(`${D} features do not split into ${numHeads} heads`);
      if (bias && (bias.rank !== 4 || (bias.shape[0] !== 1 && bias.shape[0] !== B) || (bias.shape[1] !== 1 && bias.shape[1] !== numHeads) || bias.shape[2] !== T || bias.shape[3] !== Tk)) {
        fail(`bias ${bias.describe()} must be [${B}|1, ${numHeads}|1, ${T}, ${Tk}]`);
      }
      return { shape: q!.shape, dtype: q!.dtype };
    },
    decompose: ([q, k, v, bias], { numHeads: H, scale, softcap }) => {
      const [B, T, D] = q!.shape as [number, number, number];
      const heads = (x: Value): Value => op.reshape(x, [B, x.shape[1]!, H, D / H]);
      // Scaling q (T × hd values) instead of the scores (T × T) is the same product with fewer multiplies.
      const qh = op.transpose(scale !== 1 ? op.mul(heads(q!), scale) : heads(q!), [0, 2, 1, 3]);
      let scores = op.matmul(qh, op.transpose(heads(k!), [0, 2, 3, 1]));
      if (softcap !== null) scores = op.mul(op.tanh(op.div(scores, softcap)), softcap);
      const probs = op.softmax(bias ? op.add(scores, bias) : scores, -1);
      return op.reshape(op.transpose(op.matmul(probs, op.transpose(heads(v!), [0, 2, 1, 3])), [0, 2, 1, 3]), [B, T, D]);
    },
    // onnxruntime's com.microsoft MultiHeadAttention: float32 only, and no logit soft-capping.
    lower: (v, ctx) => {
      if (v.dtype !== 'float32' || v.attrs.softcap !== null) return ctx.decomposition();
      const [q, k, val, bias] = ctx.inputs;
      ctx.node('MultiHeadAttention', [q!, k!, val!, '', '', ...(bias ? [bias] : [])], {
        num_heads: { kind: 'int', value: v.attrs.numHeads },
        scale: { kind: 'float', value: v.attrs.scale },
      }, { domain: 'com.microsoft' });
    },
  },
};
