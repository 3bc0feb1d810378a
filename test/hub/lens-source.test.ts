import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { HubError, type Env } from '../../src/hub/hub-client.js';
import { lensIdsFromListing, listPretrainedLenses, resolveLens } from '../../src/hub/lens-source.js';
import { closedPort, filesUnder, startFakeHub, tempDir, writeRepo, type FakeHub, isolatedEnv as isolatedEnvFor } from './fake-hub.js';

let root: string;
let hub: FakeHub;
const temps: string[] = [];
const SPACE = 'AlignmentResearch/tuned-lens';

before(async () => {
  root = await tempDir('hubroot');
  await writeRepo(root, 'space', SPACE, {
    'app.py': 'print()',
    'lens/gpt2/config.json': '{"d_model":768}',
    'lens/gpt2/params.pt': 'params-gpt2',
    'lens/EleutherAI/pythia-70m-deduped/config.json': '{}',
    'lens/EleutherAI/pythia-70m-deduped/params.pt': 'params-pythia',
    'lens/broken/config.json': '{}', // no params.pt: not a usable lens, not listed
  });
  await writeRepo(root, 'model', 'me/my-lenses', { 'lens/tiny/config.json': '{}', 'lens/tiny/params.pt': 'mine' });
  hub = await startFakeHub(root);
});

after(async () => {
  await hub.close();
  for (const d of [root, ...temps]) await fsp.rm(d, { recursive: true, force: true });
});

const isolatedEnv = (extra: Env = {}) => isolatedEnvFor(hub.url, temps, extra);

test('lensIdsFromListing keeps folders under lens/ with both files', () => {
  assert.deepEqual(
    lensIdsFromListing(['lens/a/config.json', 'lens/a/params.pt', 'lens/o/b/params.pt', 'lens/o/b/config.json', 'lens/c/config.json', 'x/d/params.pt', 'lens/config.json']),
    ['a', 'o/b'],
  );
});

test('a local folder with config.json and params.pt (or params.safetensors) is used directly', async () => {
  const d = await tempDir('lens');
  temps.push(d);
  await fsp.writeFile(nodePath.join(d, 'config.json'), '{}');
  await fsp.writeFile(nodePath.join(d, 'params.safetensors'), '');
  assert.equal(await resolveLens(d, { env: { HF_ENDPOINT: 'http://127.0.0.1:1' } }), d);
});

test('a lens by model id is fetched from the Space, then served from the cache offline', async () => {
  const { env, cache } = await isolatedEnv();
  const dir = await resolveLens('EleutherAI/pythia-70m-deduped', { env });
  assert.equal(dir, nodePath.join(cache, 'spaces', 'AlignmentResearch', 'tuned-lens', 'main', 'lens', 'EleutherAI', 'pythia-70m-deduped'));
  assert.equal(await fsp.readFile(nodePath.join(dir, 'params.pt'), 'utf8'), 'params-pythia');
  assert.ok(hub.requests.some((r) => r.url === '/spaces/AlignmentResearch/tuned-lens/resolve/main/lens/EleutherAI/pythia-70m-deduped/params.pt'));

  const dead = { ...env, HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` };
  assert.equal(await resolveLens('EleutherAI/pythia-70m-deduped', { env: dead }), dir);
});

test('a missing lens lists the available lens ids', async () => {
  const { env, cache } = await isolatedEnv();
  await assert.rejects(resolveLens('meta-llama/Nope-7b', { env }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'not-found');
    assert.match(e.message, /No pretrained lens for "meta-llama\/Nope-7b" in space repo AlignmentResearch\/tuned-lens at revision main/);
    assert.match(e.message, /Available lenses:\n {2}EleutherAI\/pythia-70m-deduped\n {2}gpt2\n/);
    assert.doesNotMatch(e.message, /broken/);
    return true;
  });
  // A folder with config.json only is not a lens either.
  await assert.rejects(resolveLens('broken', { env }), /No pretrained lens for "broken"[\s\S]*Available lenses/);
  assert.deepEqual(await listPretrainedLenses({ env }), ['EleutherAI/pythia-70m-deduped', 'gpt2']);
  // Nothing partial is left behind except the complete config.json of "broken".
  assert.deepEqual(await filesUnder(cache), ['spaces/AlignmentResearch/tuned-lens/main/lens/broken/config.json']);
});

test('TUNED_LENS_REPO_ID / TUNED_LENS_REPO_TYPE point at another repo', async () => {
  const { env, cache } = await isolatedEnv({ TUNED_LENS_REPO_ID: 'me/my-lenses', TUNED_LENS_REPO_TYPE: 'model' });
  const dir = await resolveLens('tiny', { env });
  assert.equal(dir, nodePath.join(cache, 'models', 'me', 'my-lenses', 'main', 'lens', 'tiny'));
  await assert.rejects(resolveLens('gpt2', { env }), /in model repo me\/my-lenses[\s\S]*Available lenses:\n {2}tiny/);
});

test('an unreachable Hub gives the endpoint error, not a lens listing', async () => {
  const { env } = await isolatedEnv({ HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` });
  await assert.rejects(resolveLens('gpt2', { env }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'unreachable');
    assert.match(e.message, /lens\/gpt2\/config\.json/);
    return true;
  });
  await assert.rejects(resolveLens('../etc', { env }), /Cannot resolve lens "\.\.\/etc"/);
});
