/**
 * A minimal static file server for the web build (`tuned-lens web --serve`, and its tests): GET/HEAD with
 * byte ranges, no directory listings, nothing outside the root, optional cross-origin isolation headers
 * (onnxruntime-web needs them for threads).
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as nodePath from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.bin': 'application/octet-stream', '.safetensors': 'application/octet-stream', '.pt': 'application/octet-stream',
};

export interface StaticServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function serveStatic(dir: string, options: { isolated?: boolean; port?: number; host?: string } = {}): Promise<StaticServer> {
  const root = nodePath.resolve(dir);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(`${req.method} ${path}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const file = nodePath.resolve(root, `.${nodePath.posix.normalize(path === '/' ? '/index.html' : path)}`);
    if (file !== root && !file.startsWith(root + nodePath.sep)) return void res.writeHead(403).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      return void res.writeHead(404).end('not found');
    }
    const headers: Record<string, string> = { 'Content-Type': TYPES[nodePath.extname(file)] ?? 'application/octet-stream', 'Accept-Ranges': 'bytes' };
    if (options.isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const [a, b] = [Number(range[1]), Math.min(Number(range[2]), size - 1)];
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${a}-${b}/${size}`, 'Content-Length': String(b - a + 1) });
      if (req.method === 'HEAD') return void res.end();
      return void createReadStream(file, { start: a, end: b }).pipe(res);
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`, requests, close: () => new Promise((r) => server.close(() => r())) };
}
