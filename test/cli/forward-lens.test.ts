/** The CLI contract of `forward --json` and `lens`, checked against golden numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { sharedDir } from '../helpers/shared-data.js';
import { flat, goldenPath, maxAbsDiff, readGolden, type StoriesPrompt } from '../helpers/golden.js';

test('forward --json prints ids, tokens, logits, hidden states and final_norm_input matching the golden run', async () => {
  const golden = readGolden<StoriesPrompt>('stories260K', 'prompt_0.json');
  const r = await runCli(['forward', golden.prompt, '--model', 'stories260K', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { input_ids: number[]; tokens: string[]; logits: number[][]; hidden_states: number[][][]; final_norm_input: number[][] };
  assert.deepEqual(out.input_ids, golden.input_ids);
  assert.equal(out.tokens[0], '\n<s>\n');
  assert.equal(out.hidden_states.length, 6);
  assert.ok(maxAbsDiff(flat(out.logits), flat(golden.logits)) < 1e-4);
  out.hidden_states.forEach((h, i) => assert.ok(maxAbsDiff(flat(h), flat(golden.hidden_states[i])) < 1e-5, `hidden ${i}`));
  assert.ok(maxAbsDiff(flat(out.final_norm_input), flat(golden.final_norm_input)) < 1e-5);
});

test('forward --ids takes token ids instead of text', async () => {
  const r = await runCli(['forward', '--ids', '1,410,2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { input_ids: number[]; logits: number[][] };
  assert.deepEqual(out.input_ids, [1, 410, 2]);
  assert.equal(out.logits.length, 3);
  assert.equal(out.logits[0]!.length, 512);
});

test('lens prints the logit-lens table with the golden top-1 tokens (output on top)', async () => {
  const r = await runCli(['lens', 'Once upon a time, there was a little girl named Lily.', '--width', '400']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const row = (label: string): string => lines.find((l) => l.startsWith(`${label} `))!;
  // Golden README: last-position top-1 for layers 0..4 is ".", ".", " ", " ", " One"; the model says " She".
  assert.match(row('output'), /_She 0\.\d\d\s*$/);
  assert.match(row('4'), /_One 0\.\d\d\s*$/);
  assert.match(row('0'), /\. 1\.00\s*$/);
  assert.ok(lines.indexOf(row('output')) < lines.indexOf(row('0')), 'output row is printed above layer 0');
});

test('errors go to stderr with a non-zero exit code', async () => {
  const bad = await runCli(['forward', '--ids', '1,x']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--ids must be a comma-separated list/);
  const missing = await runCli(['lens', 'hi', '--model', '/nonexistent/model.bin']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /error/);
  const unknown = await runCli(['frobnicate']);
  assert.notEqual(unknown.code, 0);
});

test('lens --lens shows the tuned lens (top-1 as the reference computed it); --compare shows both side by side', async () => {
  const golden = readGolden<{ outputs: { prompt: string; tuned_lens_top1: number[][] }[] }>('reference-lens', 'lens_outputs.json').outputs[0]!;
  const lensDir = goldenPath('reference-lens', 'lens');
  const r = await runCli(['lens', golden.prompt, '--lens', lensDir, '--width', '400']);
  assert.equal(r.code, 0, r.stderr);
  const { loadLlama2cTokenizer } = await import('../../src/tokenizers/llama2c-tokenizer.js');
  const { nodeFileSystem } = await import('../../src/node/file-system.js');
  const { vocabularyPieces } = await import('../../src/trajectory/token-display.js');
  const { TokenFormatter } = await import('../../src/trajectory/token-formatter.js');
  const tok = await loadLlama2cTokenizer(nodeFileSystem, `${sharedDir()}/models/stories260K/tok512.bin`, 512);
  const labels = vocabularyPieces(tok).map((p) => new TokenFormatter({ maxStringLen: 10 }).format(p));
  const lines = r.stdout.split('\n');
  for (let layer = 0; layer < 5; layer++) {
    const row = lines.find((l) => l.startsWith(`${layer} `))!;
    const cells = row.slice(row.indexOf(' ')).trim().split(/ \d\.\d\d\s*/).filter((c) => c !== '');
    assert.deepEqual(cells, golden.tuned_lens_top1[layer]!.map((id) => labels[id]), `layer ${layer} top-1 tokens`);
  }
  const cmp = await runCli(['lens', 'The cat sat', '--lens', lensDir, '--compare', '--width', '400']);
  assert.equal(cmp.code, 0, cmp.stderr);
  assert.match(cmp.stdout, /logit lens\s+│ tuned lens/);
});
