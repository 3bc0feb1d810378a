/** Evaluating the reference lens on the golden eval chunks reproduces the reference's eval numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { readLensFolder } from '../../src/lens/lens-files.js';
import { LogitLens, TunedLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { evaluateLenses, mapLayout, type MetricsLayout } from '../../src/eval/evaluate.js';
import { goldenPath, readGolden } from '../helpers/golden.js';

test('eval of logit and tuned lens on eval_chunks matches eval_nats.json (1e-5 relative) and eval.json in bpb', async () => {
  const model = await loadModel('stories260K');
  const folder = await readLensFolder(nodeFileSystem, goldenPath('reference-lens', 'lens'));
  const tuned = new TunedLens(model, folder.translators);
  const { eval_chunks: chunks } = readGolden<{ eval_chunks: number[][] }>('reference-lens', 'data_chunks.json');
  const r = await evaluateLenses(model, chunks, { lenses: [{ name: 'logit', lens: new LogitLens(model) }, { name: 'tuned', lens: tuned }] });
  const nats = readGolden<MetricsLayout>('reference-lens', 'eval_nats.json');
  assert.deepEqual(Object.keys(r.nats), Object.keys(nats));
  let worst = 0;
  mapLayout(nats, (lens, metric, layer, expected) => {
    const got = r.nats[lens]![metric]![layer]!;
    worst = Math.max(worst, Math.abs(got - expected) / Math.abs(expected));
    return 0;
  });
  assert.ok(worst < 1e-5, `worst relative difference ${worst}`);
  const info = readGolden<{ eval: { nats_to_bpb: number } }>('reference-lens', 'eval_info.json');
  const bpb = readGolden<MetricsLayout>('reference-lens', 'eval.json');
  mapLayout(bpb, (lens, metric, layer, expected) => {
    const got = r.nats[lens]![metric]![layer]! * info.eval.nats_to_bpb;
    assert.ok(Math.abs(got - expected) <= 1e-5 * Math.abs(expected), `${lens}.${metric}.${layer}: ${got} vs ${expected}`);
    return 0;
  });
  assert.equal(r.perBatch.length, 90);
});

test('layer transfer: the diagonal is the tuned lens itself (same CE, zero KL); marginals are distributions', async () => {
  const model = await loadModel('stories260K');
  const folder = await readLensFolder(nodeFileSystem, goldenPath('reference-lens', 'lens'));
  const tuned = new TunedLens(model, folder.translators);
  const { eval_chunks: chunks } = readGolden<{ eval_chunks: number[][] }>('reference-lens', 'data_chunks.json');
  const r = await evaluateLenses(model, chunks.slice(0, 4), { lenses: [{ name: 'tuned', lens: tuned }], layerTransfer: true, logitStats: true });
  const t = r.transfer!;
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(t.ce[i]![i]! - r.nats.tuned!.ce![`layer_${i}`]!) < 1e-5, `ce[${i}][${i}]`);
    assert.ok(Math.abs(t.kl[i]![i]!) < 1e-5, `kl[${i}][${i}]`);
    // Another layer's translator fits worse than the layer's own.
    for (let j = 0; j < 5; j++) if (j !== i) assert.ok(t.kl[i]![j]! > 0, `kl[${i}][${j}] > 0`);
  }
  for (const layer of r.marginals!.tuned!) {
    const sum = layer.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `marginal sums to ${sum}`);
  }
});
