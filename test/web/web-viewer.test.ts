/**
 * The static web build in Debian's chromium (playwright-core), served by a loopback static server: the
 * viewer computes in the browser with onnxruntime-web, and its numbers equal Node's (onnxruntime-node)
 * for the same request. Cases: the built-in stories260K with its lens; a model folder through the file
 * input; a cross-origin isolated page (WASM threads); a model by Hub id from a loopback fake Hub. Headless
 * chromium has no WebGPU adapter here, so every case also checks the page falls back to WASM and says so.
 *
 * Skipped (with a message) where chromium is not installed; CI installs it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchBrowser } from '../helpers/chromium.js';
import { sharedDataDir } from '../helpers/shared-data.js';
import { serveStatic, type StaticServer } from '../../src/node/static-server.js';
import { ViewerEngine } from '../../src/viewer/engine.js';
import { nodeEngineLoaders } from '../../src/viewer/node-loaders.js';
import type { TrajectoryRequest, TrajectoryResponse } from '../../src/viewer/protocol.js';
import { buildWeb } from '../../scripts/build-web.js';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const skip = chromiumSkip("the web build's browser test");
const shared = sharedDataDir();
const STORIES = nodePath.join(shared, 'models', 'stories260K');
const tmp = mkdtempSync(nodePath.join(tmpdir(), 'tl-web-'));
let site: string;
let browser: Browser;
let plain: StaticServer;

before(async () => {
  if (skip) return;
  site = await buildWeb(nodePath.join(tmp, 'site'));
  plain = await serveStatic(site);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await plain?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { tunedLens?: unknown }).tunedLens && document.getElementById('model')?.querySelectorAll('option').length, null, { timeout: 60_000 });
  return { page, problems };
}

function pageTrajectory(page: Page, req: TrajectoryRequest): Promise<TrajectoryResponse> {
  return page.evaluate((r) => (window as unknown as { tunedLens: { fetchTrajectory(x: unknown): Promise<TrajectoryResponse> } }).tunedLens.fetchTrajectory(r), req);
}

/** Same statistics, top-k ids and probabilities (to 1e-4) as Node computes for the same request. */
function assertSameNumbers(web: TrajectoryResponse, node: TrajectoryResponse): void {
  assert.equal(web.grids.length, node.grids.length);
  web.grids.forEach((g, gi) => {
    const n = node.grids[gi]!;
    assert.deepEqual(g.inputIds, n.inputIds);
    assert.deepEqual(g.topIds, n.topIds, 'top-k ids');
    for (const key of ['entropy', 'crossEntropy', 'forwardKl', 'maxProb', 'rank', 'topProbs'] as const) {
      const a = g[key] as (number | null)[];
      const b = n[key] as (number | null)[];
      assert.equal(a.length, b.length, key);
      a.forEach((v, i) => {
        if (v === null || b[i] === null) assert.equal(v, b[i], `${key}[${i}]`);
        else assert.ok(Math.abs(v - b[i]!) <= 1e-4 * Math.max(1, Math.abs(b[i]!)), `${key}[${i}]: web ${v} vs node ${b[i]}`);
      });
    }
  });
}

const nodeEngine = (models: string[], lenses: Record<string, string[]> = {}) => new ViewerEngine({ models, lenses }, nodeEngineLoaders());

test('built-in stories260K and its lens: the browser computes what Node computes; WASM fallback is shown', { skip }, async () => {
  const { page, problems } = await openPage(plain.url);
  const backend = await page.textContent('#web-backend');
  assert.match(backend!, /WebAssembly, SIMD, 1 thread/);
  assert.match(backend!, /WebGPU/); // why WebGPU is not used
  assert.match(backend!, /weights resident/);
  // What the model needs was said before it was loaded.
  assert.match((await page.textContent('#web-memory'))!, /stories260K needs about [\d.]+ MiB of WebAssembly memory/);
  const lensDir = nodePath.join(site, 'lenses', 'stories260K');
  const node = nodeEngine([STORIES], { [STORIES]: [lensDir] });
  for (const lens of ['logit', 'tuned'] as const) {
    const req: TrajectoryRequest = { model: 0, lens, prompt: PROMPT, topK: 10 };
    assertSameNumbers(await pageTrajectory(page, req), await node.trajectory(req));
  }
  // And the page draws it.
  await page.fill('#prompt', PROMPT);
  await page.click('#run');
  await page.waitForFunction(() => document.querySelectorAll('.panel').length > 0, null, { timeout: 60_000 });
  assert.equal(await page.textContent('#error'), '');
  // The version the page records in data exports, set by the web build; model hashes are not computed here.
  const config = await page.evaluate(() => (window as unknown as { tunedLens: { fetchConfig(): Promise<{ version: string | null }> } }).tunedLens.fetchConfig());
  assert.equal(config.version, (JSON.parse(readFileSync(nodePath.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version);
  // onnxruntime's heap is measured (it starts at 16 MiB and only grows).
  assert.ok((await heapBytes(page)) >= 16 * 2 ** 20);
  // HTML export, in the page: the same self-contained page as `tuned-lens plot --out f.html`, which draws the chart offline.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.panel [data-export="html"]')]);
  const file = nodePath.join(tmp, 'export.html');
  await download.saveAs(file);
  const html = readFileSync(file, 'utf8');
  assert.match(download.suggestedFilename(), /^tuned-lens-.*\.html$/);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(!/<script[^>]+src=/.test(html), 'no external script');
  const figure = await browser.newPage();
  await figure.route('**', (route) => route.abort()); // offline: everything is inlined
  await figure.setContent(html);
  await figure.waitForFunction(() => document.querySelectorAll('#chart svg path').length > 10, null, { timeout: 30_000 });
  await figure.close();
  assert.equal(await page.textContent('#error'), '');
  assert.deepEqual(problems, []);
  await page.close();
});

function heapBytes(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const web = (window as unknown as { tunedLensWeb: { callWorker(m: string): Promise<{ heapBytes: number }> } }).tunedLensWeb;
    return (await web.callWorker('heap')).heapBytes;
  });
}

test('a model too large for wasm32 is refused with a message before anything is downloaded (fake safetensors header declaring 8 GiB)', { skip }, async () => {
  // A GPT-2 folder whose model.safetensors header declares 2^31 float16 elements (8 GiB as float32); the file
  // is sparse, so it takes no disk, and only its header may be read (range requests).
  const big = nodePath.join(site, 'big');
  mkdirSync(big, { recursive: true });
  const cfg = JSON.parse(readFileSync(nodePath.join(shared, 'golden', 'tiny-random', 'gpt2', 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(nodePath.join(big, 'config.json'), JSON.stringify(cfg));
  const n = 2 ** 31;
  const header = Buffer.from(JSON.stringify({ 'transformer.wte.weight': { dtype: 'F16', shape: [n / 1024, 1024], data_offsets: [0, 2 * n] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const weights = nodePath.join(big, 'model.safetensors');
  writeFileSync(weights, Buffer.concat([length, header]));
  truncateSync(weights, 8 + header.length + 2 * n);
  const { page } = await openPage(plain.url);
  const seen = plain.requests.length;
  await page.fill('#web-url', `${plain.url}big/`);
  await page.click('#web-url-load');
  await page.waitForFunction(() => /Not loaded/.test(document.getElementById('error')!.textContent ?? ''), null, { timeout: 30_000 });
  const error = (await page.textContent('#error'))!;
  assert.match(error, /8\.\d\d GiB of float32 weights/);
  assert.match(error, /wasm32 memory stops at 4 GiB/);
  assert.match((await page.textContent('#web-memory'))!, /big needs about 8\.\d\d GiB of WebAssembly memory/);
  assert.equal(await page.evaluate(() => document.getElementById('model')!.querySelectorAll('option').length), 1, 'not added');
  const weightRequests = plain.requests.slice(seen).filter((r) => r.includes('/big/model.safetensors'));
  assert.ok(weightRequests.some((r) => r.startsWith('GET') && r.includes('bytes=')), weightRequests.join('\n'));
  assert.ok(weightRequests.every((r) => r.startsWith('HEAD') || /bytes=\d+-\d+$/.test(r)), `only the header was read: ${weightRequests.join('\n')}`);
  // The page still works with the model it has.
  const req: TrajectoryRequest = { model: 0, lens: 'logit', prompt: PROMPT, topK: 3 };
  assert.equal((await pageTrajectory(page, req)).grids.length, 1);
  await page.close();
});

test('a model folder through the file input (llama2.c checkpoint + tokenizer)', { skip }, async () => {
  const { page } = await openPage(plain.url);
  await page.setInputFiles('#web-folder', STORIES); // a folder input: the whole folder
  await page.waitForFunction(() => document.getElementById('model')!.querySelectorAll('option').length === 2, null, { timeout: 30_000 });
  const req: TrajectoryRequest = { model: 1, lens: 'logit', prompt: PROMPT, topK: 5 };
  assertSameNumbers(await pageTrajectory(page, req), await nodeEngine([STORIES]).trajectory({ ...req, model: 0 }));
  await page.close();
});

test('cross-origin isolated: WASM threads, same numbers', { skip }, async () => {
  const iso = await serveStatic(site, { isolated: true });
  try {
    const { page } = await openPage(iso.url);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    const threads = Number(/SIMD, (\d+) thread/.exec((await page.textContent('#web-backend'))!)?.[1]);
    assert.ok(threads >= 2, `threads: ${threads}`);
    assert.match((await page.textContent('#web-backend'))!, /weights resident/);
    const req: TrajectoryRequest = { model: 0, lens: 'logit', prompt: PROMPT, topK: 10 };
    assertSameNumbers(await pageTrajectory(page, req), await nodeEngine([STORIES]).trajectory(req));
    await page.close();
  } finally {
    await iso.close();
  }
});

test('a model by Hub id from a loopback fake Hub (CORS, HEAD, range requests)', { skip }, async () => {
  const repo = nodePath.join(tmp, 'hub-gpt2');
  mkdirSync(repo);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(nodePath.join(shared, 'golden', 'tiny-random', 'gpt2', f), nodePath.join(repo, f));
  writeFileSync(nodePath.join(repo, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer(211)));
  const seen: string[] = [];
  const hub = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`.trim());
    const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Expose-Headers': 'Content-Length, Content-Range' };
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const m = /^\/tiny\/gpt2\/resolve\/main\/([\w.]+)$/.exec(req.url ?? '');
    const file = m ? nodePath.join(repo, m[1]!) : '';
    if (!m || !existsSync(file)) return void res.writeHead(404, cors).end('Entry not found');
    const body = readFileSync(file);
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const [a, b] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      res.writeHead(206, { ...cors, 'Content-Range': `bytes ${a}-${b}/${body.length}`, 'Content-Length': String(b - a + 1) });
      return void res.end(req.method === 'HEAD' ? undefined : body.subarray(a, b + 1));
    }
    res.writeHead(200, { ...cors, 'Content-Length': String(statSync(file).size) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  try {
    const { page } = await openPage(`${plain.url}?hub=${encodeURIComponent(endpoint)}`);
    await page.fill('#web-hub-id', 'tiny/gpt2');
    await page.click('#web-hub-load');
    await page.waitForFunction(() => document.getElementById('model')!.querySelectorAll('option').length === 2, null, { timeout: 30_000 });
    const req: TrajectoryRequest = { model: 1, lens: 'logit', prompt: 'hello world!', topK: 5 };
    assertSameNumbers(await pageTrajectory(page, req), await nodeEngine([repo]).trajectory({ ...req, model: 0 }));
    // The safetensors header was read with a range request before the weights were downloaded.
    assert.ok(seen.some((s) => s.startsWith('GET /tiny/gpt2/resolve/main/model.safetensors bytes=0-7')), seen.join('\n'));
    await page.close();
  } finally {
    await new Promise<void>((r) => hub.close(() => r()));
  }
});
