import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

test('tuned-lens generate --json: ids = prompt ids then new ids, text = the continuation; greedy from the output layer matches the golden', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-generate-'));
  try {
    const golden = readGolden<{ output_ids: number[] }>('stories260K', 'greedy.json');
    const file = join(dir, 'g.json');
    const r = await runCli(['generate', '--ids', '1', '--layer', '5', '--max-new-tokens', '12', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(out.ids, golden.output_ids.slice(0, 13));
    assert.equal(typeof out.prompt, 'string');
    assert.equal(out.text, r.stdout.replace(/\n$/, ''));
    assert.match(out.text, /Once upon a time/);
    const bad = await runCli(['generate', 'Hi', '--layer', '2']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /choose --lens L or --logit/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tuned-lens surgery --delete 2 on pre-tokenized data: {"baseline_ce", "ce", "change"} matching the reference zero-ablation golden', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-surgery-'));
  try {
    const golden = readGolden<{ input_ids: number[][]; unablated_ce: number; results: { layer_index: number; method: string; ce: number }[] }>('causal', 'ablate_layer.json');
    const data = join(dir, 'chunks.jsonl');
    writeFileSync(data, golden.input_ids.map((ids) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
    const r = await runCli(['surgery', '--data', data, '--delete', '2']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(Math.abs(out.baseline_ce - golden.unablated_ce) < 1e-4);
    assert.ok(Math.abs(out.ce - golden.results.find((x) => x.layer_index === 2 && x.method === 'zero')!.ce) < 2e-4);
    assert.ok(Math.abs(out.change - (out.ce - out.baseline_ce)) < 1e-12);
    assert.deepEqual(out.plan, [0, 1, 3, 4]);
    assert.equal(out.tokens, 1020);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
