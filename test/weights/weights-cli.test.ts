import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDir } from '../helpers/shared-data.js';
import { runCli } from '../helpers/cli.js';
import { goldenPath } from '../helpers/golden.js';

test('tuned-lens weights writes table3.json (4 rows × sources), vectors.jsonl, figures; the built word vectors are cached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-weights-'));
  try {
    const env = { TUNED_LENS_CACHE: join(dir, 'cache') };
    const corpus = join(sharedDir(), 'corpora', 'tinystories_sample.txt');
    const args = ['weights', '--lens', goldenPath('reference-lens', 'lens'), '--output', join(dir, 'out'), '--k', '5', '--layers', '4', '--sources', 'w_out_rows,ov_svd_left', '--corpus', corpus];
    const r = await runCli(args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /building word vectors/);
    const table = JSON.parse(readFileSync(join(dir, 'out', 'table3.json'), 'utf8'));
    assert.deepEqual(Object.keys(table.rows).sort(), ['logit_random', 'logit_real', 'tuned_random', 'tuned_real']);
    for (const row of Object.values(table.rows) as Record<string, number>[]) assert.deepEqual(Object.keys(row).sort(), ['ov_svd_left', 'w_out_rows']);
    assert.equal(table.provenance.command, 'weights');
    assert.equal(table.provenance.settings.k, 5);
    const lines = readFileSync(join(dir, 'out', 'vectors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // stories260K: 172 neurons + 8 heads × 8 singular vectors × 2 signs, for 2 lenses × real/random.
    assert.equal(lines.length, 4 * (172 + 8 * 8 * 2));
    assert.equal(lines[0].tokens.length, 5);
    assert.ok(['layer', 'source', 'index', 'singular_value', 'tokens', 'score'].every((k) => k in lines[0]));
    for (const f of ['table3.svg', 'layers_w_out_rows.svg', 'vectors.html']) assert.ok(existsSync(join(dir, 'out', f)), f);
    // The built vectors are cached (word2vec text) where the provenance says.
    const cached = table.provenance.settings.word_vectors.path as string;
    assert.ok(cached.startsWith(join(dir, 'cache', 'word-vectors')) && existsSync(cached));
    const bad = await runCli(['weights', '--lens', goldenPath('reference-lens', 'lens'), '--output', join(dir, 'x'), '--sources', 'w_up'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--sources: unknown "w_up"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
