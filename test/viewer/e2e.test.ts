/**
 * The viewer in a real browser: Debian's chromium driven by playwright-core. Types the prompt, checks
 * the grid's top-1 tokens, hovers a cell for its top-10, pins tokens, reloads from the URL, switches to
 * side-by-side, shows a too-long-prompt error, and exports. Screenshots land in test-artifacts/viewer/.
 *
 * Skipped (with a message) where chromium is not installed; CI installs it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip } from '../helpers/chromium.js';
import { cellPoint, closeViewerInBrowser, heatmapLayout, openViewerInBrowser } from '../helpers/viewer-browser.js';
import { loadModel } from '../../src/node/load-model.js';
import type { ViewerServer } from '../../src/viewer/server.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/viewer/', import.meta.url));

const skip = chromiumSkip('the viewer browser test');

let server: ViewerServer;
let context: BrowserContext;
let page: Page;
let profile: string;
let releaseModel: () => void = () => {};
const problems: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  // The model load waits for the test's go-ahead, so the progress display can be seen deterministically.
  const gate = new Promise<void>((r) => (releaseModel = r));
  const loaders = {
    loadModel: async (spec: string) => {
      await gate;
      return loadModel(spec);
    },
  };
  ({ server, context, page, profile } = await openViewerInBrowser({ server: { loaders }, browser: { viewport: { width: 1500, height: 1000 }, acceptDownloads: true } }, problems));
});

after(async () => {
  if (skip) return;
  releaseModel();
  await closeViewerInBrowser({ server, context, profile });
});

async function topListTokens(p: Page, grid = 0): Promise<string[]> {
  return p.locator(`#top-lists .top-list[data-grid="${grid}"] button .tok`).allTextContents();
}

async function waitReady(p: Page, previous: string | null): Promise<string> {
  await p.waitForFunction((prev) => document.body.dataset.ready !== undefined && document.body.dataset.ready !== prev, previous, { timeout: 60_000 });
  return (await p.evaluate(() => document.body.dataset.ready))!;
}

test('viewer in chromium: grid, hover top-10, pins, URL state, side by side, errors, export', { skip, timeout: 180_000 }, async () => {
  await page.goto(server.url);
  await page.waitForSelector('body[data-initialised="true"]');
  assert.equal(await page.locator('#model option').count(), 1);

  // Enter the prompt and compute the logit lens.
  await page.fill('#prompt', PROMPT);
  await page.click('#run');
  // Progress is shown while the server works (here: held in the model load).
  await page.waitForFunction(() => /Loading model stories260K \(step 1 of 2\)/.test(document.querySelector('#progress .text')?.textContent ?? ''));
  assert.equal(await page.locator('#progress').isVisible(), true);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '0-progress.png') });
  releaseModel();
  let ready = await waitReady(page, null);
  assert.equal(await page.locator('#progress').isVisible(), false);
  const svgTexts = await page.locator('.panel[data-panel="0"] .heatmap svg text').allTextContents();
  assert.ok(svgTexts.includes('_She'), 'the output row shows " She"');
  assert.ok(svgTexts.includes('_One'), 'layer 4 shows " One"');
  assert.match(page.url(), /prompt=Once\+upon/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '1-logit-lens.png'), fullPage: true });

  // Hover cells: the side panel lists the top-10; the top-1 at the last position is " She" (output) and " One" (layer 4).
  const layout = await heatmapLayout(page, 0);
  assert.deepEqual([layout.rows, layout.cols], [6, 16]);
  const layer4 = await cellPoint(page, 0, 4, 15);
  await page.mouse.move(layer4.x, layer4.y);
  await page.waitForFunction(() => document.querySelector('#cell-info b')?.textContent?.startsWith('layer 4 · #15'));
  assert.equal((await topListTokens(page))[0], '_One');
  const out = await cellPoint(page, 0, 5, 15);
  await page.mouse.move(out.x, out.y);
  await page.waitForFunction(() => document.querySelector('#cell-info b')?.textContent?.startsWith('output · #15'));
  const top10 = await topListTokens(page);
  assert.equal(top10.length, 10);
  assert.equal(top10[0], '_She');
  // The ECharts tooltip shows the same top-10 next to the cursor.
  await page.waitForFunction(() => Array.from(document.querySelectorAll('div')).some((d) => d.style.display !== 'none' && /output · #15/.test(d.textContent ?? '') && d.closest('.panel') !== null));
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '2-hover-top10.png'), fullPage: true });

  // Click the cell to keep it, then pin " She" and the second-ranked token from the side panel.
  await page.mouse.click(out.x, out.y);
  await page.waitForFunction(() => document.querySelector('#cell-info')?.textContent?.includes('Kept'));
  await page.locator('#top-lists .top-list[data-grid="0"] button').nth(0).click();
  await page.locator('#top-lists .top-list[data-grid="0"] button').nth(1).click();
  await page.waitForSelector('#pin-chart:not([hidden]) svg');
  await page.waitForFunction(() => document.querySelectorAll('#pins .chip').length === 2 && !document.querySelector('#pins')!.textContent!.includes('…'));
  const chips = await page.locator('#pins .chip').allTextContents();
  assert.match(chips[0]!, /^_She/);
  const chartTexts = await page.locator('#pin-chart svg text').allTextContents();
  // The chips are the chart's legend; its series carry the token names.
  const seriesNames = await page.evaluate(() => {
    const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { series: { name: string }[] } } } }).echarts;
    return ec.getInstanceByDom(document.querySelector('#pin-chart') as HTMLElement).getOption().series.map((s) => s.name);
  });
  assert.ok(seriesNames.some((t) => t.includes('_She')), `pin chart series: ${seriesNames.join('|')}`);
  assert.ok(chartTexts.some((t) => t.includes('Position #15')));
  const paths = await page.locator('#pin-chart svg path').count();
  assert.ok(paths > 4, 'the pin chart draws lines');
  assert.match(page.url(), /pins=\d+%2C\d+|pins=\d+,\d+/);
  assert.match(page.url(), /cell=0\.5\.15/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '3-pinned.png'), fullPage: true });

  // A link reopens the same view: prompt, kept cell and both pins.
  await page.goto(page.url());
  ready = await waitReady(page, null);
  assert.equal(await page.inputValue('#prompt'), PROMPT);
  await page.waitForFunction(() => document.querySelectorAll('#pins .chip').length === 2 && document.querySelector('#pin-chart svg') !== null);
  assert.match((await page.locator('#cell-info b').textContent())!, /^output · #15/);
  // Remove a pin.
  await page.locator('#pins .chip').nth(1).locator('button').click();
  assert.equal(await page.locator('#pins .chip').count(), 1);

  // View-only changes redraw at once: stride 2 keeps layers 0, 2, 4 and the output.
  await page.fill('#stride', '2');
  await page.dispatchEvent('#stride', 'change');
  ready = await waitReady(page, ready);
  const strided = await heatmapLayout(page, 0);
  assert.equal(strided.rows, 4);
  assert.match(page.url(), /stride=2/);

  // Side by side: two panels, and the kept cell lists the logit lens's top-10.
  await page.selectOption('#lens', 'compare');
  ready = await waitReady(page, ready);
  // Other redraws (pins arriving) also bump the ready counter, so wait for the state itself.
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 2, null, { timeout: 60_000 });
  assert.equal(await page.locator('.panel').count(), 2);
  assert.match((await page.locator('.panel[data-panel="1"] .panel-head').textContent())!, /tuned lens/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '4-side-by-side.png'), fullPage: true });

  // Two prompts: A, B and their distance.
  await page.selectOption('#lens', 'tuned');
  ready = await waitReady(page, ready);
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 1, null, { timeout: 60_000 });
  await page.fill('#prompt2', 'Once upon a time, there was a little boy named Tom.');
  await page.click('#run');
  ready = await waitReady(page, ready);
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 3, null, { timeout: 60_000 });
  assert.equal(await page.locator('.panel').count(), 3);
  assert.match((await page.locator('.panel[data-panel="2"] .panel-head').textContent())!, /prompt A vs B/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '5-two-prompts.png'), fullPage: true });

  // Export the distance panel as SVG through the server.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.panel[data-panel="2"] button[data-export="svg"]').click()]);
  assert.match(download.suggestedFilename(), /^tuned-lens-stories260K.*\.svg$/);

  // Too long for the model: a clear message, no hang.
  await page.fill('#prompt2', '');
  await page.fill('#prompt', 'Once upon a time '.repeat(200));
  await page.click('#run');
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /tokens long, but stories260K takes at most 512 tokens/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, '6-too-long.png'), fullPage: false });

  // Chromium logs every non-2xx fetch; the 400 of the too-long prompt above is intended.
  const unexpected = problems.filter((m) => !/Failed to load resource: the server responded with a status of 400/.test(m));
  assert.deepEqual(unexpected, [], 'no console errors, page errors or server errors');
});
