/**
 * The static web viewer in Debian's chromium (headless, so WASM; WebGPU has no adapter there): time to the
 * first trajectory with an empty browser cache (cold: page, onnxruntime-web, model download, compile, run)
 * and again after a reload (cached), and one trajectory in the browser vs the same request in Node, for
 * stories260K and a tiny-random GPT-2 served as a URL model folder.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';
import { sharedDataDir } from '../../test/helpers/shared-data.js';
import { serveStatic } from '../../src/node/static-server.js';
import { ViewerEngine } from '../../src/viewer/engine.js';
import { nodeEngineLoaders } from '../../src/viewer/node-loaders.js';
import type { TrajectoryRequest } from '../../src/viewer/protocol.js';
import { byteLevelTokenizer } from '../../test/helpers/byte-level-tokenizer.js';
import type { CaseResult } from './common.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily. She liked to play outside with her dog.';

function trajectoryMs(page: Page, req: TrajectoryRequest): Promise<number> {
  return page.evaluate(async (r) => {
    const t0 = performance.now();
    await (window as unknown as { tunedLens: { fetchTrajectory(x: unknown): Promise<unknown> } }).tunedLens.fetchTrajectory(r);
    return performance.now() - t0;
  }, req);
}

/** onnxruntime-web's WebAssembly heap in MB (its high-water mark). */
function heapMb(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const web = (window as unknown as { tunedLensWeb: { callWorker(m: string): Promise<{ heapBytes: number }> } }).tunedLensWeb;
    return (await web.callWorker('heap')).heapBytes / 2 ** 20;
  });
}

/** Median of three runs of the same request shape (compiled already): the steady per-trajectory time. */
async function steadyMs(page: Page, req: TrajectoryRequest): Promise<number> {
  const times: number[] = [];
  for (const suffix of [' Again.', ' Later.', ' Often.']) times.push(await trajectoryMs(page, { ...req, prompt: `${req.prompt}${suffix}` }));
  return times.sort((a, b) => a - b)[1]!;
}

async function nodeMs(models: string[], req: TrajectoryRequest): Promise<number> {
  const engine = new ViewerEngine({ models }, nodeEngineLoaders());
  await engine.trajectory({ ...req, prompt: `${req.prompt} warm-up` }); // load + compile
  const t0 = performance.now();
  await engine.trajectory(req);
  return performance.now() - t0;
}

export async function webViewer(): Promise<CaseResult> {
  const tmp = mkdtempSync(nodePath.join(tmpdir(), 'tl-bench-web-'));
  const site = await buildWeb(nodePath.join(tmp, 'site'));
  const shared = sharedDataDir();
  const tiny = nodePath.join(site, 'models', 'tiny-gpt2');
  mkdirSync(tiny);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(nodePath.join(shared, 'golden', 'tiny-random', 'gpt2', f), nodePath.join(tiny, f));
  writeFileSync(nodePath.join(tiny, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer(211)));
  const server = await serveStatic(site);
  const browser = await chromium.launch({ executablePath: process.env.TUNED_LENS_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const ready = () => page.waitForFunction(() => document.getElementById('model')?.querySelectorAll('option').length, null, { timeout: 120_000 });
    const req: TrajectoryRequest = { model: 0, lens: 'logit', prompt: PROMPT, topK: 10 };
    let t0 = performance.now();
    await page.goto(server.url);
    await ready();
    await trajectoryMs(page, req);
    const coldMs = performance.now() - t0;
    t0 = performance.now();
    await page.reload();
    await ready();
    await trajectoryMs(page, { ...req, prompt: `${PROMPT} ` });
    const cachedMs = performance.now() - t0;
    await trajectoryMs(page, { ...req, prompt: `${PROMPT} Once.` }); // compiles this length's graphs
    const browserMs = await steadyMs(page, req);
    const storiesHeapMb = await heapMb(page);
    const nodeStoriesMs = await nodeMs([nodePath.join(shared, 'models', 'stories260K')], { ...req, prompt: `${PROMPT} Again.` });
    await page.fill('#web-url', `${server.url}models/tiny-gpt2/`);
    await page.click('#web-url-load');
    await page.waitForFunction(() => document.getElementById('model')!.querySelectorAll('option').length === 2, null, { timeout: 60_000 });
    const tinyReq: TrajectoryRequest = { model: 1, lens: 'logit', prompt: 'hello world! hello world!', topK: 10 };
    await trajectoryMs(page, { ...tinyReq, prompt: 'hello' });
    const browserTinyMs = await steadyMs(page, tinyReq);
    const heapAfterTinyMb = await heapMb(page);
    const nodeTinyMs = await nodeMs([tiny], { ...tinyReq, model: 0 });
    return {
      name: 'web viewer in chromium (WASM, 1 thread) vs Node',
      coldFirstTrajectoryMs: coldMs,
      cachedFirstTrajectoryMs: cachedMs,
      stories260kBrowserMs: browserMs,
      stories260kNodeMs: nodeStoriesMs,
      tinyGpt2BrowserMs: browserTinyMs,
      tinyGpt2NodeMs: nodeTinyMs,
      wasmHeapAfterStoriesMb: storiesHeapMb,
      wasmHeapAfterTinyGpt2Mb: heapAfterTinyMb,
      loadAverage1m: loadavg()[0],
    };
  } finally {
    await browser.close();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
