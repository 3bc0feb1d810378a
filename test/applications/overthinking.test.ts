/**
 * Overthinking: calibrated accuracy by hand, false demonstrations through derangements, choice scoring
 * against the full lens log-probs, and the command's JSON on a few examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinPromptChoice, scoreChoices } from '../../src/applications/choices.js';
import { calibratedAccuracy, falseDemos, fewShotPrompt, softmax } from '../../src/applications/overthinking.js';
import { LogitLens } from '../../src/lens/lens.js';
import { lensLogProbs } from '../../src/lens/rows.js';
import { loadModel } from '../../src/node/load-model.js';
import { main } from '../../src/cli/main.js';

test('calibrated accuracy by hand: dividing by the label means flips a prior-driven answer', () => {
  // Means: label 0 = (0.9 + 0.8 + 0.6)/3 = 0.7667, label 1 = 0.2333. Adjusted: e0 (1.17, 0.43) → 0 ✓;
  // e1 (1.04, 0.86) → 0 ✗; e2 (0.78, 1.71) → 1 ✓. Accuracy 2/3 (uncalibrated argmax: 1/3).
  assert.equal(calibratedAccuracy([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]], [0, 1, 1]), 2 / 3);
  assert.equal(calibratedAccuracy([], []), null);
  const s = softmax([Math.log(1), Math.log(3)]);
  assert.ok(Math.abs(s[0]! - 0.25) < 1e-12 && Math.abs(s[1]! - 0.75) < 1e-12);
});

test('false demonstrations change every demo label (seeded), prompts have the documented layout', () => {
  const ex = [{ demos: [{ text: 'a.', label: 'x' }, { text: 'b.', label: 'y' }, { text: 'c.', label: 'z' }], query: 'q.', label: 'x' }];
  const f = falseDemos(ex, ['x', 'y', 'z'], 1);
  f[0]!.demos.forEach((d, i) => assert.notEqual(d.label, ex[0]!.demos[i]!.label));
  assert.deepEqual(falseDemos(ex, ['x', 'y', 'z'], 1), f);
  assert.equal(f[0]!.label, 'x'); // the query's gold label is kept
  assert.deepEqual(falseDemos(ex, ['x', 'y'], 0)[0]!.demos.slice(0, 2).map((d) => d.label), ['y', 'x']); // two labels: swapped
  assert.equal(fewShotPrompt(ex[0]!.demos, 'q.'), 'a. x\nb. y\nc. z\nq.');
  assert.equal(joinPromptChoice('Tim ran.', 'He'), 'Tim ran. He');
  assert.equal(joinPromptChoice('Tim ran.\n', 'He'), 'Tim ran.\nHe');
});

test('choice scores are the summed lens log-probs of the choice tokens, at every row', async () => {
  const model = await loadModel('stories260K');
  const lens = new LogitLens(model);
  const prompt = 'Once upon a time, there was a little girl named';
  const choices = ['Lily.', 'Tom and Sue']; // multi-token choices
  const { scores, tokenCounts } = await scoreChoices(lens, [{ prompt, choices }]);
  const p = model.encode(prompt);
  for (const [c, choice] of choices.entries()) {
    const full = model.encode(`${prompt} ${choice}`);
    assert.deepEqual(full.slice(0, p.length), p);
    assert.equal(tokenCounts[0]![c], full.length - p.length);
    const ref = await lensLogProbs(lens, { ids: [full] });
    const V = model.config.vocabSize;
    for (let r = 0; r <= model.nLayers; r++) {
      const data = (r < model.nLayers ? ref.layers[r]! : ref.output).data as Float32Array;
      let sum = 0;
      for (let t = p.length; t < full.length; t++) sum += data[(t - 1) * V + full[t]!]!;
      assert.ok(Math.abs(scores[0]![r]![c]! - sum) < 1e-3, `row ${r} choice ${c}: ${scores[0]![r]![c]} vs ${sum}`);
    }
  }
  await assert.rejects(scoreChoices(lens, [{ prompt, choices: ['ok', ''] }]), /adds no tokens/);
});

test('overthinking command: accuracy per row for both conditions, n, errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-overthinking-'));
  const task = join(dir, 'task.jsonl');
  writeFileSync(task, readFileSync('data/overthinking/pronoun.jsonl', 'utf8').trim().split('\n').slice(0, 6).join('\n') + '\n');
  assert.equal(await main(['overthinking', '--task', task, '--logit', '--output', dir, '--seed', '2']), 0);
  const j = JSON.parse(readFileSync(join(dir, 'overthinking.json'), 'utf8')) as { true_demos: number[]; false_demos: number[]; n: number; layers: string[]; provenance: { seed: number } };
  assert.equal(j.n, 6);
  assert.equal(j.true_demos.length, 6); // 5 layers + output
  assert.equal(j.false_demos.length, 6);
  assert.deepEqual(j.layers, ['0', '1', '2', '3', '4', 'output']);
  for (const a of [...j.true_demos, ...j.false_demos]) assert.ok(a >= 0 && a <= 1 && Math.abs(a * 6 - Math.round(a * 6)) < 1e-9); // k of 6 examples
  assert.equal(j.provenance.seed, 2);
  const one = join(dir, 'one.jsonl');
  writeFileSync(one, '{"demos": [{"text": "a.", "label": "He"}], "query": "b.", "label": "He"}\n');
  const err = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['overthinking', '--task', one, '--logit', '--output', dir]), 1);
  } finally {
    process.stderr.write = err;
  }
  assert.match(stderr, /need at least 2 label words/);
});
