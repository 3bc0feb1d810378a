/**
 * Resident weights (runtime.ts `residentWeights`, the web build's setting): model weights become external-data
 * initializers, copied into onnxruntime-web's heap once per session instead of fed at every run. Run here on
 * onnxruntime-web in Node (its WASM backend), checked against a hand-computed product and against
 * onnxruntime-node with fed weights on stories260K.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodePath from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { Runtime, type OrtModule } from '../../src/graph/runtime.js';
import { encodeOnnxModel } from '../../src/graph/onnx-proto.js';
import { lowerToOnnx } from '../../src/graph/onnx-lowering.js';
import { makeWeightsResident } from '../../src/graph/resident-weights.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { defaultRuntime } from '../../src/node/runtime.js';
import { sharedDataDir } from '../helpers/shared-data.js';

ortWeb.env.wasm.numThreads = 1;
const webRuntime = (options: { maxResidentBytes?: number } = {}) =>
  new Runtime(ortWeb as unknown as OrtModule, { executionProviders: ['wasm'], fallbackToCpu: false, preallocateOutputs: false, residentWeights: true, ...options });

function matmulGraph(w: Float32Array): { g: Graph; y: ReturnType<typeof op.matmul> } {
  const g = new Graph();
  const W = g.input('w', 'float32', [2, 3]);
  g.fixedInputData.set('w', w);
  const x = g.input('x', 'float32', [1, 2]);
  return { g, y: op.matmul(x, W) };
}

test('a weight with fixed data leaves the inputs and becomes an external-data initializer', () => {
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  const { y } = matmulGraph(w);
  const model = lowerToOnnx({ y });
  const files = makeWeightsResident(model, y.graph.fixedInputData);
  assert.deepEqual(model.inputs.map((i) => i.name), ['x']);
  assert.equal(files.bytes, 24);
  assert.equal(files.files.length, 1);
  assert.equal(files.files[0]!.data.buffer, w.buffer, 'the weight is handed over without a copy');
  const init = model.initializers.find((t) => t.name === 'w')!;
  assert.deepEqual(init.external, { location: files.files[0]!.path, offset: 0, length: 24 });
  // The file name is the array's identity: the same array, the same name; another array, another.
  assert.equal(makeWeightsResident(lowerToOnnx({ y }), y.graph.fixedInputData).files[0]!.path, files.files[0]!.path);
  const other = matmulGraph(new Float32Array(6));
  assert.notEqual(makeWeightsResident(lowerToOnnx({ y: other.y }), other.g.fixedInputData).files[0]!.path, files.files[0]!.path);
  // The encoded tensor says where its bytes are (external_data entries) instead of holding them.
  assert.ok(new TextDecoder().decode(encodeOnnxModel(model)).includes(files.files[0]!.path));
});

test('onnxruntime-web runs with resident weights: [1, 1] · [[1, 2, 3], [4, 5, 6]] = [5, 7, 9]; same-structure graphs with other weights get their own session', async () => {
  const runtime = webRuntime();
  const a = matmulGraph(new Float32Array([1, 2, 3, 4, 5, 6]));
  const ca = await runtime.compile({ y: a.y });
  assert.deepEqual([...ca.inputs.keys()], ['x']);
  assert.deepEqual([...(await ca.run({ x: new Float32Array([1, 1]) })).y!.data], [5, 7, 9]);
  const b = matmulGraph(new Float32Array([1, 0, 0, 0, 1, 0]));
  const cb = await runtime.compile({ y: b.y });
  assert.notEqual(cb, ca);
  assert.deepEqual([...(await cb.run({ x: new Float32Array([2, 3]) })).y!.data], [2, 3, 0]);
  assert.equal(runtime.cachedSessions, 2);
  await runtime.releaseAll();
});

test('past the resident budget the least recently used weight-holding session is released, and compiles again when run', async () => {
  const runtime = webRuntime({ maxResidentBytes: 30 }); // one 24-byte weight fits, two do not
  const a = matmulGraph(new Float32Array([1, 2, 3, 4, 5, 6]));
  const b = matmulGraph(new Float32Array([6, 5, 4, 3, 2, 1]));
  const ca = await runtime.compile({ y: a.y });
  const cb = await runtime.compile({ y: b.y });
  assert.equal(runtime.cachedSessions, 1);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(ca.isOpen, false, 'the older session was released');
  assert.deepEqual([...(await ca.run({ x: new Float32Array([1, 0]) })).y!.data], [1, 2, 3]);
  assert.deepEqual([...(await cb.run({ x: new Float32Array([0, 1]) })).y!.data], [3, 2, 1]);
  await runtime.releaseAll();
});

test('graphs compiled in the same tick past the budget all open (an evicted session is released before the next copies weights in)', async () => {
  const runtime = webRuntime({ maxResidentBytes: 30 });
  const graphs = [1, 2, 3].map((k) => matmulGraph(new Float32Array(6).fill(k)));
  const compiled = await Promise.all(graphs.map(({ y }) => runtime.compile({ y })));
  const outs = await Promise.all(compiled.map((c) => c.run({ x: new Float32Array([1, 0]) })));
  assert.deepEqual(outs.map((o) => o.y!.data[0]), [1, 2, 3]);
  await runtime.releaseAll();
});

test('stories260K with resident weights on onnxruntime-web = fed weights on onnxruntime-node (hidden states and logits, 1e-4)', async () => {
  const dir = nodePath.join(sharedDataDir(), 'models', 'stories260K');
  const source = { kind: 'llama2c' as const, checkpoint: nodePath.join(dir, 'stories260K.bin'), tokenizer: nodePath.join(dir, 'tok512.bin') };
  const web = await loadModelFrom(nodeFileSystem, source, webRuntime());
  const node = await loadModelFrom(nodeFileSystem, source, defaultRuntime());
  const batch = { ids: [web.encode('Once upon a time, there was a little girl.')] };
  const [rw, rn] = [await web.forward(batch), await node.forward(batch)];
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  close(rw.logits.data as Float32Array, rn.logits.data as Float32Array, 'logits');
  rw.hiddenStates.forEach((h, i) => close(h.data as Float32Array, rn.hiddenStates[i]!.data as Float32Array, `hidden ${i}`));
  await web.runtime.releaseAll();
});
