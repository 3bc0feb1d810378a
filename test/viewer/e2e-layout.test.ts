/**
 * The viewer's layout for long prompts and small windows in chromium (issue 12, findings 2, 5, 6, 8),
 * with a 98-token prompt at 1280×800 and at 700×800: axis labels never overlap (their rotated boxes are
 * measured), the colour bar is inside the window, cells keep a legible width and the panels of a
 * comparison move their column windows together; the token range is validated inline and can be
 * brushed on the axis; the pin chart is on screen without scrolling, resizes, and previews a hovered
 * token; in a narrow window the side panel stays in view while a cell is hovered.
 *
 * Skipped (with a message) where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip } from '../helpers/chromium.js';
import { cellPoint, closeViewerInBrowser, heatmapLayout, openViewerInBrowser } from '../helpers/viewer-browser.js';
import type { ViewerServer } from '../../src/viewer/server.js';
import { MIN_CELL_WIDTH } from '../../src/viewer/client/token-axis.js';

/** 98 tokens on stories260K. */
const LONG_PROMPT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ' +
  'One day, she saw a big red ball under a tree. She ran to get it, but a small dog took the ball and ran away. ' +
  'Lily was sad, but her mom said they could find';
const T = 98;

const skip = chromiumSkip('the viewer layout browser test');

let server: ViewerServer;
let context: BrowserContext;
let page: Page;
let profile: string;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  ({ server, context, page, profile } = await openViewerInBrowser({ browser: { viewport: { width: 1280, height: 800 } } }, problems));
});

after(async () => {
  if (!skip) await closeViewerInBrowser({ server, context, profile });
});

type Point = [number, number];
interface Label {
  text: string;
  quad: Point[];
}

/** Every text of a panel's chart outside its grid (axis labels, names, title, colour bar), as the rotated box it covers on screen. */
async function outsideLabels(p: Page, panel: number): Promise<Label[]> {
  return p.evaluate((panel) => {
    const chart = document.querySelector(`.panel[data-panel="${panel}"] .heatmap`) as HTMLElement;
    const l = JSON.parse(chart.dataset.layout!) as { left: number; top: number; width: number; height: number };
    const r = chart.getBoundingClientRect();
    const [gx0, gy0] = [r.left + l.left, r.top + l.top];
    const out: { text: string; quad: [number, number][] }[] = [];
    for (const t of Array.from(chart.querySelectorAll<SVGTextElement>('svg text'))) {
      const text = t.textContent?.trim() ?? '';
      if (text === '') continue;
      const b = t.getBBox();
      const m = t.getScreenCTM()!;
      const quad = ([[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]] as const).map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f] as [number, number]);
      const cx = quad.reduce((s, q) => s + q[0], 0) / 4;
      const cy = quad.reduce((s, q) => s + q[1], 0) / 4;
      if (cx > gx0 && cx < gx0 + l.width && cy > gy0 && cy < gy0 + l.height) continue; // a cell's text
      out.push({ text, quad });
    }
    return out;
  }, panel);
}

/** Whether two convex quads overlap by more than `tol` px (separating-axis test). */
function overlaps(a: Point[], b: Point[], tol = 0.5): boolean {
  for (const poly of [a, b]) {
    for (let i = 0; i < poly.length; i++) {
      const [x1, y1] = poly[i]!;
      const [x2, y2] = poly[(i + 1) % poly.length]!;
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const n: Point = [-(y2 - y1) / len, (x2 - x1) / len];
      const proj = (q: Point[]): [number, number] => {
        const v = q.map(([x, y]) => x * n[0] + y * n[1]);
        return [Math.min(...v), Math.max(...v)];
      };
      const [a0, a1] = proj(a);
      const [b0, b1] = proj(b);
      if (a1 - tol <= b0 || b1 - tol <= a0) return false;
    }
  }
  return true;
}

function assertNoOverlap(labels: Label[], where: string): void {
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      assert.ok(!overlaps(labels[i]!.quad, labels[j]!.quad), `${where}: labels "${labels[i]!.text}" and "${labels[j]!.text}" overlap`);
    }
  }
}

/** The colour bar (the gradient-filled rectangle) and its title are inside the window, and nothing makes the page scroll sideways. */
async function assertColourBarInView(p: Page, panel: number, where: string): Promise<void> {
  const box = await p.evaluate((panel) => {
    const chart = document.querySelector(`.panel[data-panel="${panel}"] .heatmap`)!;
    const bar = Array.from(chart.querySelectorAll('svg [fill^="url("]')).map((e) => e.getBoundingClientRect()).sort((a, b) => b.height - a.height)[0];
    const title = Array.from(chart.querySelectorAll('svg text')).find((t) => /\(nats\)|\(probs\)/.test(t.textContent ?? ''))!.getBoundingClientRect();
    return { bar: bar && { left: bar.left, right: bar.right, top: bar.top, bottom: bar.bottom }, title: { left: title.left, right: title.right, top: title.top }, vw: window.innerWidth, vh: window.innerHeight, scrollWidth: document.documentElement.scrollWidth };
  }, panel);
  assert.ok(box.bar, `${where}: a colour bar is drawn`);
  assert.ok(box.bar.left >= 0 && box.bar.right <= box.vw && box.bar.top >= 0 && box.bar.bottom <= box.vh, `${where}: colour bar ${JSON.stringify(box.bar)} inside the ${box.vw}×${box.vh} window`);
  assert.ok(box.title.left >= 0 && box.title.right <= box.vw && box.title.top >= 0, `${where}: colour bar title ${JSON.stringify(box.title)} inside the window`);
  assert.ok(box.scrollWidth <= box.vw, `${where}: the page is ${box.scrollWidth} px wide in a ${box.vw} px window`);
}

/** Window coordinates of the centre of visible display cell (row from the bottom, col from the window's left) of a panel. */

async function open(p: Page, query: Record<string, string>, panels: number): Promise<void> {
  await p.goto(`${server.url}?${new URLSearchParams(query).toString()}`);
  await p.waitForSelector('body[data-initialised="true"]');
  await p.waitForFunction((n) => document.querySelectorAll('.panel .heatmap svg').length === n, panels, { timeout: 30_000 });
}

test('viewer layout in chromium: long prompt at 1280×800 and 700 px, range brush, pin chart, narrow drawer', { skip, timeout: 120_000 }, async () => {
  // --- 1280×800, side by side: legible cells in a window, labels apart, colour bar on screen, windows move together.
  await open(page, { prompt: LONG_PROMPT, lens: 'compare' }, 2);
  const l0 = await heatmapLayout(page, 0);
  assert.equal(l0.total, T);
  assert.ok(l0.cols < T && l0.width / l0.cols >= MIN_CELL_WIDTH, `cells ${l0.width / l0.cols} px wide, ${l0.cols} of ${T} shown`);
  const labels = await outsideLabels(page, 0);
  assertNoOverlap(labels, '1280 px');
  // Every shown column has its token label below the grid, and positions are numbered above it.
  const indices = labels.filter((l) => /^\d+$/.test(l.text)).map((l) => Number(l.text));
  assert.ok(indices.includes(0) && indices.includes(10), `position indices: ${indices.join(',')}`);
  await assertColourBarInView(page, 0, '1280 px');

  // Drag the first panel's slider: the second panel's window follows, and hovering still names the right position.
  const chartBox = (await page.locator('.panel[data-panel="0"] .heatmap').boundingBox())!;
  const sliderY = chartBox.y + chartBox.height - 17;
  await page.mouse.move(chartBox.x + l0.left + 30, sliderY);
  await page.mouse.down();
  await page.mouse.move(chartBox.x + l0.left + 130, sliderY, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => (JSON.parse((document.querySelector('.panel[data-panel="0"] .heatmap') as HTMLElement).dataset.layout!) as { first: number }).first > 0);
  const moved = await heatmapLayout(page, 0);
  assert.equal((await heatmapLayout(page, 1)).first, moved.first, 'both panels show the same columns');
  const c = await cellPoint(page, 1, 5, 2);
  await page.mouse.move(c.x, c.y);
  await page.waitForFunction((t) => document.querySelector('#cell-info b')?.textContent?.startsWith(t), `output · #${moved.first + 2} `);
  assertNoOverlap(await outsideLabels(page, 0), '1280 px, moved window');

  // --- Token range: typed wrongly → an inline message (no request, no 400); brushed on the axis → the fields and the URL.
  await page.selectOption('#lens', 'tuned');
  await page.waitForFunction(() => document.querySelectorAll('.panel .heatmap svg').length === 1, null, { timeout: 30_000 });
  await page.fill('#from', '50');
  await page.fill('#to', '20');
  await page.waitForSelector('#range-message:not([hidden])');
  assert.match((await page.textContent('#range-message'))!, /"to" \(20\) must be greater than "from" \(50\)/);
  assert.equal(await page.getAttribute('#to', 'aria-invalid'), 'true');
  await page.fill('#to', '120');
  assert.match((await page.textContent('#range-message'))!, /"to" is 120, but the prompt has 98 tokens/);
  await page.dispatchEvent('#to', 'change');
  assert.match((await page.textContent('#range-message'))!, /Showing positions 50–97/);
  await page.click('#range-message button');
  await page.waitForSelector('#range-message', { state: 'hidden' });
  assert.equal(await page.inputValue('#from'), '0');

  const band = (await page.locator('.panel[data-panel="0"] .range-brush').boundingBox())!;
  const lb = await heatmapLayout(page, 0);
  const cw = lb.width / lb.cols;
  await page.mouse.move(band.x + 3.5 * cw, band.y + band.height / 2);
  await page.mouse.down();
  await page.mouse.move(band.x + 8.5 * cw, band.y + band.height / 2, { steps: 4 });
  await page.mouse.up();
  const [from, to] = [lb.first + 3, lb.first + 9];
  await page.waitForFunction((f) => (document.querySelector('#from') as HTMLInputElement).value === f, String(from));
  assert.equal(await page.inputValue('#to'), String(to));
  assert.match(page.url(), new RegExp(`from=${from}&to=${to}`));
  assert.equal((await heatmapLayout(page, 0)).cols, to - from);
  assert.match((await page.textContent('#range-message'))!, new RegExp(`Showing positions ${from}–${to - 1} of 0–97`));
  await page.click('#range-message button');
  await page.waitForFunction(() => (JSON.parse((document.querySelector('.panel .heatmap') as HTMLElement).dataset.layout!) as { total: number }).total === 98);

  // --- Pin chart: keep a cell, pin two tokens; the chart is on screen without scrolling, previews a hovered token, resizes.
  const cell = await cellPoint(page, 0, 5, 4);
  await page.mouse.click(cell.x, cell.y);
  await page.waitForFunction(() => document.querySelector('#cell-info')?.textContent?.includes('Kept'));
  const list = page.locator('#top-lists .top-list[data-grid="0"] button');
  await list.nth(0).click();
  await list.nth(1).click();
  await page.waitForFunction(() => document.querySelectorAll('#pins .chip').length === 2 && !document.querySelector('#pins')!.textContent!.includes('…') && document.querySelector('#pin-chart svg') !== null);
  const pinBox = await page.evaluate(() => ({ r: document.querySelector('#pin-chart')!.getBoundingClientRect().toJSON() as DOMRect, vh: window.innerHeight, scrollY: window.scrollY }));
  assert.equal(pinBox.scrollY, 0);
  assert.ok(pinBox.r.top >= 0 && pinBox.r.bottom <= pinBox.vh && pinBox.r.height >= 160, `pin chart ${JSON.stringify(pinBox.r)} within the 800 px window`);
  const seriesNames = (): Promise<string[]> =>
    page.evaluate(() => {
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { series: { name: string }[] } } } }).echarts;
      return ec.getInstanceByDom(document.querySelector('#pin-chart') as HTMLElement).getOption().series.map((s) => s.name);
    });
  const third = (await list.nth(2).locator('.tok').textContent())!;
  await list.nth(2).hover();
  await page.waitForFunction(async (t) => document.querySelector('#pin-chart svg') !== null && (window as unknown as { echarts: { getInstanceByDom(e: Element): { getOption(): { series: { name: string }[] } } } }).echarts.getInstanceByDom(document.querySelector('#pin-chart')!).getOption().series.some((s) => s.name === `preview ${t}`), third, { timeout: 10_000 });
  await page.mouse.move(5, 5);
  await page.waitForFunction(() => !(window as unknown as { echarts: { getInstanceByDom(e: Element): { getOption(): { series: { name: string }[] } } } }).echarts.getInstanceByDom(document.querySelector('#pin-chart')!).getOption().series.some((s) => s.name.startsWith('preview')));
  assert.equal((await seriesNames()).length, 4, 'two pins, probability and rank each');
  const before = pinBox.r.height;
  await page.focus('#pin-split');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction((h) => document.querySelector('#pin-chart')!.getBoundingClientRect().height < h - 10, before);

  // --- 700 px: labels apart, colour bar on screen; the side panel is a drawer that shows the hovered cell.
  await page.setViewportSize({ width: 700, height: 800 });
  await open(page, { prompt: LONG_PROMPT, lens: 'tuned' }, 1);
  assertNoOverlap(await outsideLabels(page, 0), '700 px');
  const narrow = await heatmapLayout(page, 0);
  assert.ok(narrow.width / narrow.cols >= MIN_CELL_WIDTH);
  await page.locator('.panel[data-panel="0"] .heatmap').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await assertColourBarInView(page, 0, '700 px');
  const h = await cellPoint(page, 0, 3, 5);
  await page.mouse.move(h.x, h.y);
  await page.waitForFunction(() => document.querySelector('#cell-info b')?.textContent?.startsWith('layer 3 · #5 '));
  const seen = await page.evaluate(([x, y]) => {
    const info = document.querySelector('#top-lists')!.getBoundingClientRect();
    return { info: info.toJSON() as DOMRect, vh: window.innerHeight, cellCovered: document.elementFromPoint(x!, y!)?.closest('.panel') === null };
  }, [h.x, h.y]);
  assert.ok(seen.info.top >= 0 && seen.info.top < seen.vh - 100, `the top-k list (${JSON.stringify(seen.info)}) is in view while hovering`);
  assert.equal(seen.cellCovered, false, 'the drawer does not cover the hovered cell');
  // The drawer folds away.
  await page.click('#side-toggle');
  assert.equal(await page.locator('#top-lists').isVisible(), false);
  await page.click('#side-toggle');

  assert.deepEqual(problems, [], 'no console errors (no failed requests), page errors or server errors');
});
