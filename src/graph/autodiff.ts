/**
 * Reverse-mode automatic differentiation over the op set: `gradients(y, wrt)` appends the backward
 * pass to the same graph, so forward and backward run as one onnxruntime session. Primitives bring
 * their own VJPs (primitives.ts); a fused op is differentiated through its decomposition (fused.ts),
 * unless it gives a closed form.
 */
import { sameShape, type Value } from './graph.js';
import type { FusedDef, FusedName } from './op-definition.js';
import { decomposition, definitionOf, isFused } from './op-set.js';
import * as op from './ops.js';

export { unbroadcast } from './primitives.js';

/** Gradients of a value's inputs, one entry per input (null: none), or null when the value carries no gradient. */
function inputGradients(v: Value, gv: Value, needed: (x: Value) => boolean): readonly (Value | null)[] | null {
  if (isFused(v)) {
    const def = definitionOf(v) as FusedDef<FusedName>;
    if (def.vjp) return def.vjp(v, gv);
    const d = decomposition(v);
    // Only the decomposition's own values are swept; the fused value's inputs are its leaves.
    const inner = v.graph.values.slice(d.firstId, d.output.id + 1);
    const leaves = v.inputs.filter(needed);
    const grads = backprop(d.output, gv, leaves, inner);
    // An input used twice gets its whole gradient once.
    return v.inputs.map((x, i) => (v.inputs.indexOf(x) === i ? (grads.get(x.id) ?? null) : null));
  }
  const def = definitionOf(v);
  if (def.tier !== 'primitive' || def.vjp === 'none') return null;
  return (def.vjp as (y: Value, gy: Value) => readonly (Value | null)[])(v, gv);
}

/**
 * Sweeps `candidates` (in graph order, ending with `y`) backwards from `y` with gradient `seed`,
 * and returns the accumulated gradient of every value that depends on a leaf.
 */
function backprop(y: Value, seed: Value, leaves: readonly Value[], candidates: readonly Value[]): Map<number, Value> {
  const g = y.graph;
  // Forward sweep: which values depend on any leaf (only those need gradients).
  const needs = new Set(leaves.map((v) => v.id));
  const order: Value[] = [];
  for (const v of candidates) {
    if (v.id > y.id) break;
    if (needs.has(v.id) || v.inputs.some((i) => needs.has(i.id))) {
      needs.add(v.id);
      order.push(v);
    }
  }
  const grads = new Map<number, Value>();
  const accumulate = (v: Value, gv: Value): void => {
    const prev = grads.get(v.id);
    grads.set(v.id, prev ? op.add(prev, gv) : gv);
  };
  accumulate(y, seed);
  const needed = (x: Value): boolean => needs.has(x.id);
  for (const v of order.reverse()) {
    const gv = grads.get(v.id);
    if (!gv || !v.inputs.some(needed)) continue;
    const inGrads = g.scope(`grad(${v.scope || v.op})`, () => inputGradients(v, gv, needed));
    if (!inGrads) continue;
    v.inputs.forEach((inp, i) => {
      const gi = inGrads[i];
      if (gi && needed(inp)) accumulate(inp, gi);
    });
  }
  return grads;
}

/**
 * Gradients of `y` with respect to each of `wrt`. `seed` is dL/dy (defaults to ones, so for a scalar
 * loss this is the ordinary gradient). An input that `y` does not depend on gets a zero gradient.
 */
export function gradients(y: Value, wrt: readonly Value[], seed?: Value): Value[] {
  const g = y.graph;
  if (seed && !sameShape(seed.shape, y.shape)) g.fail('gradients', `seed ${seed.describe()} must have the shape of ${y.describe()}`);
  const grads = backprop(y, seed ?? op.expand(op.scalar(g, 1, y.dtype), y.shape), wrt, g.values.slice(0, y.id + 1));
  return wrt.map((w) => grads.get(w.id) ?? op.expand(op.scalar(g, 0, w.dtype), w.shape));
}
