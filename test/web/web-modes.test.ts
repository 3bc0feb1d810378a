/**
 * The grid modes in the static web build (chromium, onnxruntime-web in the page's worker): layer
 * differences and sub-layer reads computed in the browser equal Node's for the same request, and a link
 * with `mode=depth` draws the depth panel. Skipped where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import type { Browser } from 'playwright-core';
import { chromiumSkip, launchBrowser } from '../helpers/chromium.js';
import { sharedDataDir } from '../helpers/shared-data.js';
import { serveStatic, type StaticServer } from '../../src/node/static-server.js';
import { ViewerEngine } from '../../src/viewer/engine.js';
import { nodeEngineLoaders } from '../../src/viewer/node-loaders.js';
import type { TrajectoryRequest, TrajectoryResponse } from '../../src/viewer/protocol.js';
import { buildWeb } from '../../scripts/build-web.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const skip = chromiumSkip("the web build's grid-mode test");
const STORIES = nodePath.join(sharedDataDir(), 'models', 'stories260K');
const tmp = mkdtempSync(nodePath.join(tmpdir(), 'tl-web-modes-'));
let site: string;
let browser: Browser;
let server: StaticServer;

before(async () => {
  if (skip) return;
  site = await buildWeb(nodePath.join(tmp, 'site'));
  server = await serveStatic(site);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function close(a: (number | null)[], b: (number | null)[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) => {
    if (v === null || b[i] === null) assert.equal(v, b[i], `${what}[${i}]`);
    else assert.ok(Math.abs(v - b[i]!) <= 1e-4 * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: web ${v} vs node ${b[i]}`);
  });
}

test('web build: a difference link draws from the browser\'s numbers, equal to Node\'s; sub-layer reads too; depth redraws in the page', { skip, timeout: 180_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${server.url}?prompt=${encodeURIComponent(PROMPT)}&mode=delta`);
  await page.waitForFunction(() => document.querySelector('.panel')?.getAttribute('data-key') === 'delta-0', null, { timeout: 120_000 });

  const node = new ViewerEngine({ models: [STORIES] }, nodeEngineLoaders());
  const ask = (req: TrajectoryRequest): Promise<TrajectoryResponse> =>
    page.evaluate((r) => (window as unknown as { tunedLens: { fetchTrajectory(x: unknown): Promise<TrajectoryResponse> } }).tunedLens.fetchTrajectory(r), req);
  // The page's own request (answered from the worker's cache): what it drew.
  const delta: TrajectoryRequest = { model: 0, lens: 'logit', prompt: PROMPT, topK: 10, mode: 'delta' };
  const [wd, nd] = [(await ask(delta)).layerDeltas![0]!, (await node.trajectory(delta)).layerDeltas![0]!];
  for (const k of ['kl', 'js', 'tv', 'rise'] as const) close(wd[k], nd[k], k);
  assert.deepEqual(wd.riseIds, nd.riseIds);
  const sub: TrajectoryRequest = { ...delta, mode: 'sublayer' };
  const [ws, ns] = [(await ask(sub)).sublayerGrids![0]!, (await node.trajectory(sub)).sublayerGrids![0]!];
  assert.deepEqual(ws.topIds, ns.topIds);
  for (const k of ['entropy', 'forwardKl', 'maxProb'] as const) close(ws[k], ns[k], k);
  // Depth needs no computation: the page redraws from the trajectory it has.
  await page.selectOption('#grid-mode', 'depth');
  await page.waitForFunction(() => document.querySelector('.panel')?.getAttribute('data-key') === 'depth-0');
  assert.deepEqual(problems, []);
  await page.close();
});
