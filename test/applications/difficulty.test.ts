/**
 * Difficulty: Spearman ρ and iteration learned by hand; the command end to end on a degenerate
 * "series" (the same model twice), where iteration learned must be 0 for examples the model gets right
 * and 2 (= the number of checkpoints, never learned) for the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { averageRanks, iterationLearned, spearman } from '../../src/applications/difficulty.js';
import { main } from '../../src/cli/main.js';

test('Spearman ρ by hand, with ties; null when a side is constant', () => {
  // ranks of b = [5, 6, 7, 8, 7]: [1, 2, 3.5, 5, 3.5]; deviations from 3: a (−2, −1, 0, 1, 2), b (−2, −1, ½, 2, ½):
  // Σab = 8, Σa² = 10, Σb² = 9.5 → ρ = 8/√95 (scipy.stats.spearmanr gives 0.8207826816681233).
  assert.deepEqual(averageRanks([5, 6, 7, 8, 7]), [1, 2, 3.5, 5, 3.5]);
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])! - 8 / Math.sqrt(95)) < 1e-12);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(spearman([1, 2, 3], [4, 4, 4]), null);
  assert.equal(spearman([1], [2]), null);
});

test('iteration learned: the first checkpoint from which every later one is correct; K when never', () => {
  const correct = [
    [true, false, true, false, true],
    [true, true, false, false, true],
    [true, true, true, false, false],
  ];
  assert.deepEqual(iterationLearned(correct), [0, 1, 2, 3, 3]);
  assert.throws(() => iterationLearned([]), /no checkpoints/);
});

test('difficulty command on a degenerate series: iteration learned follows correctness; table and errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-difficulty-'));
  const task = join(dir, 'task.jsonl');
  writeFileSync(task, readFileSync('data/difficulty/cloze.jsonl', 'utf8').trim().split('\n').slice(0, 8).join('\n') + '\n');
  assert.equal(await main(['difficulty', '--task', task, '--checkpoints', 'stories260K,stories260K', '--lens', '../shared/golden/reference-lens/lens', '--output', dir]), 0);
  const j = JSON.parse(readFileSync(join(dir, 'difficulty.json'), 'utf8')) as {
    n: number; final_accuracy: number; never_learned: number; rho: { tuned: number | null; logit: number | null };
    examples: { iteration_learned: number; correct_per_checkpoint: boolean[]; depth_tuned: number; depth_logit: number }[];
  };
  assert.equal(j.n, 8);
  for (const e of j.examples) {
    assert.deepEqual(e.correct_per_checkpoint[0], e.correct_per_checkpoint[1]);
    assert.equal(e.iteration_learned, e.correct_per_checkpoint[0] ? 0 : 2);
    assert.ok(e.depth_tuned >= 0 && e.depth_tuned <= 5 && e.depth_logit >= 0 && e.depth_logit <= 5);
  }
  assert.equal(j.never_learned, j.examples.filter((e) => e.iteration_learned === 2).length);
  assert.equal(j.final_accuracy, 1 - j.never_learned / 8);
  assert.ok(readFileSync(join(dir, 'difficulty.md'), 'utf8').startsWith('| Task | Tuned lens ρ | Logit lens ρ | Final acc |'));

  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"prompt": "The cat", "choices": ["sat.", " "], "answer": 0}\n');
  const err = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['difficulty', '--task', bad, '--checkpoints', 'stories260K', '--logit', '--output', dir]), 1);
    assert.equal(await main(['difficulty', '--task', task, '--logit', '--output', dir]), 1);
  } finally {
    process.stderr.write = err;
  }
  assert.match(stderr, /example 1: choice 1 \(" "\) tokenizes to nothing/);
  assert.match(stderr, /--checkpoints a,b,c is required/);
});
