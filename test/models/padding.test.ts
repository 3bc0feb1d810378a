/** Batches with padding give, at every real token, the same results as each sequence alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { createRuntime } from '../../src/node/runtime.js';
import { loadModelFrom } from '../../src/models/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { goldenPath } from '../helpers/golden.js';

const runtime = createRuntime();

async function checkPadding(model: LanguageModel, a: number[], b: number[], side: 'left' | 'right'): Promise<void> {
  const T = Math.max(a.length, b.length);
  const pad = (s: number[]): { ids: number[]; mask: number[] } => {
    const n = T - s.length;
    const fill = new Array<number>(n).fill(0);
    return side === 'left' ? { ids: [...fill, ...s], mask: [...fill, ...s.map(() => 1)] } : { ids: [...s, ...fill], mask: [...s.map(() => 1), ...fill] };
  };
  const pa = pad(a);
  const pb = pad(b);
  const batched = await model.forward({ ids: [pa.ids, pb.ids], attentionMask: [pa.mask, pb.mask] });
  const V = model.config.vocabSize;
  for (const [row, seq] of [[0, a], [1, b]] as const) {
    const alone = await model.forward({ ids: [seq] });
    const offset = side === 'left' ? T - seq.length : 0;
    const got = batched.logits.data as Float32Array;
    const want = alone.logits.data as Float32Array;
    let worst = 0;
    for (let t = 0; t < seq.length; t++) for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(got[(row * T + t + offset) * V + v]! - want[t * V + v]!));
    assert.ok(worst < 1e-4, `${model.name} ${side} padding, row ${row}: max logit diff ${worst}`);
  }
}

for (const name of ['gpt2', 'opt', 'bloom', 'llama', 'gpt_neox', 'gpt_neo', 'mistral', 'gemma2']) {
  test(`${name}: left and right padding with an attention mask match unpadded runs`, async () => {
    const model = await loadModelFrom(nodeFileSystem, { kind: 'hf-folder', dir: goldenPath('tiny-random', name) }, runtime, name);
    const a = [5, 17, 3, 99, 42, 7, 8, 61];
    const b = [11, 2, 73];
    await checkPadding(model, a, b, 'left');
    await checkPadding(model, a, b, 'right');
  });
}
