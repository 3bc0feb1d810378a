/** Reading a causal-basis folder: a well-formed one round-trips; every mismatch is an error naming the file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import type { HostTensor } from '../../src/formats/weights.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { basisColumn, readCausalBases } from '../../src/causal/bases-file.js';

const root = mkdtempSync(join(tmpdir(), 'tl-bases-file-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const model = { name: 'tiny', dModel: 4, nLayers: 3 };

/** A folder with layer `layer`'s basis: d × k vectors (identity columns), energies, mean. */
async function folder(name: string, opts: { d?: number; k?: number; layer?: number; lensKind?: string; dropMean?: boolean } = {}): Promise<string> {
  const { d = 4, k = 2, layer = 1, lensKind = 'tuned' } = opts;
  const dir = join(root, name);
  const vectors = new Float32Array(d * k);
  for (let j = 0; j < k; j++) vectors[j * k + j] = 1;
  const tensors: Record<string, HostTensor> = {
    [`layers.${layer}.vectors`]: { shape: [d, k], data: vectors },
    [`layers.${layer}.energies`]: { shape: [k], data: Float32Array.from({ length: k }, (_, j) => 1 / (j + 1)) },
  };
  if (!opts.dropMean) tensors[`layers.${layer}.mean`] = { shape: [d], data: new Float32Array(d).fill(0.5) };
  await writeSafetensors(nodeFileSystem, join(dir, 'bases.safetensors'), tensors);
  const directions = Array.from({ length: k }, (_, j) => ({ index: j, energy: 1 / (j + 1), top_tokens_plus: [{ id: 3, token: 'a', score: 1 }], top_tokens_minus: [{ id: 5, token: 'b', score: 2 }] }));
  writeFileSync(join(dir, 'bases.json'), JSON.stringify({ provenance: { lens: { spec: '/x/lens', sha256: 'abc' } }, settings: { lens_kind: lensKind, mode: 'mean', seq_len: 256 }, layers: [{ layer, directions }] }));
  return dir;
}

test('a causal-basis folder is read with its tensors, token lists and settings', async () => {
  const b = await readCausalBases(nodeFileSystem, await folder('ok'), model);
  assert.equal(b.lensKind, 'tuned');
  assert.equal(b.mode, 'mean');
  assert.equal(b.seqLen, 256);
  assert.deepEqual(b.lens, { spec: '/x/lens', sha256: 'abc' });
  assert.equal(b.layers.length, 1);
  const l = b.layers[0]!;
  assert.deepEqual([l.layer, l.d, l.k], [1, 4, 2]);
  assert.deepEqual(Array.from(basisColumn(l, 1)), [0, 1, 0, 0]);
  assert.deepEqual(l.directions[1], { index: 1, energy: 0.5, plus: [{ id: 3, token: 'a', score: 1 }], minus: [{ id: 5, token: 'b', score: 2 }] });
  assert.throws(() => basisColumn(l, 2), /direction 2 is outside 0\.\.1/);
});

test('mismatches with the model and broken files are errors naming the file', async () => {
  const cases: [string, Parameters<typeof folder>[1], RegExp][] = [
    ['wrong-d', { d: 8 }, /wrong-d\/bases\.safetensors: layers\.1\.vectors is \[8, 2\], expected \[4, k\] for tiny \(hidden size 4\)/],
    ['no-layer', { layer: 5 }, /no-layer\/bases\.safetensors: layer 5 does not exist in tiny \(3 layers: 0\.\.2\)/],
    ['kind', { lensKind: 'other' }, /kind\/bases\.json: settings\.lens_kind must be "logit" or "tuned", got "other"/],
    ['no-mean', { dropMean: true }, /no-mean\/bases\.safetensors: layers\.1\.mean is missing/],
  ];
  for (const [name, opts, message] of cases) await assert.rejects(readCausalBases(nodeFileSystem, await folder(name, opts), model), message);
  await assert.rejects(readCausalBases(nodeFileSystem, join(root, 'absent'), model), /absent\/bases\.json is missing \(is .* an output folder of tuned-lens causal-basis\?\)/);
  const bad = await folder('bad-json');
  writeFileSync(join(bad, 'bases.json'), '{ not json');
  await assert.rejects(readCausalBases(nodeFileSystem, bad, model), /bad-json\/bases\.json: not valid JSON/);
});
