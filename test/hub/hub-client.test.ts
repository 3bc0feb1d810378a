import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import {
  HubError,
  cachePath,
  defaultCacheDir,
  downloadFile,
  fileUrl,
  hfHubCacheDir,
  listRepoFiles,
  listingUrl,
  type Env,
} from '../../src/hub/hub-client.js';
import { closedPort, filesUnder, startFakeHub, tempDir, writeRepo, type FakeHub, isolatedEnv as isolatedEnvFor } from './fake-hub.js';

let root: string;
let hub: FakeHub;
const temps: string[] = [];
const big = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);

before(async () => {
  root = await tempDir('hubroot');
  await writeRepo(root, 'model', 'acme/tiny', { 'config.json': '{"a":1}', 'big.bin': big, 'sub/dir/x.txt': 'x' });
  await writeRepo(root, 'dataset', 'acme/data', { 'd.txt': 'dataset file' });
  await writeRepo(root, 'space', 'acme/space', { 'lens/m/config.json': '{}' });
  hub = await startFakeHub(root);
});

after(async () => {
  await hub.close();
  for (const d of [root, ...temps]) await fsp.rm(d, { recursive: true, force: true });
});

/** A fully isolated environment: nothing leaks in from the real process environment. */
const isolatedEnv = (extra: Env = {}) => isolatedEnvFor(hub.url, temps, extra);

test('URL layout for model, dataset and space repos', () => {
  const opts = { endpoint: 'https://hub.example/' };
  assert.equal(fileUrl('org/m', 'a/b.json', opts), 'https://hub.example/org/m/resolve/main/a/b.json');
  assert.equal(fileUrl('org/d', 'f', { ...opts, repoType: 'dataset', revision: 'v1' }), 'https://hub.example/datasets/org/d/resolve/v1/f');
  assert.equal(fileUrl('org/s', 'f', { ...opts, repoType: 'space' }), 'https://hub.example/spaces/org/s/resolve/main/f');
  assert.equal(listingUrl('org/s', { ...opts, repoType: 'space' }), 'https://hub.example/api/spaces/org/s/revision/main');
  assert.throws(() => fileUrl('org/../x', 'f', opts), HubError);
  assert.throws(() => fileUrl('org/m', '../f', opts), HubError);
});

test('cache folders follow the environment', () => {
  assert.equal(defaultCacheDir({ env: { TUNED_LENS_CACHE: '/c' } }), '/c');
  assert.equal(defaultCacheDir({ env: { XDG_CACHE_HOME: '/x' } }), '/x/tuned-lens');
  assert.equal(defaultCacheDir({ env: { HOME: '/h' } }), '/h/.cache/tuned-lens');
  assert.equal(hfHubCacheDir({ env: { HF_HUB_CACHE: '/a', HF_HOME: '/b' } }), '/a');
  assert.equal(hfHubCacheDir({ env: { HF_HOME: '/b' } }), '/b/hub');
  assert.equal(hfHubCacheDir({ env: { HOME: '/h' } }), '/h/.cache/huggingface/hub');
  assert.equal(cachePath('org/m', 'a/b', { env: { TUNED_LENS_CACHE: '/c' }, repoType: 'space' }), '/c/spaces/org/m/main/a/b');
});

test('downloads into the cache layout, reports progress, then serves from cache without network', async () => {
  const { env, cache } = await isolatedEnv({ HF_TOKEN: 'secret-token' });
  const calls: [number, number | undefined, string][] = [];
  const p = await downloadFile('acme/tiny', 'big.bin', { env, onProgress: (d, t, f) => calls.push([d, t, f]) });
  assert.equal(p, nodePath.join(cache, 'models', 'acme', 'tiny', 'main', 'big.bin'));
  assert.deepEqual(new Uint8Array(await fsp.readFile(p)), big);
  assert.deepEqual(calls[0], [0, big.length, 'big.bin']);
  assert.deepEqual(calls.at(-1), [big.length, big.length, 'big.bin']);
  assert.equal(hub.requests.at(-1)!.headers.authorization, 'Bearer secret-token');

  const nested = await downloadFile('acme/data', 'd.txt', { env, repoType: 'dataset' });
  assert.equal(await fsp.readFile(nested, 'utf8'), 'dataset file');
  assert.equal(nested, nodePath.join(cache, 'datasets', 'acme', 'data', 'main', 'd.txt'));

  // Cache hit: an unreachable endpoint does not matter.
  const port = await closedPort();
  const before = hub.requests.length;
  const again = await downloadFile('acme/tiny', 'big.bin', { env: { ...env, HF_ENDPOINT: `http://127.0.0.1:${port}` } });
  assert.equal(again, p);
  assert.equal(hub.requests.length, before);
  assert.deepEqual(await filesUnder(cache), ['datasets/acme/data/main/d.txt', 'models/acme/tiny/main/big.bin']);
});

test('a download cut off midway throws and leaves neither the file nor a .part in the cache', async () => {
  const { env, cache } = await isolatedEnv();
  hub.cutOff.set('/acme/tiny/resolve/main/big.bin', 100_000);
  try {
    await assert.rejects(downloadFile('acme/tiny', 'big.bin', { env }), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'incomplete');
      assert.match(e.message, /cut off after \d+ of 300000 bytes/);
      assert.match(e.message, /big\.bin/);
      return true;
    });
  } finally {
    hub.cutOff.delete('/acme/tiny/resolve/main/big.bin');
  }
  assert.deepEqual(await filesUnder(cache), []);
  // And a retry then succeeds.
  const p = await downloadFile('acme/tiny', 'big.bin', { env });
  assert.equal((await fsp.stat(p)).size, big.length);
});

test('404 says which file is missing from which repo and revision', async () => {
  const { env, cache } = await isolatedEnv();
  await assert.rejects(downloadFile('acme/tiny', 'nope.json', { env }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'not-found');
    assert.match(e.message, /file "nope\.json" not found in model repo acme\/tiny at revision main/i);
    return true;
  });
  await assert.rejects(downloadFile('acme/tiny', 'config.json', { env, revision: 'v9' }), /not found in model repo acme\/tiny at revision v9/);
  await assert.rejects(listRepoFiles('acme/missing', { env }), /Model repo acme\/missing not found at revision main/);
  assert.deepEqual(await filesUnder(cache), []);
});

test('unreachable endpoint: names endpoint, wanted file, cache location and fixes', async () => {
  const port = await closedPort();
  const { env, cache } = await isolatedEnv({ HF_ENDPOINT: `http://127.0.0.1:${port}` });
  await assert.rejects(downloadFile('acme/tiny', 'config.json', { env }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'unreachable');
    assert.match(e.message, new RegExp(`Could not reach the Hugging Face Hub at http://127\\.0\\.0\\.1:${port}`));
    assert.match(e.message, /ECONNREFUSED/);
    assert.match(e.message, /"config\.json" from model repo acme\/tiny at revision main/);
    assert.ok(e.message.includes(nodePath.join(cache, 'models', 'acme', 'tiny', 'main', 'config.json')));
    assert.match(e.message, /HF_ENDPOINT/);
    assert.match(e.message, /local folder/);
    return true;
  });
  await assert.rejects(listRepoFiles('acme/tiny', { env }), /Could not reach the Hugging Face Hub/);
});

test('HF_HUB_OFFLINE forbids the network but still serves the cache', async () => {
  const { env } = await isolatedEnv();
  const n = hub.requests.length;
  await assert.rejects(downloadFile('acme/tiny', 'config.json', { env: { ...env, HF_HUB_OFFLINE: '1' } }), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'offline');
    assert.match(e.message, /HF_HUB_OFFLINE/);
    return true;
  });
  assert.equal(hub.requests.length, n);
  const p = await downloadFile('acme/tiny', 'config.json', { env });
  assert.equal(await downloadFile('acme/tiny', 'config.json', { env: { ...env, HF_HUB_OFFLINE: '1' } }), p);
});

test('reuses files from an existing Hugging Face cache (refs/<revision> -> snapshots/<hash>)', async () => {
  const { env, cache, hfCache } = await isolatedEnv({ HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` });
  const hash = 'a'.repeat(40);
  const repoDir = nodePath.join(hfCache, 'spaces--acme--space');
  await fsp.mkdir(nodePath.join(repoDir, 'refs'), { recursive: true });
  await fsp.writeFile(nodePath.join(repoDir, 'refs', 'main'), `${hash}\n`);
  const snap = nodePath.join(repoDir, 'snapshots', hash, 'lens', 'm');
  await fsp.mkdir(snap, { recursive: true });
  await fsp.writeFile(nodePath.join(snap, 'config.json'), '{"from":"hf"}');
  const p = await downloadFile('acme/space', 'lens/m/config.json', { env, repoType: 'space' });
  assert.equal(p, nodePath.join(snap, 'config.json'));
  // Commit hashes work directly too.
  assert.equal(await downloadFile('acme/space', 'lens/m/config.json', { env, repoType: 'space', revision: hash }), p);
  assert.deepEqual(await filesUnder(cache), []);
});
