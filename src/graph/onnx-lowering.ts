/**
 * Lowers a Graph to an ONNX model (opset 18). Only values reachable from the requested outputs are
 * emitted, and only the inputs they use become ONNX graph inputs.
 */
import type { DType, Value } from './graph.js';
import type { OnnxAttr, OnnxModel, OnnxNode, OnnxTensor } from './onnx-proto.js';

export const OPSET = 18;

const SIMPLE: Record<string, string> = {
  add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', max: 'Max', min: 'Min',
  greater: 'Greater', less: 'Less', equal: 'Equal',
  neg: 'Neg', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', tanh: 'Tanh', erf: 'Erf', relu: 'Relu',
  sigmoid: 'Sigmoid', abs: 'Abs', reciprocal: 'Reciprocal', identity: 'Identity', stop_gradient: 'Identity',
  matmul: 'MatMul', where: 'Where', concat: 'Concat',
};

const REDUCE: Record<string, string> = {
  reduce_sum: 'ReduceSum', reduce_mean: 'ReduceMean', reduce_max: 'ReduceMax', reduce_logsumexp: 'ReduceLogSumExp',
};

const CAST_TO: Record<DType, number> = { float32: 1, float64: 11, int64: 7, bool: 9 };

function int64Tensor(name: string, values: readonly number[]): OnnxTensor {
  const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dtype: 'int64', dims: [values.length], raw: new Uint8Array(arr.buffer) };
}

/** Values needed to compute `outputs`, in graph (topological) order. */
export function reachable(outputs: readonly Value[]): Value[] {
  const seen = new Set<number>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    stack.push(...v.inputs);
  }
  const g = outputs[0]!.graph;
  return g.values.filter((v) => seen.has(v.id));
}

export function lowerToOnnx(outputs: Record<string, Value>): OnnxModel {
  const outVals = Object.values(outputs);
  if (outVals.length === 0) throw new Error('lowerToOnnx: no outputs requested');
  const values = reachable(outVals);
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxModel['inputs'] = [];
  let usesContribOps = false;

  // Values that are graph outputs are produced under the output name directly (no Identity copy),
  // unless they are inputs/constants/multi-output slots or requested under several names.
  const outputAlias = new Map<number, string>();
  const seenOut = new Map<number, number>();
  for (const v of outVals) seenOut.set(v.id, (seenOut.get(v.id) ?? 0) + 1);
  for (const [outName, v] of Object.entries(outputs)) {
    if (seenOut.get(v.id) === 1 && v.op !== 'input' && v.op !== 'const' && v.op !== 'output_of' && v.op !== 'top_k') outputAlias.set(v.id, outName);
  }
  const name = (v: Value): string => {
    if (v.op === 'input') return String(v.attrs.name);
    const alias = outputAlias.get(v.id);
    if (alias) return alias;
    if (v.op === 'output_of') return `${name(v.inputs[0]!)}_${String(v.attrs.index)}`;
    return `v${v.id}`;
  };
  let aux = 0;
  const ints = (values: readonly number[]): string => {
    const n = `i${aux++}`;
    initializers.push(int64Tensor(n, values));
    return n;
  };

  for (const v of values) {
    const ins = v.inputs.map(name);
    const out = [name(v)];
    const a = v.attrs;
    const simple = SIMPLE[v.op];
    if (simple) {
      const attrs: Record<string, OnnxAttr> = v.op === 'concat' ? { axis: { kind: 'int', value: a.axis as number } } : {};
      nodes.push({ opType: simple, inputs: ins, outputs: out, attrs });
      continue;
    }
    const reduceOp = REDUCE[v.op];
    if (reduceOp) {
      nodes.push({ opType: reduceOp, inputs: [ins[0]!, ints(a.axes as number[])], outputs: out, attrs: { keepdims: { kind: 'int', value: a.keepdims ? 1 : 0 } } });
      continue;
    }
    switch (v.op) {
      case 'input':
        inputs.push({ name: name(v), dtype: v.dtype, dims: v.shape });
        break;
      case 'const': {
        const data = (a.data as { values: ArrayBufferView }).values;
        initializers.push({ name: name(v), dtype: v.dtype, dims: v.shape, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
        break;
      }
      case 'output_of':
        break;
      case 'softmax':
      case 'log_softmax':
        nodes.push({ opType: v.op === 'softmax' ? 'Softmax' : 'LogSoftmax', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: a.axis as number } } });
        break;
      case 'gemm':
        nodes.push({
          opType: 'Gemm', inputs: ins, outputs: out,
          attrs: { transA: { kind: 'int', value: a.transA ? 1 : 0 }, transB: { kind: 'int', value: a.transB ? 1 : 0 }, alpha: { kind: 'float', value: a.alpha as number } },
        });
        break;
      case 'gather':
        nodes.push({ opType: 'Gather', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: a.axis as number } } });
        break;
      case 'gather_elements':
        nodes.push({ opType: 'GatherElements', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: a.axis as number } } });
        break;
      case 'reshape':
        nodes.push({ opType: 'Reshape', inputs: [ins[0]!, ints(a.shape as number[])], outputs: out });
        break;
      case 'transpose':
        nodes.push({ opType: 'Transpose', inputs: ins, outputs: out, attrs: { perm: { kind: 'ints', value: a.perm as number[] } } });
        break;
      case 'slice':
        nodes.push({ opType: 'Slice', inputs: [ins[0]!, ints([a.start as number]), ints([a.end as number]), ints([a.axis as number])], outputs: out });
        break;
      case 'expand':
        nodes.push({ opType: 'Expand', inputs: [ins[0]!, ints(a.shape as number[])], outputs: out });
        break;
      case 'pad':
        nodes.push({ opType: 'Pad', inputs: [ins[0]!, ints(a.pads as number[])], outputs: out });
        break;
      case 'cast':
        nodes.push({ opType: 'Cast', inputs: ins, outputs: out, attrs: { to: { kind: 'int', value: CAST_TO[a.to as DType] } } });
        break;
      case 'scatter_nd_add':
        nodes.push({ opType: 'ScatterND', inputs: ins, outputs: out, attrs: { reduction: { kind: 'string', value: 'add' } } });
        break;
      case 'scatter_elements_add':
        nodes.push({ opType: 'ScatterElements', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: a.axis as number }, reduction: { kind: 'string', value: 'add' } } });
        break;
      case 'top_k':
        nodes.push({ opType: 'TopK', inputs: [ins[0]!, ints([a.k as number])], outputs: [out[0]!, `${out[0]}_1`], attrs: { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 1 } } });
        break;
      case 'arg_max':
        nodes.push({ opType: 'ArgMax', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: a.axis as number }, keepdims: { kind: 'int', value: a.keepdims ? 1 : 0 } } });
        break;
      case 'fused_attention':
        usesContribOps = true;
        nodes.push({
          opType: 'MultiHeadAttention', domain: 'com.microsoft', inputs: [ins[0]!, ins[1]!, ins[2]!, '', '', ins[3]!], outputs: out,
          attrs: { num_heads: { kind: 'int', value: a.numHeads as number }, scale: { kind: 'float', value: a.scale as number } },
        });
        break;
      case 'layer_norm':
        nodes.push({ opType: 'LayerNormalization', inputs: ins, outputs: out, attrs: { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: a.eps as number } } });
        break;
      default:
        throw new Error(`lowerToOnnx: no ONNX lowering for op '${v.op}' (${v.describe()})`);
    }
  }

  const outs: OnnxModel['outputs'] = [];
  for (const [outName, v] of Object.entries(outputs)) {
    if (outputAlias.get(v.id) !== outName) nodes.push({ opType: 'Identity', inputs: [name(v)], outputs: [outName] });
    outs.push({ name: outName, dtype: v.dtype, dims: v.shape });
  }
  return { opset: OPSET, nodes, inputs, outputs: outs, initializers, ...(usesContribOps ? { extraOpsets: { 'com.microsoft': 1 } } : {}) };
}
