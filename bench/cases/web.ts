/**
 * The static web viewer in Debian's chromium (headless, so WASM; WebGPU has no adapter there): time to the
 * first trajectory with an empty browser cache (cold: page, onnxruntime-web, model download, compile, run)
 * and again after a reload (cached), and one trajectory in the browser vs the same request in Node, for
 * stories260K and a tiny-random GPT-2 served as a URL model folder.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { bucketLength } from '../../src/graph/length-buckets.js';
import { makeGpt2Small } from '../make-gpt2-small.js';
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
  return timedTrajectory(page, req).then((t) => t.ms);
}

/** One trajectory's time in the page and its prompt's token count. */
function timedTrajectory(page: Page, req: TrajectoryRequest): Promise<{ ms: number; tokens: number }> {
  return page.evaluate(async (r) => {
    const t0 = performance.now();
    const res = (await (window as unknown as { tunedLens: { fetchTrajectory(x: unknown): Promise<{ grids: { inputIds: number[] }[] }> } }).tunedLens.fetchTrajectory(r));
    return { ms: performance.now() - t0, tokens: res.grids[0]!.inputIds.length };
  }, req);
}

/** onnxruntime-web's WebAssembly heap in MB (its high-water mark). */
function heapMb(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const web = (window as unknown as { tunedLensWeb: { callWorker(m: string): Promise<{ heapBytes: number }> } }).tunedLensWeb;
    return (await web.callWorker('heap')).heapBytes / 2 ** 20;
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

/**
 * The steady per-trajectory time: distinct prompts (the engine caches answers), counting only runs whose
 * length bucket already has its compiled graphs (the first run of a bucket includes compiling).
 */
async function steady(run: (prompt: string) => Promise<{ ms: number; tokens: number }>, prompt: string, suffixes: string[]): Promise<number> {
  const compiled = new Set<number>();
  const times: number[] = [];
  for (const s of suffixes) {
    const { ms, tokens } = await run(`${prompt}${s}`);
    const bucket = bucketLength(tokens);
    if (compiled.has(bucket)) times.push(ms);
    compiled.add(bucket);
  }
  return median(times);
}

const STORY_SUFFIXES = [' Warm.', ' Again.', ' Later.', ' Often.', ' Today.', ' Twice.'];
/** The byte-level test tokenizer knows few characters: prompts of its own words. */
const TINY_SUFFIXES = ['!!', ' world!', ' hello', '! world', ' world', '!!!'];

async function nodeSteadyMs(models: string[], req: TrajectoryRequest, suffixes: string[]): Promise<number> {
  const engine = new ViewerEngine({ models }, nodeEngineLoaders());
  return steady(async (prompt) => {
    const t0 = performance.now();
    const res = await engine.trajectory({ ...req, prompt });
    return { ms: performance.now() - t0, tokens: res.grids[0]!.inputIds.length };
  }, req.prompt, suffixes);
}

/** One page with weights resident or fed: steady trajectory time and heap after each model, and GPT-2-small's first trajectory. */
async function browserModes(context: BrowserContext, url: string, mode: 'resident' | 'fed'): Promise<Record<string, number>> {
  const page = await context.newPage();
  try {
    await page.goto(`${url}?weights=${mode}`);
    await page.waitForFunction(() => document.getElementById('model')?.querySelectorAll('option').length, null, { timeout: 120_000 });
    const r: Record<string, number> = {};
    const inPage = (model: number) => (prompt: string) => timedTrajectory(page, { model, lens: 'logit', prompt, topK: 10 });
    r[`stories260kBrowserMs_${mode}`] = await steady(inPage(0), PROMPT, STORY_SUFFIXES);
    r[`wasmHeapAfterStoriesMb_${mode}`] = await heapMb(page);
    const add = async (path: string, count: number) => {
      await page.fill('#web-url', `${url}${path}`);
      await page.click('#web-url-load');
      await page.waitForFunction((n) => document.getElementById('model')!.querySelectorAll('option').length === n, count, { timeout: 300_000 });
    };
    await add('models/tiny-gpt2/', 2);
    r[`tinyGpt2BrowserMs_${mode}`] = await steady(inPage(1), TINY_PROMPT, TINY_SUFFIXES);
    r[`wasmHeapAfterTinyGpt2Mb_${mode}`] = await heapMb(page);
    const t0 = performance.now();
    await add('models/gpt2-small/', 3);
    await inPage(2)(`${TINY_PROMPT}!`);
    r[`gpt2SmallFirstTrajectoryMs_${mode}`] = performance.now() - t0;
    r[`gpt2SmallBrowserMs_${mode}`] = await steady(inPage(2), TINY_PROMPT, TINY_SUFFIXES.slice(0, 4));
    r[`wasmHeapAfterGpt2SmallMb_${mode}`] = await heapMb(page);
    return r;
  } finally {
    await page.close();
  }
}

const TINY_PROMPT = 'hello world! hello world! hello world! hello world! hello world! hello world!';

export async function webViewer(): Promise<CaseResult> {
  const tmp = mkdtempSync(nodePath.join(tmpdir(), 'tl-bench-web-'));
  const site = await buildWeb(nodePath.join(tmp, 'site'));
  const shared = sharedDataDir();
  const tiny = nodePath.join(site, 'models', 'tiny-gpt2');
  mkdirSync(tiny);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(nodePath.join(shared, 'golden', 'tiny-random', 'gpt2', f), nodePath.join(tiny, f));
  writeFileSync(nodePath.join(tiny, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer(211)));
  // GPT-2-small shapes (random weights, ~500 MB): where copying weights into the heap at every run shows.
  const gpt2Small = await makeGpt2Small();
  if (!existsSync(nodePath.join(gpt2Small, 'tokenizer.json'))) writeFileSync(nodePath.join(gpt2Small, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer(50257)));
  symlinkSync(gpt2Small, nodePath.join(site, 'models', 'gpt2-small'));
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
    await page.close();
    // Same run: resident weights (the default) and weights fed at every run, one fresh page (worker) each.
    const resident = await browserModes(context, server.url, 'resident');
    const fed = await browserModes(context, server.url, 'fed');
    await browser.close();
    const nodeStoriesMs = await nodeSteadyMs([nodePath.join(shared, 'models', 'stories260K')], req, STORY_SUFFIXES);
    const tinyReq: TrajectoryRequest = { model: 0, lens: 'logit', prompt: TINY_PROMPT, topK: 10 };
    const nodeTinyMs = await nodeSteadyMs([tiny], tinyReq, TINY_SUFFIXES);
    const nodeGpt2SmallMs = await nodeSteadyMs([gpt2Small], tinyReq, TINY_SUFFIXES.slice(0, 4));
    return {
      name: 'web viewer in chromium (WASM, 1 thread) vs Node',
      coldFirstTrajectoryMs: coldMs,
      cachedFirstTrajectoryMs: cachedMs,
      ...resident,
      ...fed,
      stories260kNodeMs: nodeStoriesMs,
      tinyGpt2NodeMs: nodeTinyMs,
      gpt2SmallNodeMs: nodeGpt2SmallMs,
      loadAverage1m: loadavg()[0],
    };
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
