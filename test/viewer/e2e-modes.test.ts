/**
 * The grid modes in a real browser (Debian's chromium via playwright-core), one case per mode, in one page:
 * prediction depth from a shared link, layer differences, sub-layer reads (with the tuned-lens note, a
 * reload from the URL and an export). Screenshots land in test-artifacts/viewer/ (copied to docs/viewer/).
 *
 * Skipped (with a message) where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { gridDepths } from '../../src/viewer/grid-modes.js';
import { chromiumSkip } from '../helpers/chromium.js';
import { cellPoint, closeViewerInBrowser, heatmapLayout, openViewerInBrowser } from '../helpers/viewer-browser.js';
import type { ViewerServer } from '../../src/viewer/server.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/viewer/', import.meta.url));

const skip = chromiumSkip('the grid-mode browser test');

let server: ViewerServer;
let context: BrowserContext;
let page: Page;
let profile: string;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  ({ server, context, page, profile } = await openViewerInBrowser({ browser: { viewport: { width: 1280, height: 900 }, acceptDownloads: true } }, problems));
});

after(async () => {
  if (!skip) await closeViewerInBrowser({ server, context, profile });
});

async function hover(p: Page, panel: number, row: number, col: number): Promise<void> {
  await p.locator(`.panel[data-panel="${panel}"] .heatmap`).scrollIntoViewIfNeeded();
  const pt = await cellPoint(p, panel, row, col);
  await p.mouse.move(pt.x, pt.y);
}

const panelKeys = (p: Page): Promise<string[]> => p.locator('.panel').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key ?? ''));

test('depth mode from a shared link: depths over the columns, settled cells, the depth in the side panel', { skip, timeout: 120_000 }, async () => {
  await page.goto(`${server.url}?prompt=${encodeURIComponent(PROMPT)}&lens=tuned&mode=depth`);
  await page.waitForSelector('body[data-initialised="true"]');
  await page.waitForFunction(() => document.querySelector('.panel')?.getAttribute('data-key') === 'depth-0', null, { timeout: 60_000 });
  assert.equal(await page.inputValue('#grid-mode'), 'depth');
  assert.equal(await page.locator('#statistic-label').isVisible(), false, 'depth has its own colours');
  // The numbers over the columns are the depths of the tuned lens's trajectory (predictionDepth of its top-1s).
  const resp = await server.engine.trajectory(server.engine.parseTrajectoryRequest({ model: 0, lens: 'tuned', prompt: PROMPT }));
  const depths = gridDepths(resp.grids[0]!);
  const texts = await page.locator('.panel[data-panel="0"] .heatmap svg text').allTextContents();
  const joined = texts.join('|');
  assert.ok(joined.includes(depths.map(String).join('|')), `depth labels ${depths.join(',')} in ${joined}`);
  assert.match((await page.textContent('#notice'))!, /Prediction depth/);
  // Hover the output cell of the deepest position: the side panel names its depth.
  const t = depths.indexOf(Math.max(...depths));
  await hover(page, 0, 5, t);
  await page.waitForFunction(() => /Prediction depth \d of 5/.test(document.querySelector('#cell-info')?.textContent ?? ''));
  assert.match((await page.textContent('#cell-info'))!, new RegExp(`Prediction depth ${depths[t]} of 5`));
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'modes-1-depth.png'), fullPage: true });
});

test('layer differences: a panel per lens coloured by the distance menu, the rising token in the side panel', { skip, timeout: 120_000 }, async () => {
  await page.selectOption('#lens', 'compare');
  await page.waitForFunction(() => document.querySelectorAll('.panel[data-key^="depth-"]').length === 2, null, { timeout: 60_000 });
  await page.selectOption('#grid-mode', 'delta');
  await page.waitForFunction(() => document.querySelectorAll('.panel[data-key^="delta-"]').length === 2, null, { timeout: 60_000 });
  assert.deepEqual(await panelKeys(page), ['delta-0', 'delta-1']);
  assert.match(page.url(), /mode=delta/);
  assert.equal(await page.locator('#distance-label').isVisible(), true, 'the distance menu colours the differences');
  assert.equal(await page.locator('#statistic-label').isVisible(), false);
  assert.match((await page.locator('.panel[data-panel="1"] .panel-head').textContent())!, /tuned lens.*layer differences, KL divergence/);
  await hover(page, 1, 3, 4);
  await page.waitForFunction(() => /From layer 2 to layer 3 \(tuned lens\): KL [\d.]+ nats/.test(document.querySelector('#cell-info')?.textContent ?? ''));
  assert.match((await page.textContent('#cell-info'))!, /Rose most: .+ \+\d/);
  // JS instead of KL: redrawn from the same response.
  await page.selectOption('#distance', 'js');
  await page.waitForFunction(() => /layer differences, Jensen/.test(document.querySelector('.panel[data-panel="0"] .panel-head')?.textContent ?? ''));
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'modes-2-layer-differences.png'), fullPage: true });
});

test('sub-layer reads: ".attn" rows between the block rows, logit lens for them under a tuned lens, kept by the link, exported', { skip, timeout: 120_000 }, async () => {
  await page.selectOption('#lens', 'tuned');
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 1, null, { timeout: 60_000 });
  await page.selectOption('#grid-mode', 'sublayer');
  await page.waitForFunction(() => (document.querySelector('#notice')?.textContent ?? '').includes('translators exist only for block outputs'), null, { timeout: 60_000 });
  assert.equal((await heatmapLayout(page)).rows, 11, 'input, 0.attn, 1, 1.attn, …, 4, 4.attn, output');
  const texts = await page.locator('.panel[data-panel="0"] .heatmap svg text').allTextContents();
  for (const label of ['0.attn', '4.attn', 'output', 'input']) assert.ok(texts.includes(label), `row label ${label}`);
  assert.match((await page.locator('.panel[data-panel="0"] .panel-head').textContent())!, /\.attn rows: logit lens/);
  assert.equal(await page.locator('#statistic-label').isVisible(), true, 'every statistic works on sub-layer rows');
  // Display row 9 is 4.attn: the side panel lists its top-10.
  await hover(page, 0, 9, 15);
  await page.waitForFunction(() => document.querySelector('#cell-info b')?.textContent?.startsWith('layer 4.attn · #15'));
  assert.equal(await page.locator('#top-lists .top-list[data-grid="0"] button').count(), 10);
  assert.match((await page.textContent('#cell-info'))!, /Row 4\.attn: the logit lens on the residual after block 4's attention.*translators exist only for block outputs/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'modes-3-sublayer.png'), fullPage: true });

  // The link reopens the same mode.
  assert.match(page.url(), /mode=sublayer/);
  await page.goto(page.url());
  await page.waitForFunction(() => document.querySelector('.panel .heatmap')?.getAttribute('data-layout')?.includes('"rows":11'), null, { timeout: 60_000 });
  assert.equal(await page.inputValue('#grid-mode'), 'sublayer');

  // Export: the server renders the same interleaved panel.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.panel[data-panel="0"] button[data-export="svg"]').click()]);
  assert.match(download.suggestedFilename(), /^tuned-lens-stories260K.*\.svg$/);
  const path = await download.path();
  const svg = (await import('node:fs')).readFileSync(path!, 'utf8');
  assert.ok(svg.includes('4.attn'), 'the exported figure has the sub-layer rows');

  assert.deepEqual(problems, [], 'no console errors, page errors or server errors');
});
