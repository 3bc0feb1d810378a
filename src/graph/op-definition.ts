/**
 * What an op is: the attribute type of every op kind, and the shape of its one definition (shape rule,
 * gradient, ONNX lowering). The definitions themselves are in primitives.ts and fused.ts and are
 * gathered in op-set.ts, where a missing definition or a missing rule is a type error.
 *
 * Two tiers:
 * - a **primitive** has its own vector-Jacobian product (VJP) and its own ONNX node;
 * - a **fused** op is defined by a decomposition into other ops. Autodiff differentiates the
 *   decomposition (unless the op gives a cheaper closed-form VJP), and the lowering emits a fused
 *   kernel where one applies, else the decomposition itself.
 */
import type { ConstData, DType, Value } from './graph.js';
import type { OnnxAttr, OnnxTensor } from './onnx-proto.js';

type NoAttrs = Record<string, never>;
interface ReduceAttrs {
  /** Normalised (non-negative), sorted, distinct. */
  axes: number[];
  keepdims: boolean;
}

/** Attributes of each primitive op kind. */
export interface PrimitiveAttrs {
  input: { name: string };
  const: { data: ConstData };
  add: NoAttrs;
  sub: NoAttrs;
  mul: NoAttrs;
  div: NoAttrs;
  pow: NoAttrs;
  max: NoAttrs;
  min: NoAttrs;
  greater: NoAttrs;
  less: NoAttrs;
  equal: NoAttrs;
  neg: NoAttrs;
  exp: NoAttrs;
  log: NoAttrs;
  sqrt: NoAttrs;
  tanh: NoAttrs;
  erf: NoAttrs;
  relu: NoAttrs;
  sigmoid: NoAttrs;
  abs: NoAttrs;
  reciprocal: NoAttrs;
  identity: NoAttrs;
  stop_gradient: NoAttrs;
  reduce_sum: ReduceAttrs;
  reduce_mean: ReduceAttrs;
  reduce_max: ReduceAttrs;
  reduce_logsumexp: ReduceAttrs;
  matmul: NoAttrs;
  gather: { axis: number };
  gather_elements: { axis: number };
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  slice: { axis: number; start: number; end: number };
  concat: { axis: number };
  expand: { shape: number[] };
  /** ONNX order: all befores, then all afters. */
  pad: { pads: number[] };
  where: NoAttrs;
  cast: { to: DType };
  scatter_nd_add: NoAttrs;
  scatter_elements_add: { axis: number };
  top_k: { k: number };
  /** Output `index` of a multi-output node (its only input). */
  output_of: { index: number };
  arg_max: { axis: number; keepdims: boolean };
}

/** Attributes of each fused op kind. */
export interface FusedAttrs {
  softmax: { axis: number };
  log_softmax: { axis: number };
  gemm: { transA: boolean; transB: boolean; alpha: number };
  layer_norm: { eps: number };
  rms_norm: { eps: number; weightOffset: number };
  attention: { numHeads: number; scale: number; softcap: number | null };
  gelu_tanh: NoAttrs;
}

export type PrimitiveName = keyof PrimitiveAttrs;
export type FusedName = keyof FusedAttrs;
export type OpAttrs = PrimitiveAttrs & FusedAttrs;
export type OpName = keyof OpAttrs;

/** Output shape and dtype; a shape rule reports bad inputs through `fail` (a GraphShapeError naming op and scope). */
export interface Signature {
  shape: readonly number[];
  dtype: DType;
}
export type ShapeRule<N extends OpName> = (inputs: readonly Value[], attrs: OpAttrs[N], fail: (message: string) => never) => Signature;

/** Gradients of the inputs given the gradient `gy` of the output `y` (null: no gradient for that input). */
export type Vjp<N extends OpName> = (y: Value<N>, gy: Value) => readonly (Value | null)[];

/** How a lowering writes ONNX for one value. */
export interface LowerContext {
  /** ONNX names of the value's inputs, in order. */
  readonly inputs: readonly string[];
  /** The ONNX name the value must be produced under. */
  readonly output: string;
  node(opType: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>, options?: { domain?: string; outputs?: readonly string[] }): void;
  /** An int64 initializer holding `values` (axes, shapes, pads); returns its name. */
  ints(values: readonly number[]): string;
  initializer(tensor: OnnxTensor): void;
  graphInput(name: string, dtype: DType, dims: readonly number[]): void;
  /** Emits the value's decomposition (fused ops only) in place of a kernel. */
  decomposition(): void;
}
export type Lowering<N extends OpName> = (v: Value<N>, ctx: LowerContext) => void;

export interface PrimitiveDef<N extends PrimitiveName> {
  readonly tier: 'primitive';
  /** 'declared': a leaf, whose shape its creator gives (Graph.input, op.constant). */
  readonly shape: ShapeRule<N> | 'declared';
  /** 'none': the output carries no gradient (leaves, comparisons, selections, scatters). */
  readonly vjp: Vjp<N> | 'none';
  readonly lower: Lowering<N>;
}

export interface FusedDef<N extends FusedName> {
  readonly tier: 'fused';
  readonly shape: ShapeRule<N>;
  /** The op in terms of other ops: the meaning of the op, what autodiff differentiates and the fallback lowering. */
  readonly decompose: (inputs: readonly Value[], attrs: OpAttrs[N]) => Value;
  /** A closed-form VJP, only where it is much cheaper than differentiating the decomposition. */
  readonly vjp?: Vjp<N>;
  /** Emits the fused kernel, or calls `ctx.decomposition()` where the kernel does not apply. */
  readonly lower: Lowering<N>;
}

export type OpDef<N extends OpName> = N extends PrimitiveName ? PrimitiveDef<N> : N extends FusedName ? FusedDef<N> : never;

/** The registry type: one definition for every op name. */
export type OpTable = { readonly [N in OpName]: OpDef<N> };
