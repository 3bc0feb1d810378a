/**
 * The op set: one definition per op name. `satisfies OpTable` makes a missing op, or an op without a
 * shape rule, gradient or lowering, a compile error.
 */
import type { Graph, Value } from './graph.js';
import { FUSED } from './fused.js';
import type { FusedDef, FusedName, OpAttrs, OpDef, OpName, OpTable } from './op-definition.js';
import { PRIMITIVES } from './primitives.js';

export const OPS = { ...PRIMITIVES, ...FUSED } satisfies OpTable;

/** The definition of `v`'s op kind. */
export function definitionOf<N extends OpName>(v: Value<N>): OpDef<N> {
  // TypeScript cannot index a mapped type with a generic key and keep the correlation.
  return (OPS as OpTable)[v.op as OpName] as unknown as OpDef<N>;
}

export function isFused(v: Value): v is Value<FusedName> {
  return definitionOf(v).tier === 'fused';
}

/** Appends an op to `g`, with shape and dtype from its shape rule (which reports bad inputs). */
export function emit<N extends OpName>(g: Graph, opName: N, inputs: readonly Value[], attrs: OpAttrs[N]): Value<N> {
  const rule = (OPS as OpTable)[opName as OpName].shape as unknown as OpDef<N>['shape'];
  if (rule === 'declared') throw new Error(`${opName} values are declared with Graph.input or op.constant`);
  const { shape, dtype } = rule(inputs, attrs as never, (message) => g.fail(opName, message));
  return g.add(opName, inputs, attrs, shape, dtype);
}

export interface Decomposition {
  readonly output: Value;
  /** Values with ids from here to `output.id` were built by the decomposition. */
  readonly firstId: number;
}

const decompositions = new WeakMap<Value, Decomposition>();

/**
 * The decomposition of a fused value, built once in its graph and shared by the lowering (where the
 * kernel does not apply) and by autodiff (which differentiates it, recomputing what the kernel computed).
 */
export function decomposition(v: Value<FusedName>): Decomposition {
  let d = decompositions.get(v);
  if (!d) {
    const g = v.graph;
    const firstId = g.values.length;
    const def = definitionOf(v) as FusedDef<FusedName>;
    const output = g.scope(`${v.op}#${v.id}`, () => def.decompose(v.inputs, v.attrs));
    if (!(output.shape.length === v.shape.length && output.shape.every((n, i) => n === v.shape[i])) || output.dtype !== v.dtype) {
      throw new Error(`${v.describe()}: its decomposition gives ${output.describe()}`);
    }
    d = { output, firstId };
    decompositions.set(v, d);
  }
  return d;
}
