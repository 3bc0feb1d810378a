/**
 * A tiny stand-in for the Hugging Face Hub on 127.0.0.1 (random port), serving files from a folder:
 * `{root}/{models|datasets|spaces}/{repo}/{revision}/{path}`. It answers the two routes the client uses:
 * `[/datasets|/spaces]/{repo}/resolve/{revision}/{path}` and `/api/{type}s/{repo}/revision/{revision}`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import * as os from 'node:os';
import type { RepoType } from '../../src/hub/hub-client.js';

export interface FakeHub {
  url: string;
  root: string;
  /** Every request seen, in order. */
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  /** URL paths (as requested) to cut off: send Content-Length of the whole file, then only `bytes` bytes, then drop the socket. */
  cutOff: Map<string, number>;
  /** URL paths (as requested) answered by a custom handler instead (tampered files, redirects, odd encodings). */
  handlers: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
  close(): Promise<void>;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(nodePath.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Writes files of one repo revision into the fake Hub's folder. */
export async function writeRepo(
  root: string,
  repoType: RepoType,
  repo: string,
  files: Record<string, string | Uint8Array>,
  revision = 'main',
): Promise<void> {
  for (const [path, data] of Object.entries(files)) {
    const p = nodePath.join(root, `${repoType}s`, ...repo.split('/'), revision, ...path.split('/'));
    await fsp.mkdir(nodePath.dirname(p), { recursive: true });
    await fsp.writeFile(p, data);
  }
}

export async function startFakeHub(root: string): Promise<FakeHub> {
  const requests: FakeHub['requests'] = [];
  const cutOff = new Map<string, number>();
  const handlers: FakeHub['handlers'] = new Map();
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const rawUrl = req.url ?? '/';
      requests.push({ method: req.method ?? '', url: rawUrl, headers: req.headers });
      const custom = handlers.get(rawUrl);
      if (custom) return custom(req, res);
      const path = decodeURIComponent(rawUrl.split('?')[0]!);
      const api = /^\/api\/(models|datasets|spaces)\/(.+?)\/revision\/([^/]+)$/.exec(path);
      if (api) {
        const dir = nodePath.join(root, api[1]!, ...api[2]!.split('/'), api[3]!);
        try {
          await fsp.stat(dir);
        } catch {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}');
          return;
        }
        const siblings = (await listFiles(dir)).map((rfilename) => ({ rfilename }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: api[2], siblings }));
        return;
      }
      const resolve = /^\/(?:(datasets|spaces)\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
      if (!resolve || resolve[4]!.split('/').includes('..')) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      const type = resolve[1] ?? 'models';
      const file = nodePath.join(root, type, ...resolve[2]!.split('/'), resolve[3]!, ...resolve[4]!.split('/'));
      let data: Buffer;
      try {
        data = await fsp.readFile(file);
      } catch {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
        return;
      }
      const cut = cutOff.get(rawUrl);
      // Like the Hub for a regular (non-LFS) file: the ETag is the git blob id.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length), etag: `"${gitBlobId(data)}"` });
      if (cut !== undefined) {
        // Send part of the body, let it reach the client, then drop the connection mid-download.
        res.write(data.subarray(0, cut), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      res.end(data);
    })().catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    root,
    requests,
    cutOff,
    handlers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The git blob id the Hub sends as the ETag of a regular file: sha1("blob <size>\0" + content). */
export function gitBlobId(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export async function tempDir(tag: string): Promise<string> {
  return fsp.mkdtemp(nodePath.join(os.tmpdir(), `tuned-lens-${tag}-`));
}

/** All files under `dir`, relative, '/'-separated (for asserting what the cache holds). */
export function filesUnder(dir: string): Promise<string[]> {
  return listFiles(dir);
}

/** Environment for one test: the fake Hub as endpoint, fresh empty caches (removed by the caller via `temps`). */
export async function isolatedEnv(hubUrl: string, temps: string[], extra: Record<string, string | undefined> = {}): Promise<{ env: Record<string, string | undefined>; cache: string; hfCache: string }> {
  const cache = await tempDir('cache');
  const hfCache = await tempDir('hfcache');
  temps.push(cache, hfCache);
  return { env: { HF_ENDPOINT: hubUrl, TUNED_LENS_CACHE: cache, HF_HUB_CACHE: hfCache, HOME: cache, ...extra }, cache, hfCache };
}
