import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { HubError, type Env } from '../../src/hub/hub-client.js';
import { bundledStories260KDir, packageRoot, parseHubSpec, resolveModel } from '../../src/hub/model-source.js';
import { closedPort, filesUnder, startFakeHub, tempDir, writeRepo, type FakeHub, isolatedEnv as isolatedEnvFor } from './fake-hub.js';

let root: string;
let hub: FakeHub;
const temps: string[] = [];
const weights = new Uint8Array(50_000).map((_, i) => i & 0xff);
const index = JSON.stringify({
  metadata: { total_size: 100 },
  weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', 'c.weight': 'model-00001-of-00002.safetensors' },
});

before(async () => {
  root = await tempDir('hubroot');
  await writeRepo(root, 'model', 'acme/single', {
    'config.json': '{"model_type":"llama"}',
    'tokenizer.json': '{"model":{}}',
    'tokenizer_config.json': '{}',
    'generation_config.json': '{}',
    'model.safetensors': weights,
    'README.md': 'not downloaded',
  });
  await writeRepo(root, 'model', 'acme/sharded', {
    'config.json': '{}',
    'tokenizer.json': '{}',
    'model.safetensors.index.json': index,
    'model-00001-of-00002.safetensors': 'shard1',
    'model-00002-of-00002.safetensors': 'shard2',
  });
  await writeRepo(root, 'model', 'acme/single', { 'config.json': '{"rev":"v2"}', 'tokenizer.json': '{}', 'model.safetensors': 'w2' }, 'v2');
  await writeRepo(root, 'model', 'acme/torch-only', { 'config.json': '{}', 'tokenizer.json': '{}', 'pytorch_model.bin': 'pickle' });
  await writeRepo(root, 'model', 'karpathy/tinyllamas', { 'stories260K/stories260K.bin': 'ckpt', 'stories260K/tok512.bin': 'tok' });
  hub = await startFakeHub(root);
});

after(async () => {
  await hub.close();
  for (const d of [root, ...temps]) await fsp.rm(d, { recursive: true, force: true });
});

const isolatedEnv = (extra: Env = {}) => isolatedEnvFor(hub.url, temps, extra);

test('parseHubSpec', () => {
  assert.deepEqual(parseHubSpec('org/name'), { repo: 'org/name' });
  assert.deepEqual(parseHubSpec('org/name@v1.0'), { repo: 'org/name', revision: 'v1.0' });
  assert.deepEqual(parseHubSpec('gpt2'), { repo: 'gpt2' });
  assert.equal(parseHubSpec('./x/y'), null);
  assert.equal(parseHubSpec('a/b/c'), null);
  assert.equal(parseHubSpec('org/name@'), null);
});

test('downloads a model folder (config + safetensors + tokenizer), then resolves it offline from the cache', async () => {
  const { env, cache } = await isolatedEnv();
  const src = await resolveModel('acme/single', { env });
  const dir = nodePath.join(cache, 'models', 'acme', 'single', 'main');
  assert.deepEqual(src, { kind: 'hf-folder', dir });
  assert.deepEqual(await filesUnder(dir), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(new Uint8Array(await fsp.readFile(nodePath.join(dir, 'model.safetensors'))), weights);

  // Second resolve with the Hub gone: served from the cache.
  const dead = { ...env, HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` };
  assert.deepEqual(await resolveModel('acme/single', { env: dead }), src);
  assert.deepEqual(await resolveModel('acme/single', { env: { ...env, HF_HUB_OFFLINE: '1' } }), src);
});

test('org/name@revision picks the revision, kept apart in the cache', async () => {
  const { env, cache } = await isolatedEnv();
  const src = await resolveModel('acme/single@v2', { env });
  assert.deepEqual(src, { kind: 'hf-folder', dir: nodePath.join(cache, 'models', 'acme', 'single', 'v2') });
  assert.equal(await fsp.readFile(nodePath.join(cache, 'models', 'acme', 'single', 'v2', 'config.json'), 'utf8'), '{"rev":"v2"}');
});

test('sharded checkpoint: index plus every shard listed in it, and a cache hit afterwards', async () => {
  const { env, cache } = await isolatedEnv();
  const src = await resolveModel('acme/sharded', { env });
  const dir = nodePath.join(cache, 'models', 'acme', 'sharded', 'main');
  assert.deepEqual(src, { kind: 'hf-folder', dir });
  assert.deepEqual(await filesUnder(dir), [
    'config.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'model.safetensors.index.json',
    'tokenizer.json',
  ]);
  await hub.close().catch(() => {});
  hub = await startFakeHub(root); // fresh server; check the second resolve makes no request at all
  const n = hub.requests.length;
  assert.deepEqual(await resolveModel('acme/sharded', { env: { ...env, HF_ENDPOINT: hub.url } }), src);
  assert.equal(hub.requests.length, n);
});

test('a repo with only pytorch_model.bin is refused with a clear message', async () => {
  const { env, cache } = await isolatedEnv();
  await assert.rejects(resolveModel('acme/torch-only', { env }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.match(e.message, /only has a PyTorch checkpoint \(pytorch_model\*\.bin\)/);
    assert.match(e.message, /Only safetensors checkpoints are supported/);
    return true;
  });
  assert.deepEqual(await filesUnder(cache), []);
});

test('unknown repo and unreachable Hub: errors say the spec was taken as a Hub id', async () => {
  const { env } = await isolatedEnv();
  await assert.rejects(resolveModel('acme/nothing', { env }), /"acme\/nothing" is not a local folder or file.*\n.*Model repo acme\/nothing not found at revision main/);
  const dead = { ...env, HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` };
  await assert.rejects(resolveModel('acme/single', { env: dead }), /Could not reach the Hugging Face Hub/);
  await assert.rejects(resolveModel('./no/such/dir/x', { env }), /not an existing local folder or \.bin file.*not "stories260K".*org\/name/);
});

test('stories260K resolves to the copy shipped in the package, offline and without the shared test data', async () => {
  const { env } = await isolatedEnv({ HF_HUB_OFFLINE: '1', TUNED_LENS_SHARED: '/nonexistent/shared' });
  const expected = bundledStories260KDir();
  assert.equal(expected, nodePath.join(packageRoot(), 'assets', 'stories260K'));
  const src = await resolveModel('stories260K', { env });
  assert.deepEqual(src, {
    kind: 'llama2c',
    checkpoint: nodePath.join(expected, 'stories260K.bin'),
    tokenizer: nodePath.join(expected, 'tok512.bin'),
  });
  // The files are karpathy/tinyllamas' (sha256 as in the shared README), with their MIT licence beside them.
  const sha = (f: string) => createHash('sha256').update(readFileSync(nodePath.join(expected, f))).digest('hex');
  assert.equal(sha('stories260K.bin'), 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696');
  assert.equal(sha('tok512.bin'), '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312');
  assert.match(readFileSync(nodePath.join(expected, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Copyright \(c\) 2023 Andrej Karpathy/);
  const pkg = JSON.parse(readFileSync(nodePath.join(packageRoot(), 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('assets'), 'package.json "files" ships assets/');
});

test('production code never reads the shared test data folder', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = nodePath.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && /TUNED_LENS_SHARED|shared-data|sharedDir|sharedDataDir|'\.\.\/shared'/.test(readFileSync(p, 'utf8'))) offenders.push(p);
    }
  };
  walk(nodePath.join(packageRoot(), 'src'));
  assert.deepEqual(offenders, []);
});

test('stories260K honours TUNED_LENS_MODELS, and downloads from karpathy/tinyllamas when absent', async () => {
  const models = await tempDir('models');
  temps.push(models);
  await fsp.mkdir(nodePath.join(models, 'stories260K'));
  await fsp.writeFile(nodePath.join(models, 'stories260K', 'stories260K.bin'), 'c');
  await fsp.writeFile(nodePath.join(models, 'stories260K', 'tok512.bin'), 't');
  const { env, cache } = await isolatedEnv({ TUNED_LENS_MODELS: models });
  assert.deepEqual(await resolveModel('stories260K', { env }), {
    kind: 'llama2c',
    checkpoint: nodePath.join(models, 'stories260K', 'stories260K.bin'),
    tokenizer: nodePath.join(models, 'stories260K', 'tok512.bin'),
  });

  const empty = await tempDir('empty');
  temps.push(empty);
  const src = await resolveModel('stories260K', { env: { ...env, TUNED_LENS_MODELS: empty } });
  const base = nodePath.join(cache, 'models', 'karpathy', 'tinyllamas', 'main', 'stories260K');
  assert.deepEqual(src, { kind: 'llama2c', checkpoint: nodePath.join(base, 'stories260K.bin'), tokenizer: nodePath.join(base, 'tok512.bin') });
  assert.equal(await fsp.readFile(src.kind === 'llama2c' ? src.checkpoint : '', 'utf8'), 'ckpt');
});

test('local folders and files: HF layout, llama2.c folder, .bin file with tokenizer beside it', async () => {
  const d = await tempDir('local');
  temps.push(d);
  const hf = nodePath.join(d, 'hf');
  await fsp.mkdir(hf);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) await fsp.writeFile(nodePath.join(hf, f), '{}');
  assert.deepEqual(await resolveModel(hf), { kind: 'hf-folder', dir: hf });

  const l2 = nodePath.join(d, 'l2');
  await fsp.mkdir(l2);
  await fsp.writeFile(nodePath.join(l2, 'model.bin'), 'c');
  await fsp.writeFile(nodePath.join(l2, 'tokenizer.bin'), 't');
  const expected = { kind: 'llama2c', checkpoint: nodePath.join(l2, 'model.bin'), tokenizer: nodePath.join(l2, 'tokenizer.bin') };
  assert.deepEqual(await resolveModel(l2), expected);
  assert.deepEqual(await resolveModel(nodePath.join(l2, 'model.bin')), expected);

  const lone = nodePath.join(d, 'lone.bin');
  await fsp.writeFile(lone, 'c');
  await assert.rejects(resolveModel(lone), /has no tokenizer next to it/);
  assert.deepEqual(await resolveModel(lone, { tokenizer: nodePath.join(l2, 'tokenizer.bin') }), {
    kind: 'llama2c',
    checkpoint: lone,
    tokenizer: nodePath.join(l2, 'tokenizer.bin'),
  });

  const torch = nodePath.join(d, 'torch');
  await fsp.mkdir(torch);
  for (const f of ['config.json', 'pytorch_model.bin', 'tokenizer.json']) await fsp.writeFile(nodePath.join(torch, f), '{}');
  await assert.rejects(resolveModel(torch), /Only safetensors checkpoints are supported/);

  // Without tokenizer.json a folder still resolves (ids-only use); without weights it does not.
  const noTokenizer = nodePath.join(d, 'no-tokenizer');
  await fsp.mkdir(noTokenizer);
  await fsp.writeFile(nodePath.join(noTokenizer, 'config.json'), '{}');
  await fsp.writeFile(nodePath.join(noTokenizer, 'model.safetensors'), '{}');
  assert.deepEqual(await resolveModel(noTokenizer), { kind: 'hf-folder', dir: noTokenizer });
  const partial = nodePath.join(d, 'partial');
  await fsp.mkdir(partial);
  await fsp.writeFile(nodePath.join(partial, 'config.json'), '{}');
  await assert.rejects(resolveModel(partial), /lacks \*\.safetensors weights/);
});

test('a Hub model split across the Hugging Face cache and ours is gathered into one folder', async () => {
  const { env, cache } = await isolatedEnv();
  const hfCache = env.HF_HUB_CACHE!;
  const hash = 'b'.repeat(40);
  const repoDir = nodePath.join(hfCache, 'models--acme--single');
  await fsp.mkdir(nodePath.join(repoDir, 'refs'), { recursive: true });
  await fsp.writeFile(nodePath.join(repoDir, 'refs', 'main'), hash);
  const snap = nodePath.join(repoDir, 'snapshots', hash);
  await fsp.mkdir(snap, { recursive: true });
  await fsp.writeFile(nodePath.join(snap, 'model.safetensors'), 'from-hf-cache');

  const n = hub.requests.length;
  const src = await resolveModel('acme/single', { env });
  const dir = nodePath.join(cache, 'models', 'acme', 'single', 'main');
  assert.deepEqual(src, { kind: 'hf-folder', dir });
  assert.equal(await fsp.readFile(nodePath.join(dir, 'model.safetensors'), 'utf8'), 'from-hf-cache');
  assert.ok(!hub.requests.slice(n).some((r) => r.url.endsWith('/model.safetensors')), 'the weights were not downloaded again');

  // A complete snapshot in the Hugging Face cache is used as it is.
  for (const f of ['config.json', 'tokenizer.json']) await fsp.writeFile(nodePath.join(snap, f), '{}');
  const { env: env2 } = await isolatedEnv({ HF_HUB_CACHE: hfCache, HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` });
  assert.deepEqual(await resolveModel('acme/single', { env: env2 }), { kind: 'hf-folder', dir: snap });
});
