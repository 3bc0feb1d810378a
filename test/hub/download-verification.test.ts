/**
 * Cache poisoning (issue 7 item 4): a download enters the cache only when it matches what the Hub declared
 * (git blob id / sha256 ETags, size) and, for JSON files, parses to an object. Everything runs against loopback
 * fake Hubs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { gzipSync } from 'node:zlib';
import { HubError, cachePath, downloadFile } from '../../src/hub/hub-client.js';
import { filesUnder, gitBlobId, isolatedEnv as isolatedEnvFor, startFakeHub, tempDir, writeRepo, type FakeHub } from './fake-hub.js';

let root: string;
let hub: FakeHub;
let cdn: FakeHub;
const temps: string[] = [];
const config = '{"model_type":"llama","hidden_size":8}';
const weights = new Uint8Array(50_000).map((_, i) => (i * 7) & 0xff);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

before(async () => {
  root = await tempDir('hubroot');
  await writeRepo(root, 'model', 'acme/m', { 'config.json': config, 'w.bin': weights });
  hub = await startFakeHub(root);
  cdn = await startFakeHub(await tempDir('cdnroot'));
  temps.push(cdn.root);
});

after(async () => {
  await hub.close();
  await cdn.close();
  for (const d of [root, ...temps]) await fsp.rm(d, { recursive: true, force: true });
});

const isolatedEnv = () => isolatedEnvFor(hub.url, temps);

async function withHandler<T>(server: FakeHub, url: string, h: Parameters<FakeHub['handlers']['set']>[1], f: () => Promise<T>): Promise<T> {
  server.handlers.set(url, h);
  try {
    return await f();
  } finally {
    server.handlers.delete(url);
  }
}

const refused = (code: string, pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof HubError, String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};

test('a same-length altered file does not match its git blob ETag and is not cached', async () => {
  const { env, cache } = await isolatedEnv();
  const altered = config.replace('llama', 'LLAMA');
  await withHandler(hub, '/acme/m/resolve/main/config.json', (_req, res) => {
    res.writeHead(200, { 'content-length': String(altered.length), etag: `"${gitBlobId(Buffer.from(config))}"` }).end(altered);
  }, () => assert.rejects(downloadFile('acme/m', 'config.json', { env }), refused('unverified', /git-sha1 .*ETag/)));
  assert.deepEqual(await filesUnder(cache), []);
  assert.equal(await fsp.readFile(await downloadFile('acme/m', 'config.json', { env }), 'utf8'), config);
});

test('LFS: the sha256 and size on the Hub redirect are checked against what the CDN sends; no token to the CDN', async () => {
  const { env, cache } = await isolatedEnv();
  const lfsRedirect = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(302, { location: `${cdn.url}/blob`, 'x-linked-etag': `"${sha256(weights)}"`, 'x-linked-size': String(weights.length), etag: '"cdn-ignored"' }).end();
  };
  const tampered = weights.slice();
  tampered[10] ^= 1;
  await withHandler(hub, '/acme/m/resolve/main/w.bin', lfsRedirect, () =>
    withHandler(cdn, '/blob', (_req, res) => res.writeHead(200, { 'content-length': String(tampered.length), etag: '"whatever"' }).end(tampered), () =>
      assert.rejects(downloadFile('acme/m', 'w.bin', { env: { ...env, HF_TOKEN: 'tok' } }), refused('unverified', /sha256/)),
    ),
  );
  assert.deepEqual(await filesUnder(cache), []);
  const p = await withHandler(hub, '/acme/m/resolve/main/w.bin', lfsRedirect, () =>
    withHandler(cdn, '/blob', (_req, res) => res.writeHead(200, { 'content-length': String(weights.length) }).end(weights), () =>
      downloadFile('acme/m', 'w.bin', { env: { ...env, HF_TOKEN: 'tok' } }),
    ),
  );
  assert.deepEqual(new Uint8Array(await fsp.readFile(p)), weights);
  assert.equal(hub.requests.at(-1)!.headers.authorization, 'Bearer tok');
  assert.equal(cdn.requests.at(-1)!.headers.authorization, undefined);
});

test('a truncated response without Content-Length is refused (binary: nothing to check; JSON: does not parse)', async () => {
  const { env, cache } = await isolatedEnv();
  const rawClose = (body: Uint8Array | string) => (req: import('node:http').IncomingMessage) => {
    // HTTP/1.0 style: no length, no chunking, the end of the body is the end of the connection.
    req.socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n'), Buffer.from(body)]));
  };
  await withHandler(hub, '/acme/m/resolve/main/w.bin', rawClose(weights.subarray(0, 1000)), () =>
    assert.rejects(downloadFile('acme/m', 'w.bin', { env }), refused('unverified', /neither a size nor a content hash/)),
  );
  await withHandler(hub, '/acme/m/resolve/main/config.json', rawClose(config.slice(0, 20)), () =>
    assert.rejects(downloadFile('acme/m', 'config.json', { env }), refused('unverified', /not valid JSON/)),
  );
  assert.deepEqual(await filesUnder(cache), []);
});

test('an HTML page served as config.json is refused', async () => {
  const { env, cache } = await isolatedEnv();
  const html = '<!DOCTYPE html><html><body>Sign in</body></html>';
  await withHandler(hub, '/acme/m/resolve/main/config.json', (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(html.length) }).end(html), () =>
    assert.rejects(downloadFile('acme/m', 'config.json', { env }), refused('unverified', /not valid JSON.*DOCTYPE/)),
  );
  assert.deepEqual(await filesUnder(cache), []);
});

test('Content-Encoding: gzip is decoded and checked; a compressed bomb is cut off at the cap', async () => {
  const { env, cache } = await isolatedEnv();
  const gz = gzipSync(config);
  const p = await withHandler(hub, '/acme/m/resolve/main/config.json', (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(gz.length), etag: `"${gitBlobId(Buffer.from(config))}"` }).end(gz);
  }, () => downloadFile('acme/m', 'config.json', { env }));
  assert.equal(await fsp.readFile(p, 'utf8'), config);
  await fsp.rm(p);
  const bomb = gzipSync(Buffer.alloc(65 * 2 ** 20, 0x20));
  await withHandler(hub, '/acme/m/resolve/main/config.json', (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) }).end(bomb);
  }, () => assert.rejects(downloadFile('acme/m', 'config.json', { env }), refused('unverified', /more than 67108864 bytes \(Content-Encoding: gzip\)/)));
  assert.deepEqual(await filesUnder(cache), []);
});

test('.part files of killed downloads are removed; a cached non-JSON config.json is replaced', async () => {
  const { env } = await isolatedEnv();
  const dest = cachePath('acme/m', 'config.json', { env });
  await fsp.mkdir(nodePath.dirname(dest), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!; // a pid that has exited
  const stale = `${dest}.${dead}-0.part`;
  const live = `${dest}.${process.pid}-999.part`;
  await fsp.writeFile(stale, 'half');
  await fsp.writeFile(live, 'someone else is writing this');
  await fsp.writeFile(dest, '<html>poisoned by an older version</html>');
  const p = await downloadFile('acme/m', 'config.json', { env });
  assert.equal(await fsp.readFile(p, 'utf8'), config);
  await assert.rejects(fsp.stat(stale));
  await fsp.stat(live);
  await fsp.rm(live);
});
