/**
 * The viewer's causal basis panel in chromium (`serve --bases DIR`): the panel lists a layer's directions
 * with the energies of bases.json, ablating one recomputes the prompt, and the KL(original ‖ ablated) it
 * shows in every cell equals an independent Node computation: the library's forward pass with the
 * direction mean-ablated at hidden_states[layer] (interventions), each lens row decoded in float64
 * (test/causal/helpers.ts), the output row from the model's logits.
 *
 * Skipped (with a message) where chromium is not installed; CI installs it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { runCliInProcess } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';
import { kl64, lensLogProbs64 } from '../causal/helpers.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { basisColumn, readCausalBases } from '../../src/causal/bases-file.js';
import { subspaceAblationEdits } from '../../src/causal/interventions.js';
import { chromiumSkip } from '../helpers/chromium.js';
import { closeViewerInBrowser, openViewerInBrowser, REFERENCE_LENS_DIR as LENS_DIR } from '../helpers/viewer-browser.js';
import type { ViewerServer } from '../../src/viewer/server.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/viewer/', import.meta.url));
const LAYER = 2;
const DIRECTION = 0;

const skip = chromiumSkip('the causal panel browser test');

let server: ViewerServer;
let context: BrowserContext;
let page: Page;
let profile: string;
let dir: string;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(nodePath.join(tmpdir(), 'tl-causal-panel-'));
  // A small causal basis of the reference lens (3 directions at layers 1 and 2), made by the command itself.
  const ids = readGolden<{ input_ids: number[][] }>('causal', 'ablate_layer.json').input_ids;
  const data = nodePath.join(dir, 'tokens.jsonl');
  writeFileSync(data, ids.slice(0, 2).map((s) => JSON.stringify({ input_ids: s.slice(0, 64) })).join('\n') + '\n');
  const r = await runCliInProcess(['causal-basis', '--lens', LENS_DIR, '--data', data, '--output', nodePath.join(dir, 'bases'), '--k', '3', '--layers', `1,${LAYER}`, '--max-iter', '12']);
  assert.equal(r.code, 0, r.stderr);
  ({ server, context, page, profile } = await openViewerInBrowser({ server: { bases: { stories260K: nodePath.join(dir, 'bases') } }, browser: { viewport: { width: 1400, height: 1000 } } }, problems));
});

after(async () => {
  if (skip) return;
  await closeViewerInBrowser({ server, context, profile });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Per cell [row][position] KL(original ‖ ablated), float64, from the library's ablated forward pass. */
async function independentKl(): Promise<{ kl: number[]; changedTop1: number[] }> {
  const model = await loadModel('stories260K');
  const lens = await loadTunedLens(model, LENS_DIR);
  const bases = await readCausalBases(nodeFileSystem, nodePath.join(dir, 'bases'), { name: model.name, dModel: 64, nLayers: model.nLayers });
  const basis = bases.layers.find((l) => l.layer === LAYER)!;
  const ids = model.encode(PROMPT);
  const T = ids.length;
  const d = model.config.dModel;
  const V = model.config.vocabSize;
  const clean = await model.forward({ ids: [ids] });
  const ablated = await model.forward({ ids: [ids] }, { edits: subspaceAblationEdits({ index: LAYER, basis: basisColumn(basis, DIRECTION), mode: 'mean', mean: basis.mean }) });
  const L = model.nLayers;
  const kl: number[] = [];
  const changedTop1: number[] = [];
  const argmax = (a: Float64Array): number => a.reduce((best, v, i) => (v > a[best]! ? i : best), 0);
  const logSoftmax = (row: Float32Array): Float64Array => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    return Float64Array.from(row, (x) => x - lse);
  };
  for (let r = 0; r <= L; r++) {
    let changed = 0;
    for (let t = 0; t < T; t++) {
      let lp: Float64Array;
      let lq: Float64Array;
      if (r < L) {
        const a = clean.hiddenStates[r]!.data as Float32Array;
        const b = ablated.hiddenStates[r]!.data as Float32Array;
        lp = lensLogProbs64(lens, r, a.subarray(t * d, (t + 1) * d));
        lq = lensLogProbs64(lens, r, b.subarray(t * d, (t + 1) * d));
      } else {
        lp = logSoftmax((clean.logits.data as Float32Array).subarray(t * V, (t + 1) * V));
        lq = logSoftmax((ablated.logits.data as Float32Array).subarray(t * V, (t + 1) * V));
      }
      kl.push(kl64(lp, lq));
      if (argmax(lp) !== argmax(lq)) changed++;
    }
    changedTop1.push(changed);
  }
  return { kl, changedTop1 };
}

test('causal basis panel in chromium: directions and energies, ablation, KL checked against an independent computation', { skip, timeout: 300_000 }, async () => {
  const expected = independentKl();
  await page.goto(`${server.url}?lens=tuned&prompt=${encodeURIComponent(PROMPT)}`);
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 150_000 });
  await page.waitForSelector('#causal:not([hidden])');
  assert.deepEqual(await page.locator('#causal-layer option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['1', String(LAYER)]);
  await page.selectOption('#causal-layer', String(LAYER));

  // The list: one row per direction with the energies of bases.json and the ±v tokens.
  const meta = JSON.parse(readFileSync(nodePath.join(dir, 'bases', 'bases.json'), 'utf8')) as { layers: { layer: number; energies: number[]; directions: { top_tokens_plus: { token: string }[] }[] }[] };
  const entry = meta.layers.find((l) => l.layer === LAYER)!;
  const rows = page.locator('#causal-directions tbody tr');
  assert.equal(await rows.count(), 3);
  const energies = await page.locator('#causal-directions tbody tr td:nth-child(3)').allTextContents();
  assert.deepEqual(energies, entry.energies.map((e) => e.toFixed(4)));
  const plus = (await page.locator('#causal-directions tbody tr td:nth-child(4)').first().textContent())!;
  assert.ok(plus.trim().length > 0, 'the +v tokens are listed');

  // Ablate direction 0 of the layer: two panels (ablated grid, KL from the original) and the per-row table.
  await rows.nth(DIRECTION).locator('button').click();
  // The result, or the page's error message: either way the test stops waiting, and says what happened.
  await page.waitForSelector('#causal-result[data-ready], #error:not([hidden])', { timeout: 150_000 }).catch((e: Error) => {
    throw new Error(`${e.message}\nproblems so far: ${JSON.stringify(problems)}`);
  });
  const shownError = (await page.locator('#error:not([hidden])').count()) ? (await page.locator('#error').textContent())?.trim() : '';
  assert.ok(!shownError, `the page shows an error: ${shownError}; problems: ${JSON.stringify(problems)}`);
  assert.equal(await page.locator('#causal-result .panel').count(), 2);
  assert.match((await page.locator('#causal-result .panel').nth(1).locator('.panel-head').textContent())!, /direction 0 ablated/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'causal-panel.png'), fullPage: true });

  const shown = JSON.parse((await page.locator('#causal-result').getAttribute('data-kl'))!) as (number | null)[];
  const { kl, changedTop1 } = await expected;
  assert.equal(shown.length, kl.length);
  const T = kl.length / 6;
  for (let i = 0; i < kl.length; i++) {
    const row = Math.floor(i / T);
    const got = shown[i]!;
    // Rows below the ablated layer read unchanged hidden states.
    if (row < LAYER) assert.ok(Math.abs(got) < 1e-6, `row ${row} pos ${i % T}: KL ${got} should be 0`);
    // 5 significant digits on the wire; float32 graph vs float64 here.
    assert.ok(Math.abs(got - kl[i]!) <= 2e-3 * kl[i]! + 2e-5, `row ${row} pos ${i % T}: shown ${got}, independent ${kl[i]}`);
  }
  assert.ok(kl.slice(LAYER * T).some((v) => v > 1e-3), 'the ablation changes the predictions from its layer on');

  // The per-row table: mean KL (4 digits) and top-1 changes, output row first.
  const tableRows = await page.locator('#causal-result table.causal-rows tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? '')));
  assert.equal(tableRows.length, 6);
  tableRows.forEach((cells, i) => {
    const row = 5 - i;
    const mean = kl.slice(row * T, (row + 1) * T).reduce((a, b) => a + b, 0) / T;
    const got = Number(cells[1]);
    assert.ok(Math.abs(got - mean) <= 2e-3 * mean + 2e-5, `row ${row}: mean KL shown ${cells[1]}, independent ${mean}`);
    assert.equal(cells[3], `${changedTop1[row]} of ${T}`, `row ${row}: top-1 changes`);
  });

  // Bad requests get clear errors.
  const post = (body: unknown): Promise<Response> => fetch(`${server.url}api/ablate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const base = { model: 0, lens: 'tuned', prompt: PROMPT };
  const noLayer = await post({ ...base, layer: 3, direction: 0 });
  assert.equal(noLayer.status, 400);
  assert.match(((await noLayer.json()) as { error: string }).error, /no layer 3 \(it has 1, 2\)/);
  const noDirection = await post({ ...base, layer: LAYER, direction: 7 });
  assert.equal(noDirection.status, 400);
  assert.match(((await noDirection.json()) as { error: string }).error, /has 3 directions/);
  const notInt = await post({ ...base, layer: 'x', direction: 0 });
  assert.equal(notInt.status, 400);
  assert.deepEqual(problems, [], 'no console errors, page errors or server errors');
});
