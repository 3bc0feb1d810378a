/**
 * Weights kept resident in a session instead of fed at every run. onnxruntime-web copies every CPU input
 * into its WebAssembly heap at each run (and a row graph runs once per block of positions), so in the
 * browser the model's weights become ONNX initializers stored as *external data*: the session is handed
 * the weights' own bytes (no concatenated copy in JavaScript) and copies each into its heap once, when it
 * is created — not once per run, and not twice (an initializer embedded in the model's bytes would sit in
 * the heap both as model bytes and as the tensor while the session is created).
 *
 * Each array gets a file name of its own identity (`w<n>.bin`), so two models with the same structure
 * but different weights never share a cached session.
 */
import type { OnnxModel } from './onnx-proto.js';

export interface ResidentFiles {
  /** External data files to hand the session (onnxruntime-web's `externalData` option). */
  files: { path: string; data: Uint8Array }[];
  /** Bytes the session will hold resident. */
  bytes: number;
}

const identities = new WeakMap<Float32Array, number>();
let nextIdentity = 0;

function fileName(data: Float32Array): string {
  let id = identities.get(data);
  if (id === undefined) identities.set(data, (id = nextIdentity++));
  return `w${id}.bin`;
}

/**
 * Turns the inputs of `model` that have fixed data into external-data initializers (in place: they leave
 * `model.inputs`), returning the files the session needs. Inputs without fixed data stay inputs.
 */
export function makeWeightsResident(model: OnnxModel, fixed: ReadonlyMap<string, Float32Array>): ResidentFiles {
  const files: ResidentFiles['files'] = [];
  let bytes = 0;
  model.inputs = model.inputs.filter((input) => {
    const data = fixed.get(input.name);
    if (!data) return true;
    const n = input.dims.reduce((a, b) => a * b, 1);
    if (input.dtype !== 'float32' || data.length !== n) throw new Error(`fixed data of input '${input.name}' has ${data.length} float32 elements, the graph declares [${input.dims.join(', ')}] ${input.dtype}`);
    const path = fileName(data);
    files.push({ path, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    model.initializers.push({ name: input.name, dtype: 'float32', dims: input.dims, raw: new Uint8Array(0), external: { location: path, offset: 0, length: data.byteLength } });
    bytes += data.byteLength;
    return false;
  });
  return { files, bytes };
}
