/**
 * Difficulty on a real checkpoint series: three of the tiny model's committed checkpoints
 * (data/checkpoints-tiny, made by scripts/make-tiny-checkpoints.ts). Iteration learned is recomputed by
 * hand from the per-checkpoint correctness the command reports, and the final model's choices must
 * agree with the last checkpoint's correctness (it is the same model).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

const CK = 'data/checkpoints-tiny';

test('difficulty over three tiny-model checkpoints: iteration learned matches a hand check of per-checkpoint correctness', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-difficulty-series-'));
  const task = join(dir, 'task.jsonl');
  const lines = readFileSync('data/difficulty/cloze.jsonl', 'utf8').trim().split('\n').slice(0, 40);
  writeFileSync(task, lines.join('\n') + '\n');
  const series = ['step0000.bin', 'step0100.bin', 'step0800.bin'].map((f) => join(CK, f));
  assert.equal(await main(['difficulty', '--task', task, '--model', series[2]!, '--checkpoints', series.join(','), '--logit', '--output', dir]), 0);
  const j = JSON.parse(readFileSync(join(dir, 'difficulty.json'), 'utf8')) as {
    n: number; final_accuracy: number; never_learned: number; rho: { tuned: number | null; logit: number | null };
    examples: { iteration_learned: number; correct_per_checkpoint: boolean[]; final_choice: number; depth_logit: number }[];
  };
  const answers = lines.map((l) => (JSON.parse(l) as { answer: number }).answer);
  assert.equal(j.n, 40);
  let changed = 0;
  for (const [e, ex] of j.examples.entries()) {
    const c = ex.correct_per_checkpoint;
    assert.equal(c.length, 3);
    // By hand: the first k with c[k..] all true; 3 when the last checkpoint is wrong.
    const byHand = !c[2] ? 3 : !c[1] ? 2 : !c[0] ? 1 : 0;
    assert.equal(ex.iteration_learned, byHand, `example ${e}: correctness ${c}`);
    assert.equal(c[2], ex.final_choice === answers[e], `example ${e}: the final model is the last checkpoint`);
    assert.ok(ex.depth_logit >= 0 && ex.depth_logit <= 2);
    if (c[0] !== c[2]) changed++;
  }
  assert.ok(changed > 0, 'a real series: some answers change over training');
  assert.equal(j.never_learned, j.examples.filter((x) => x.iteration_learned === 3).length);
  assert.ok(Math.abs(j.final_accuracy - j.examples.filter((x) => x.correct_per_checkpoint[2]).length / 40) < 1e-12);
  assert.ok(j.rho.logit === null || (j.rho.logit >= -1 && j.rho.logit <= 1));
});
