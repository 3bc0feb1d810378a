/**
 * `tuned-lens injection` end to end on stories260K with a small slice of the demo data: the JSON layout of
 * the contract, held-out indices, determinism for a seed, a saved detector reused, and clear errors.
 * (The full demo-set AUROCs are in docs/applications.md; they take about a minute.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

/**
 * Runs the CLI in this process (sessions stay cached between calls), capturing stderr. stdout is left
 * alone: the test reporter writes there, and the one line the command prints is harmless.
 */
async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = err;
  }
}

const LENS = '../shared/golden/reference-lens/lens';
const dir = mkdtempSync(join(tmpdir(), 'tl-injection-'));
const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n');
const normal = join(dir, 'normal.jsonl');
const suspect = join(dir, 'suspect.jsonl');
writeFileSync(normal, lines('data/injection/normal.jsonl').slice(0, 16).join('\n') + '\n');
// The suspects as pre-tokenized ids for one line, text for the others (both formats are accepted).
writeFileSync(suspect, [...lines('data/injection/suspect.jsonl').slice(0, 7), JSON.stringify({ input_ids: [1, 410, 300, 301, 30] })].join('\n') + '\n');

interface InjectionJson {
  provenance: { command: string; schema_version: number; seed: number; lens: { spec: string } | null; data: { path: string }[] };
  auroc: { iforest: number | null; lof: number | null };
  ci95: { iforest: [number, number] | null; lof: [number, number] | null };
  baseline: { auroc: { iforest: number | null; lof: number | null }; ci95: object };
  scores: { set: string; index: number; iforest: number; lof: number }[];
}

test('injection: contract layout, held-out split, determinism, saved detector, errors', async () => {
  const out = join(dir, 'a');
  const det = join(dir, 'det.json');
  const r = await runCli(['injection', '--lens', LENS, '--normal', normal, '--suspect', suspect, '--output', out, '--seed', '3', '--bootstrap', '200', '--save-detector', det]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(join(out, 'injection.json'), 'utf8')) as InjectionJson;
  assert.equal(j.provenance.command, 'injection');
  assert.equal(j.provenance.seed, 3);
  assert.equal(j.provenance.lens!.spec, LENS);
  assert.equal(j.provenance.data.length, 2);
  for (const d of ['iforest', 'lof'] as const) {
    assert.ok(j.auroc[d]! >= 0 && j.auroc[d]! <= 1);
    assert.ok(j.ci95[d]![0] <= j.ci95[d]![1]);
    assert.ok(j.baseline.auroc[d]! >= 0 && j.baseline.auroc[d]! <= 1);
  }
  // 16 normal × 0.75 = 12 fit the detectors; 4 held-out normal + all 8 suspects are scored.
  const held = j.scores.filter((s) => s.set === 'normal');
  assert.equal(held.length, 4);
  assert.deepEqual(j.scores.filter((s) => s.set === 'suspect').map((s) => s.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (const s of held) assert.ok(Number.isInteger(s.index) && s.index >= 0 && s.index < 16);
  for (const s of j.scores) assert.ok(s.iforest > 0 && s.iforest <= 1 && s.lof > 0);
  assert.ok(existsSync(join(out, 'roc.svg')) && existsSync(join(out, 'roc.png')));

  // Same seed → same split and scores.
  const out2 = join(dir, 'b');
  assert.equal((await runCli(['injection', '--lens', LENS, '--normal', normal, '--suspect', suspect, '--output', out2, '--seed', '3', '--bootstrap', '200'])).code, 0);
  const j2 = JSON.parse(readFileSync(join(out2, 'injection.json'), 'utf8')) as InjectionJson;
  assert.deepEqual(j2.scores, j.scores);
  assert.deepEqual(j2.ci95, j.ci95);

  // A saved detector scores every given prompt; the held-out ones get the same scores as before.
  const out3 = join(dir, 'c');
  const r3 = await runCli(['injection', '--lens', LENS, '--normal', normal, '--suspect', suspect, '--output', out3, '--detector', det, '--bootstrap', '200']);
  assert.equal(r3.code, 0, r3.stderr);
  const j3 = JSON.parse(readFileSync(join(out3, 'injection.json'), 'utf8')) as InjectionJson;
  assert.equal(j3.scores.length, 24);
  for (const s of j.scores) {
    const again = j3.scores.find((t) => t.set === s.set && t.index === s.index)!;
    assert.ok(Math.abs(again.iforest - s.iforest) < 1e-12 && Math.abs(again.lof - s.lof) < 1e-12);
  }
  const wrongLens = await runCli(['injection', '--logit', '--suspect', suspect, '--output', out3, '--detector', det]);
  assert.notEqual(wrongLens.code, 0);
  assert.match(wrongLens.stderr, /fitted on tuned lens features/);

  // Clear errors for empty sets, sets too small for the split, bad lines.
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '\n');
  const two = join(dir, 'two.jsonl');
  writeFileSync(two, '{"text": "One day."}\n{"text": "The end."}\n');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"text": "ok"}\n{"txt": 3}\n');
  const run = (n: string, s: string) => runCli(['injection', '--logit', '--normal', n, '--suspect', s, '--output', join(dir, 'x')]);
  const e1 = await run(empty, suspect);
  assert.notEqual(e1.code, 0);
  assert.match(e1.stderr, /--normal .*empty\.jsonl: the file has no examples/);
  const e2 = await run(two, suspect);
  assert.match(e2.stderr, /2 normal prompts are too few .* 1 would fit the detectors \(need ≥ 2\)/);
  const e3 = await run(normal, bad);
  assert.match(e3.stderr, /--suspect .*bad\.jsonl, line 2: needs a "text" string or an "input_ids" array/);
  const e4 = await runCli(['injection', '--normal', normal, '--suspect', suspect, '--output', dir]);
  assert.match(e4.stderr, /--lens <lens> \(tuned lens\) or --logit/);
});
