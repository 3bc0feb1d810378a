/** The viewer's HTTP API against the real stories260K model and the reference tuned lens. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import * as nodePath from 'node:path';
import { sharedDataDir } from '../helpers/shared-data.js';
import { loadModel } from '../../src/node/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import type { ConfigResponse, PinResponse, ProgressResponse, TrajectoryResponse } from '../../src/viewer/protocol.js';
import { startViewer, type ViewerServer } from '../../src/viewer/server.js';
import { buildPanels } from '../../src/viewer/view-model.js';
import { packageVersion, sha256Model, sha256Path } from '../../src/node/provenance.js';
import { DEFAULT_VIEW, stateFromQuery, stateToQuery, defaultState } from '../../src/viewer/url-state.js';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const LENS_DIR = nodePath.join(sharedDataDir(), 'golden', 'reference-lens', 'lens');

let server: ViewerServer;

before(async () => {
  server = await startViewer({ port: 0, models: ['stories260K'], lenses: { stories260K: [LENS_DIR] }, log: () => {} });
});
after(async () => {
  await server.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }): Promise<Response> {
  return fetch(new URL(path, server.url), { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await post(path, body);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as T;
}

/** A GET with the path sent exactly as given (fetch would normalise "/../"), returning status and body. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw vocabulary piece of the top-1 token of a grid cell. */
function top1(resp: TrajectoryResponse, grid: number, row: number, pos: number): string {
  const g = resp.grids[grid]!;
  return resp.pieces[g.topIds[(row * g.positions + pos) * g.topK]!]!;
}

test('GET /api/config lists the configured models and lenses by index and name, never by path', async () => {
  const res = await fetch(new URL('/api/config', server.url));
  assert.equal(res.status, 200);
  const text = await res.text();
  const config = JSON.parse(text) as ConfigResponse;
  assert.equal(config.models.length, 1);
  assert.equal(config.models[0]!.name, 'stories260K');
  assert.deepEqual(config.models[0]!.lenses, [{ index: 0, name: 'reference-lens/lens' }]);
  assert.ok(!text.includes(sharedDataDir()), 'the config must not reveal folders');
  assert.equal(config.limits.maxBodyBytes, 64 * 1024);
  assert.equal(config.version, packageVersion(), 'the version exports record');
});

test('POST /api/trajectory (logit lens): output row predicts " She" at the last position, layer 4 " One"', async () => {
  const resp = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'logit', prompt: PROMPT, topK: 10 });
  assert.equal(resp.grids.length, 1);
  const g = resp.grids[0]!;
  assert.equal(g.lens, 'logit');
  assert.deepEqual(g.rowLabels, ['0', '1', '2', '3', '4', 'output']);
  assert.equal(g.rows, 6);
  assert.equal(g.positions, 16);
  assert.equal(g.topK, 10);
  assert.equal(g.entropy.length, 6 * 16);
  assert.equal(g.topIds.length, 6 * 16 * 10);
  const last = g.positions - 1;
  assert.equal(top1(resp, 0, 5, last), ' She');
  assert.equal(top1(resp, 0, 4, last), ' One');
  // The next token is unknown at the last position: no cross entropy there, null in the JSON.
  assert.equal(g.crossEntropy[5 * 16 + last], null);
  assert.equal(g.targets[last], -1);
  assert.equal(resp.model.vocabSize, 512);
  assert.equal(resp.model.maxTokens, 512);
  // Probabilities of a cell's top-k are sorted and at most 1.
  const probs = g.topProbs.slice((5 * 16 + last) * 10, (5 * 16 + last + 1) * 10);
  assert.ok(probs.every((p, i) => p <= 1 && (i === 0 || p <= probs[i - 1]!)));

  // The same response drives the page's panels (and exports): cell text is the formatted top-1.
  const panels = buildPanels(resp, DEFAULT_VIEW);
  assert.equal(panels.length, 1);
  const data = panels[0]!.data;
  assert.equal(data.cellLabels[5]![last], '_She');
  assert.equal(data.cellLabels[4]![last], '_One');
  assert.equal(data.statisticName, 'Entropy');
});

test('tuned, side-by-side and difference modes; stride and range only change the view', async () => {
  const tuned = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'tuned', prompt: PROMPT });
  assert.equal(tuned.grids[0]!.lens, 'tuned');
  assert.equal(tuned.tunedLensName, 'reference-lens/lens');
  // Exports' provenance: the same hashes as the CLI's result files.
  assert.equal(tuned.model.sha256, await sha256Model('stories260K'));
  assert.equal(tuned.tunedLensSha256, await sha256Path(LENS_DIR));
  assert.match(tuned.tunedLensSha256!, /^[0-9a-f]{64}$/);
  assert.equal(top1(tuned, 0, 5, 15), ' She'); // the output row is the model itself, whatever the lens

  const diff = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'diff', prompt: PROMPT });
  assert.deepEqual(diff.grids.map((g) => g.lens), ['logit', 'tuned']);
  assert.ok(diff.distance);
  assert.equal(diff.distance.kind, 'lens');
  // At the output row both "lenses" are the model: no distance.
  assert.ok(diff.distance.kl.slice(5 * 16).every((v) => v !== null && Math.abs(v) < 1e-4));
  assert.ok(diff.distance.tv.every((v) => v !== null && v >= -1e-6 && v <= 1 + 1e-6));
  const diffPanels = buildPanels(diff, { ...DEFAULT_VIEW, distance: 'tv' });
  assert.equal(diffPanels.length, 1);
  assert.equal(diffPanels[0]!.data.statisticName, 'TV(tuned | logit)');

  const compare = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'compare', prompt: PROMPT });
  const panels = buildPanels(compare, { statistic: 'kl', distance: 'kl', stride: 2, from: 3, to: 10 });
  assert.equal(panels.length, 2);
  for (const p of panels) {
    // Row 0 decodes the embeddings, so the axis says "input".
    assert.deepEqual(p.data.rowLabels, ['input', '2', '4', 'output']);
    assert.deepEqual(p.cols, [3, 4, 5, 6, 7, 8, 9]);
  }
  assert.deepEqual(panels[0]!.data.range, panels[1]!.data.range, 'side-by-side panels share one colour range');
});

test('two prompts are compared position by position', async () => {
  const resp = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'logit', prompt: 'Once upon a time there was a cat', prompt2: 'Once upon a time there was a dog named Max' });
  assert.equal(resp.grids.length, 2);
  const [a, b] = resp.grids;
  assert.ok(resp.distance);
  assert.equal(resp.distance.kind, 'prompt');
  assert.equal(resp.distance.positions, Math.min(a!.positions, b!.positions));
  // Identical prefixes give identical predictions: zero distance before the prompts differ.
  const firstDiff = a!.inputIds.findIndex((id, t) => id !== b!.inputIds[t]);
  assert.ok(firstDiff > 0);
  for (let r = 0; r < resp.distance.rows; r++) {
    for (let t = 0; t < firstDiff; t++) assert.ok(Math.abs(resp.distance.js[r * resp.distance.positions + t]!) < 1e-4);
    assert.ok(resp.distance.tv[r * resp.distance.positions + firstDiff]! > 1e-3);
  }
  const panels = buildPanels(resp, DEFAULT_VIEW);
  assert.equal(panels.length, 3);
  assert.equal(panels[2]!.data.statisticName, 'KL(A | B)');
  assert.match(panels[2]!.data.columnLabels[firstDiff]!, /\//);

  const bad = await post('/api/trajectory', { model: 0, lens: 'compare', prompt: 'a', prompt2: 'b' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /one lens at a time/);
});

test('POST /api/pin gives the probability and rank of a token in every cell', async () => {
  const traj = await postJson<TrajectoryResponse>('/api/trajectory', { model: 0, lens: 'logit', prompt: PROMPT });
  const g = traj.grids[0]!;
  const last = g.positions - 1;
  const sheId = g.topIds[(5 * g.positions + last) * g.topK]!;
  const pin = await postJson<PinResponse>('/api/pin', { model: 0, lens: 'logit', prompt: PROMPT, tokenId: sheId });
  assert.equal(pin.piece, ' She');
  assert.equal(pin.series.length, 1);
  const s = pin.series[0]!;
  assert.equal(s.prob.length, 6 * 16);
  const i = 5 * 16 + last;
  assert.equal(s.rank[i], 1);
  assert.ok(Math.abs(s.prob[i]! - g.topProbs[(5 * 16 + last) * 10]!) < 1e-3, `${s.prob[i]} vs ${g.topProbs[(5 * 16 + last) * 10]}`);
  const both = await postJson<PinResponse>('/api/pin', { model: 0, lens: 'compare', prompt: PROMPT, tokenId: sheId });
  assert.deepEqual(both.series.map((x) => x.label), ['logit lens', 'tuned lens']);

  const outside = await post('/api/pin', { model: 0, lens: 'logit', prompt: PROMPT, tokenId: 512 });
  assert.equal(outside.status, 400);
});

test('POST /api/export renders the current view as SVG, PNG and HTML', async () => {
  const base = { model: 0, lens: 'logit', prompt: PROMPT, view: { statistic: 'entropy', distance: 'kl', stride: 1, from: 0, to: null }, panel: 0 };
  const svg = await post('/api/export', { ...base, format: 'svg' });
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type') ?? '', /image\/svg\+xml/);
  assert.match(svg.headers.get('content-disposition') ?? '', /attachment; filename="tuned-lens-stories260K[^"]*\.svg"/);
  const text = await svg.text();
  assert.match(text, /^<svg/);
  assert.ok(text.includes('_She'));
  const png = await post('/api/export', { ...base, format: 'png' });
  assert.equal(png.status, 200);
  assert.deepEqual([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const html = await post('/api/export', { ...base, format: 'html' });
  assert.match(await html.text(), /<!DOCTYPE html>/);
  const badPanel = await post('/api/export', { ...base, panel: 3, format: 'svg' });
  assert.equal(badPanel.status, 400);
  const badFormat = await post('/api/export', { ...base, format: 'pdf' });
  assert.equal(badFormat.status, 400);
});

test('request bodies over 64 KB are refused with 413, and prompts longer than the model with a clear 400', async () => {
  const big = await post('/api/trajectory', { model: 0, lens: 'logit', prompt: 'x'.repeat(70_000) });
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: string }).error, /larger than the 64 KB/);

  const long = await post('/api/trajectory', { model: 0, lens: 'logit', prompt: 'Once upon a time '.repeat(200) });
  assert.equal(long.status, 400);
  assert.match(((await long.json()) as { error: string }).error, /The prompt is \d+ tokens long, but stories260K takes at most 512 tokens/);
});

test('bad requests: model index, lens mode, JSON, content type, methods', async () => {
  for (const model of [1, -1, 0.5, '0', 'stories260K', '../../etc/passwd']) {
    const res = await post('/api/trajectory', { model, lens: 'logit', prompt: PROMPT });
    assert.equal(res.status, 400, `model ${JSON.stringify(model)}`);
    assert.match(((await res.json()) as { error: string }).error, /Unknown model/);
  }
  const lens = await post('/api/trajectory', { model: 0, lens: 'magic', prompt: PROMPT });
  assert.equal(lens.status, 400);
  const tl = await post('/api/trajectory', { model: 0, lens: 'tuned', tunedLens: 1, prompt: PROMPT });
  assert.equal(tl.status, 400);
  const empty = await post('/api/trajectory', { model: 0, lens: 'logit', prompt: '   ' });
  assert.equal(empty.status, 400);
  assert.equal((await post('/api/trajectory', '{not json')).status, 400);
  assert.equal((await post('/api/trajectory', JSON.stringify({ model: 0, lens: 'logit', prompt: PROMPT }), { 'Content-Type': 'text/plain' })).status, 415);
  assert.equal((await fetch(new URL('/api/trajectory', server.url))).status, 405);
  assert.equal((await post('/api/config', {})).status, 405);
});

test('only the whitelisted files are served: traversal attempts and unknown paths are 404', async () => {
  for (const path of [
    '/../package.json',
    '/app.js/../../package.json',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2fpackage.json',
    '/static/../../../etc/passwd',
    '/node_modules/echarts/package.json',
    '/dist/viewer/app.js',
    '/src/viewer/server.ts',
    '//etc/passwd',
    '/api/config/../../package.json',
  ]) {
    const r = await rawGet(path);
    assert.equal(r.status, 404, path);
    assert.ok(!r.body.includes('"dependencies"') && !r.body.includes('root:'), path);
  }
  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.match(await page.text(), /<script src="\/app.js"><\/script>/);
  const app = await fetch(new URL('/app.js', server.url));
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(new URL('/echarts.min.js', server.url))).status, 200);
});

test('on loopback, a foreign Host header (DNS rebinding) is refused', async () => {
  assert.equal((await rawGet('/api/config', { Host: 'evil.example:80' })).status, 403);
  assert.equal((await rawGet('/api/config', { Host: `localhost:${server.port}` })).status, 200);
});

test('compute is serialised and reports progress; models load once', async () => {
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const real: Promise<LanguageModel> = loadModel('stories260K');
  const s = await startViewer({
    port: 0,
    log: () => {},
    loaders: {
      loadModel: async () => {
        loads++;
        await gate;
        return real;
      },
    },
  });
  try {
    const url = (p: string): URL => new URL(p, s.url);
    const send = (prompt: string): Promise<Response> =>
      fetch(url('/api/trajectory'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 0, lens: 'logit', prompt }) });
    const idle = (await (await fetch(url('/api/progress'))).json()) as ProgressResponse;
    assert.equal(idle.busy, false);
    const first = send('Once upon a time');
    const second = send('Lily was happy');
    let p: ProgressResponse;
    for (;;) {
      p = (await (await fetch(url('/api/progress'))).json()) as ProgressResponse;
      if (p.busy && p.queued === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(p.task, 'Loading model stories260K');
    assert.equal(p.step, 1);
    assert.equal(p.steps, 2);
    release();
    const [r1, r2] = await Promise.all([first, second]);
    assert.equal(r1.status, 200);
    assert.equal(r2.status, 200);
    assert.equal(loads, 1, 'the model is cached after the first load');
    // With the model in memory, a too-long prompt is refused at once, not after queueing.
    const long = await send('Once upon a time '.repeat(200));
    assert.equal(long.status, 400);
  } finally {
    await s.close();
  }
});

test('page state round-trips through the URL query', () => {
  const s = defaultState();
  s.prompt = 'Once upon a time & more';
  s.prompt2 = 'Once upon a dog';
  s.lens = 'tuned';
  s.view = { statistic: 'rank', distance: 'tv', stride: 2, from: 1, to: 9 };
  s.pins = [403, 12];
  s.cell = { panel: 1, row: 4, pos: 7 };
  assert.deepEqual(stateFromQuery(stateToQuery(s)), s);
  assert.equal(stateToQuery(defaultState()), '');
  // Hand-edited links fall back field by field.
  const odd = stateFromQuery('?lens=magic&stride=-3&stat=nope&pins=1,x,1,2&to=0&model=2');
  assert.equal(odd.lens, 'logit');
  assert.equal(odd.view.stride, 1);
  assert.equal(odd.view.statistic, 'entropy');
  assert.deepEqual(odd.pins, [1, 2]);
  assert.equal(odd.view.to, null);
  assert.equal(odd.model, 2);
});
