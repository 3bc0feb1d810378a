/**
 * The viewer's target tracking and its guards in chromium: colour the grid by a typed token's
 * probability, by a group of tokens (summed), by log-prob and by the log-prob difference to an
 * anti-target — each checked against the top-k probabilities of an independent /api/trajectory call —
 * plus the two-prompt guards (lens comparisons switched off with a reason, length-mismatch notice) and
 * token-range validation. Screenshots land in test-artifacts/viewer/ (copied to docs/viewer/).
 *
 * Skipped (with a message) where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import type { TrajectoryResponse } from '../../src/viewer/protocol.js';
import { shortTokenLabel } from '../../src/viewer/view-model.js';
import { chromiumSkip } from '../helpers/chromium.js';
import { closeViewerInBrowser, openViewerInBrowser } from '../helpers/viewer-browser.js';
import type { ViewerServer } from '../../src/viewer/server.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/viewer/', import.meta.url));

const skip = chromiumSkip('the viewer target browser test');

let server: ViewerServer;
let context: BrowserContext;
let page: Page;
let profile: string;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  ({ server, context, page, profile } = await openViewerInBrowser({ browser: { viewport: { width: 1280, height: 800 } } }, problems));
});

after(async () => {
  if (!skip) await closeViewerInBrowser({ server, context, profile });
});

/** The value drawn in display cell (row from the bottom, col) of a panel, read from its ECharts option. */
async function cellValue(p: Page, panel: number, row: number, col: number): Promise<number | null> {
  return p.evaluate(
    ([panel, row, col]) => {
      const el = document.querySelector(`.panel[data-panel="${panel}"] .heatmap`) as HTMLElement;
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { series: { data: unknown[] }[] } } } }).echarts;
      for (const s of ec.getInstanceByDom(el).getOption().series) {
        for (const d of s.data ?? []) {
          const v = (Array.isArray(d) ? d : (d as { value?: unknown }).value) as unknown[] | undefined;
          if (Array.isArray(v) && v[0] === col && v[1] === row) return typeof v[2] === 'number' ? v[2] : null;
        }
      }
      return null;
    },
    [panel, row, col] as const,
  );
}

/** WCAG contrast ratio of two CSS "rgb(r, g, b)" colours. */
function contrast(a: string, b: string): number {
  const lum = (css: string): number => {
    const [r, g, bl] = css.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((v) => Number(v) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

async function panelTitle(p: Page, panel = 0): Promise<string> {
  return (await p.locator(`.panel[data-panel="${panel}"] .panel-head span`).first().textContent()) ?? '';
}

test('viewer in chromium: target tracking (token, group, log-prob, diff) and two-prompt / range guards', { skip, timeout: 120_000 }, async () => {
  // The independent numbers: the trajectory's own top-k at the last position of the output row.
  const res = await fetch(`${server.url}api/trajectory`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 0, lens: 'logit', prompt: PROMPT, topK: 10 }) });
  const traj = (await res.json()) as TrajectoryResponse;
  const g = traj.grids[0]!;
  const T = g.positions;
  const R = g.rows;
  const base = ((R - 1) * T + T - 1) * g.topK;
  assert.equal(shortTokenLabel(traj.pieces, g.topIds[base]!), '_She');
  const pShe = g.topProbs[base]!;
  // The runner-up, named by id below (so the test does not depend on its spelling).
  const secondId = g.topIds[base + 1]!;
  const second = shortTokenLabel(traj.pieces, secondId);
  const pSecond = g.topProbs[base + 1]!;

  // One typed token: the grid is coloured by P(_She); the output cell at the last position equals its top-k probability.
  await page.goto(`${server.url}?prompt=${encodeURIComponent(PROMPT)}`);
  await page.waitForSelector('body[data-initialised="true"]');
  await page.fill('#target', '_She');
  await page.dispatchEvent('#target', 'change');
  await page.waitForFunction(() => /P\(_She\)/.test(document.querySelector('.panel .panel-head span')?.textContent ?? ''), null, { timeout: 30_000 });
  const v1 = await cellValue(page, 0, R - 1, T - 1);
  assert.ok(v1 !== null && Math.abs(v1 - pShe) < 1e-4, `P(_She) drawn ${v1}, top-k says ${pShe}`);
  assert.match(page.url(), /target=_She/);
  const bar = await page.locator('.panel[data-panel="0"] .heatmap svg text').allTextContents();
  assert.ok(bar.some((t) => t.includes('P(_She) (probs)')), `colour bar title: ${bar.join('|')}`);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'target-1-probability.png'), fullPage: true });

  // A group, summed; a #id works too.
  await page.fill('#target', `_She | #${secondId}`);
  await page.dispatchEvent('#target', 'change');
  await page.waitForFunction((t) => document.querySelector('.panel .panel-head span')?.textContent?.includes(t), `P(_She+${second})`, { timeout: 30_000 });
  const v2 = await cellValue(page, 0, R - 1, T - 1);
  assert.ok(v2 !== null && Math.abs(v2 - (pShe + pSecond)) < 2e-4, `P(_She+runner-up) drawn ${v2}, top-k says ${pShe + pSecond}`);

  // Log-prob.
  await page.fill('#target', '_She');
  await page.selectOption('#target-measure', 'log-prob');
  await page.dispatchEvent('#target', 'change');
  await page.waitForFunction(() => /log P\(_She\)/.test(document.querySelector('.panel .panel-head span')?.textContent ?? ''), null, { timeout: 30_000 });
  const v3 = await cellValue(page, 0, R - 1, T - 1);
  assert.ok(v3 !== null && Math.abs(v3 - Math.log(pShe)) < 1e-3, `log P drawn ${v3}, expected ${Math.log(pShe)}`);

  // Log-prob difference: the anti-target field appears, and the cell is ln p(She) − ln p(runner-up).
  await page.selectOption('#target-measure', 'log-prob-diff');
  assert.equal(await page.locator('#anti-target-label').isVisible(), true);
  await page.fill('#anti-target', `#${secondId}`);
  await page.dispatchEvent('#anti-target', 'change');
  const diffTitle = `log P(_She) − log P(${second})`;
  await page.waitForFunction((t) => document.querySelector('.panel .panel-head span')?.textContent?.includes(t), diffTitle, { timeout: 30_000 });
  const v4 = await cellValue(page, 0, R - 1, T - 1);
  assert.ok(v4 !== null && Math.abs(v4 - Math.log(pShe / pSecond)) < 1e-3, `log-prob diff drawn ${v4}, expected ${Math.log(pShe / pSecond)}`);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'target-2-log-prob-diff.png'), fullPage: true });

  // A link reopens the target view.
  await page.goto(page.url());
  await page.waitForFunction((t) => document.querySelector('.panel .panel-head span')?.textContent?.includes(t), diffTitle, { timeout: 30_000 });
  assert.equal(await page.inputValue('#anti-target'), `#${secondId}`);

  // A token not in the vocabulary: a clear message.
  await page.selectOption('#target-measure', 'prob');
  await page.fill('#target', 'notatoken123');
  await page.dispatchEvent('#target', 'change');
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /"notatoken123" is not a single token/);
  await page.fill('#target', '');
  await page.dispatchEvent('#target', 'change');
  await page.waitForFunction(() => /Entropy/.test(document.querySelector('.panel .panel-head span')?.textContent ?? ''));

  // Token range: 'to' before 'from' is explained, not silently clamped.
  await page.fill('#from', '9');
  await page.fill('#to', '4');
  await page.dispatchEvent('#to', 'change');
  await page.waitForSelector('#range-message:not([hidden])');
  assert.match((await page.textContent('#range-message'))!, /"to" \(4\) must be greater than "from" \(9\)/);
  await page.fill('#from', '0');
  await page.fill('#to', '');
  await page.dispatchEvent('#to', 'change');
  await page.waitForSelector('#range-message', { state: 'hidden' });

  // Two prompts: the lens comparisons are switched off with a reason; a compare selection falls back to the tuned lens.
  await page.selectOption('#lens', 'compare');
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 2, null, { timeout: 30_000 });
  await page.fill('#prompt2', 'Once upon a time, there was a boy.');
  assert.equal(await page.locator('#lens option[value="compare"]').isDisabled(), true);
  assert.match((await page.locator('#lens option[value="diff"]').getAttribute('title'))!, /one lens at a time/);
  assert.equal(await page.inputValue('#lens'), 'tuned');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 3, null, { timeout: 30_000 });
  assert.doesNotMatch(page.url(), /lens=compare/);
  // Different token lengths: said, with the number of positions compared.
  await page.waitForSelector('#notice:not([hidden])');
  assert.match((await page.textContent('#notice'))!, /Prompt A has 16 tokens and prompt B \d+: they are compared position by position over the first \d+/);
  assert.match(await panelTitle(page, 2), /prompt A vs B/);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'target-3-two-prompts-guard.png'), fullPage: true });
  // Clearing the second prompt enables the comparisons again.
  await page.fill('#prompt2', '');
  assert.equal(await page.locator('#lens option[value="compare"]').isDisabled(), false);

  // Top-k is a choice (the server allows 50), kept in the URL; the actual next token is marked in the
  // list, or named with its rank and probability below it when it falls outside the top-k.
  await page.selectOption('#lens', 'logit');
  await page.selectOption('#top-k', '5');
  await page.waitForFunction(() => /[?&]k=5/.test(location.search) && !/lens=/.test(location.search), null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 1 && /logit lens/.test(document.querySelector('.panel .panel-head span')?.textContent ?? ''), null, { timeout: 30_000 });
  for (const [row, pos] of [[R - 1, 0], [0, 4], [0, 9]] as const) {
    const chart = page.locator('.panel[data-panel="0"] .heatmap');
    const layout = JSON.parse((await chart.getAttribute('data-layout'))!) as { left: number; top: number; width: number; height: number; rows: number; cols: number };
    const box = (await chart.boundingBox())!;
    await page.mouse.move(box.x + layout.left + (pos + 0.5) * (layout.width / layout.cols), box.y + layout.top + (layout.rows - 1 - row + 0.5) * (layout.height / layout.rows));
    await page.waitForFunction((t) => document.querySelector('#cell-info b')?.textContent?.includes(t), `#${pos} `);
    assert.equal(await page.locator('#top-lists .top-list[data-grid="0"] li button').count(), 5);
    const rank = g.rank[row * T + pos]!;
    const next = shortTokenLabel(traj.pieces, g.targets[pos]!);
    if (rank <= 5) {
      assert.equal(await page.locator('#top-lists button.next .tok').textContent(), next);
      assert.equal(await page.locator('#top-lists button.next').count(), 1);
    } else {
      const text = (await page.locator('#top-lists .next-outside').textContent())!;
      assert.ok(text.includes(`${next}: rank ${rank}, ${(Math.exp(-g.crossEntropy[row * T + pos]!) * 100).toFixed(2)}%`), text);
    }
  }
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'target-4-top-k-next-token.png'), fullPage: true });

  // Row 0 is labelled as the embeddings; each export button has its own accessible name.
  const axis = await page.locator('.panel[data-panel="0"] .heatmap svg text').allTextContents();
  assert.ok(axis.includes('input') && axis.includes('output'), `row labels: ${axis.join('|')}`);
  assert.match((await page.locator('.panel[data-panel="0"] button[data-export="png"]').getAttribute('aria-label'))!, /^Export stories260K · logit lens · Entropy as PNG$/);
  assert.equal(await page.locator('#progress').getAttribute('aria-live'), 'polite');
  assert.equal(await page.locator('#cell-info').getAttribute('aria-live'), 'polite');
  // Pin chips read at AA (≥ 4.5:1) on every palette colour, and form fields have borders of ≥ 3:1 on white.
  const borderColours = await page.evaluate(() => ['#prompt', '#target', '#stride', '#lens'].map((id) => getComputedStyle(document.querySelector(id)!).borderTopColor));
  const contrasts = { borders: borderColours.map((c) => contrast(c, 'rgb(255, 255, 255)')) };
  for (const b of contrasts.borders) assert.ok(b >= 3, `input border contrast ${b.toFixed(2)}:1`);
  for (let i = 0; i < 8; i++) {
    const list = page.locator('#top-lists .top-list[data-grid="0"] li button');
    if (i === 5) {
      // More pins than a top-5 offers: pin further tokens of another cell.
      const chart = page.locator('.panel[data-panel="0"] .heatmap');
      const layout = JSON.parse((await chart.getAttribute('data-layout'))!) as { left: number; top: number; width: number; height: number; rows: number; cols: number };
      const box = (await chart.boundingBox())!;
      await page.mouse.click(box.x + layout.left + 2.5 * (layout.width / layout.cols), box.y + layout.top + (layout.rows - 0.5) * (layout.height / layout.rows));
    } else if (i === 0) {
      await page.mouse.click(...(await (async () => {
        const chart = page.locator('.panel[data-panel="0"] .heatmap');
        const layout = JSON.parse((await chart.getAttribute('data-layout'))!) as { left: number; top: number; width: number; height: number; rows: number; cols: number };
        const box = (await chart.boundingBox())!;
        return [box.x + layout.left + 0.5 * (layout.width / layout.cols), box.y + layout.top + 0.5 * (layout.height / layout.rows)] as const;
      })()));
    }
    const free = list.and(page.locator(':not(.pinned)'));
    if ((await free.count()) === 0) break;
    await free.first().click();
  }
  await page.waitForFunction(() => document.querySelectorAll('#pins .chip').length >= 6 && !document.querySelector('#pins')!.textContent!.includes('…'), null, { timeout: 30_000 });
  const chipColours = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#pins .chip')).map((c) => [getComputedStyle(c).color, getComputedStyle(c).backgroundColor] as const));
  const chipRatios = chipColours.map(([fg, bg]) => contrast(fg, bg));
  for (const r of chipRatios) assert.ok(r >= 4.5, `pin chip contrast ${r.toFixed(2)}:1 (all: ${chipRatios.map((v) => v.toFixed(2)).join(', ')})`);
  await page.screenshot({ path: nodePath.join(ARTIFACTS, 'target-5-pins-contrast.png'), fullPage: true });

  const unexpected = problems.filter((m) => !/status of 400/.test(m));
  assert.deepEqual(unexpected, [], 'no console errors, page errors or server errors');
});
