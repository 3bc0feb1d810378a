/** The causal commands end to end on stories260K with tiny settings: file contracts, invariants and errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { goldenPath, readGolden } from '../helpers/golden.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { nodeFileSystem } from '../../src/node/file-system.js';

const dir = mkdtempSync(join(tmpdir(), 'tl-causal-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
// Pre-tokenized lines of different lengths: each is one sequence, used as given.
const ids = readGolden<{ input_ids: number[][] }>('causal', 'ablate_layer.json').input_ids;
const data = join(dir, 'tokens.jsonl');
writeFileSync(data, [ids[0]!.slice(0, 96), ids[1]!.slice(0, 64), ids[2]!.slice(0, 96)].map((s) => JSON.stringify({ input_ids: s })).join('\n') + '\n');

test('causal-basis → bases.safetensors / bases.json; fidelity reads them', async () => {
  const out = join(dir, 'bases');
  const r = await runCli(['causal-basis', '--lens', goldenPath('reference-lens', 'lens'), '--data', data, '--output', out, '--k', '2', '--layers', '1,4', '--tokens', '160', '--max-iter', '30']);
  assert.equal(r.code, 0, r.stderr);
  const st = await openSafetensors(nodeFileSystem, join(out, 'bases.safetensors'));
  const meta = JSON.parse(readFileSync(join(out, 'bases.json'), 'utf8'));
  assert.deepEqual(meta.settings.layers, [1, 4]);
  assert.equal(meta.settings.tokens, 160);
  assert.equal(meta.settings.lens_kind, 'tuned');
  for (const layer of [1, 4]) {
    const v = await st.readFloat32(`layers.${layer}.vectors`);
    const e = await st.readFloat32(`layers.${layer}.energies`);
    const m = await st.readFloat32(`layers.${layer}.mean`);
    assert.deepEqual([v.shape, e.shape, m.shape], [[64, 2], [2], [64]]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let r2 = 0; r2 < 64; r2++) s += v.data[r2 * 2 + i]! * v.data[r2 * 2 + j]!;
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-4, `VᵀV[${i}][${j}] = ${s}`);
      }
    }
    assert.ok(e.data[0]! >= e.data[1]!, 'energies descending');
    const entry = meta.layers.find((l: { layer: number }) => l.layer === layer);
    assert.deepEqual(entry.energies, Array.from(e.data));
    assert.equal(entry.directions[0].top_tokens_plus.length, 10);
    assert.equal(typeof entry.directions[0].top_tokens_minus[0].token, 'string');
  }
  await st.close();
  assert.ok(!existsSync(join(out, '.causal-basis-partial')), 'checkpoints are removed after a finished run');

  const fid = join(dir, 'fid');
  const f = await runCli(['fidelity', '--lens', goldenPath('reference-lens', 'lens'), '--bases', out, '--data', data, '--output', fid]);
  assert.equal(f.code, 0, f.stderr);
  const fj = JSON.parse(readFileSync(join(fid, 'fidelity.json'), 'utf8'));
  assert.deepEqual(fj.layers.map((l: { layer: number }) => l.layer), [1, 4]);
  for (const l of fj.layers) {
    assert.equal(l.lens_influence.length, 2);
    assert.equal(l.model_influence.length, 2);
    assert.ok(typeof l.spearman === 'number' && l.spearman >= -1 && l.spearman <= 1);
  }
  for (const ext of ['svg', 'png', 'html']) assert.ok(existsSync(join(fid, `fidelity.${ext}`)));
  const noLens = await runCli(['fidelity', '--bases', out, '--data', data, '--output', fid]);
  assert.notEqual(noLens.code, 0);
  assert.match(noLens.stderr, /tuned lens: give it with --lens/);
});

test('iterative → residual_alignment.json and layer_deletion.json with their figures', async () => {
  const out = join(dir, 'iter');
  const r = await runCli(['iterative', '--data', data, '--output', out, '--tokens', '200', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(readFileSync(join(out, 'residual_alignment.json'), 'utf8'));
  assert.equal(a.layers.length, 5);
  assert.equal(a.dim, 64 * 96);
  // 200 tokens in file order: 96 + 64 + 40 (the last sequence cut short): three cosines per layer.
  for (const l of a.layers) {
    assert.equal(l.cosines.length, 3);
    for (const k of ['median', 'p5', 'p95', 'frac_negative']) assert.equal(typeof l[k], 'number');
    assert.ok(l.p5 <= l.median && l.median <= l.p95);
  }
  assert.ok(a.random_p5 < 0);
  const d = JSON.parse(readFileSync(join(out, 'layer_deletion.json'), 'utf8'));
  assert.equal(d.ce_without_layer.length, 5);
  assert.equal(d.tokens, 95 + 63 + 39);
  assert.ok(d.ce_without_layer.every((ce: number) => ce > d.baseline_ce));
  for (const f of ['residual_alignment', 'layer_deletion']) for (const ext of ['svg', 'png', 'html']) assert.ok(existsSync(join(out, `${f}.${ext}`)));
});

test('causal-basis rejects --lens together with --logit, and a bad --mode', async () => {
  const both = await runCli(['causal-basis', '--logit', '--lens', 'x', '--data', data, '--output', join(dir, 'x')]);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /exactly one of --lens L and --logit/);
  const mode = await runCli(['causal-basis', '--logit', '--mode', 'median', '--data', data, '--output', join(dir, 'x')]);
  assert.notEqual(mode.code, 0);
  assert.match(mode.stderr, /--mode must be one of zero, mean, resample/);
});
