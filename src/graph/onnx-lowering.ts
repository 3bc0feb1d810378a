/**
 * Lowers a Graph to an ONNX model (opset 18). Only values reachable from the requested outputs are
 * emitted, and only the inputs they use become ONNX graph inputs. Each value is written by its op's
 * lowering (primitives.ts, fused.ts); a fused op without an applicable kernel is written as its
 * decomposition, in its place.
 */
import type { DType, Value } from './graph.js';
import type { LowerContext } from './op-definition.js';
import { decomposition, definitionOf, isFused } from './op-set.js';
import type { OnnxAttr, OnnxModel, OnnxNode, OnnxTensor } from './onnx-proto.js';

export const OPSET = 18;

function int64Tensor(name: string, values: readonly number[]): OnnxTensor {
  const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dtype: 'int64', dims: [values.length], raw: new Uint8Array(arr.buffer) };
}

/** Values needed to compute `outputs`, in graph (topological) order. */
export function reachable(outputs: readonly Value[], from = 0): Value[] {
  const seen = new Set<number>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v.id) || v.id < from) continue;
    seen.add(v.id);
    stack.push(...v.inputs);
  }
  const g = outputs[0]!.graph;
  return g.values.filter((v) => seen.has(v.id));
}

export interface LoweringOptions {
  /** false writes every fused op as its decomposition (to compare kernels with their definitions). */
  fusedKernels?: boolean;
}

export function lowerToOnnx(outputs: Record<string, Value>, options: LoweringOptions = {}): OnnxModel {
  const outVals = Object.values(outputs);
  if (outVals.length === 0) throw new Error('lowerToOnnx: no outputs requested');
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxModel['inputs'] = [];
  const domains = new Set<string>();

  // Values that are graph outputs are produced under the output name directly (no Identity copy),
  // unless they are inputs/constants/multi-output slots or requested under several names.
  const outputAlias = new Map<number, string>();
  const seenOut = new Map<number, number>();
  for (const v of outVals) seenOut.set(v.id, (seenOut.get(v.id) ?? 0) + 1);
  for (const [outName, v] of Object.entries(outputs)) {
    if (seenOut.get(v.id) === 1 && v.op !== 'input' && v.op !== 'const' && v.op !== 'output_of' && v.op !== 'top_k') outputAlias.set(v.id, outName);
  }
  const name = (v: Value): string => {
    if (v.is('input')) return v.attrs.name;
    const alias = outputAlias.get(v.id);
    if (alias) return alias;
    if (v.is('output_of')) return `${name(v.inputs[0]!)}_${v.attrs.index}`;
    return `v${v.id}`;
  };
  let aux = 0;
  const ints = (values: readonly number[]): string => {
    const n = `i${aux++}`;
    initializers.push(int64Tensor(n, values));
    return n;
  };

  const emitted = new Set<number>();
  const lower = (v: Value): void => {
    if (emitted.has(v.id)) return;
    emitted.add(v.id);
    const output = name(v);
    const ctx: LowerContext = {
      inputs: v.inputs.map(name),
      output,
      node: (opType, ins, attrs = {}, opts = {}) => {
        if (opts.domain) domains.add(opts.domain);
        nodes.push({ opType, inputs: [...ins], outputs: [...(opts.outputs ?? [output])], attrs: attrs as Record<string, OnnxAttr>, ...(opts.domain ? { domain: opts.domain } : {}) });
      },
      ints,
      initializer: (t) => initializers.push(t),
      graphInput: (n, dtype, dims) => inputs.push({ name: n, dtype, dims }),
      decomposition: () => {
        if (!isFused(v)) throw new Error(`lowerToOnnx: ${v.describe()} is a primitive and has no decomposition`);
        const d = decomposition(v);
        if (d.output.id < d.firstId) {
          // The decomposition is one of the inputs: copy it under this value's name.
          nodes.push({ opType: 'Identity', inputs: [name(d.output)], outputs: [output] });
          return;
        }
        // Written in place, under this value's name: its inputs are already written.
        outputAlias.set(d.output.id, output);
        for (const u of reachable([d.output], d.firstId)) lower(u);
      },
    };
    if (isFused(v) && options.fusedKernels === false) ctx.decomposition();
    else (definitionOf(v).lower as (v: Value, ctx: LowerContext) => void)(v, ctx);
  };
  for (const v of reachable(outVals)) lower(v);

  const outs: OnnxModel['outputs'] = [];
  for (const [outName, v] of Object.entries(outputs)) {
    if (outputAlias.get(v.id) !== outName) nodes.push({ opType: 'Identity', inputs: [name(v)], outputs: [outName] });
    outs.push({ name: outName, dtype: v.dtype as DType, dims: v.shape });
  }
  const extraOpsets = Object.fromEntries([...domains].map((d) => [d, 1]));
  return { opset: OPSET, nodes, inputs, outputs: outs, initializers, ...(domains.size ? { extraOpsets } : {}) };
}
