/**
 * `tuned-lens serve`: a small HTTP server (Node's http, no framework) for the browser viewer.
 *
 *   GET  /                 the page            GET  /api/config     models and lenses offered
 *   GET  /app.js(.map)     the page script     GET  /api/progress   what the server is computing
 *   GET  /echarts.min.js   ECharts             POST /api/trajectory statistics + top-k + labels
 *                                              POST /api/pin        one token's probability and rank everywhere
 *                                              POST /api/export     the current view as SVG / PNG / HTML
 *   GET  /api/bases        causal bases (--bases)  POST /api/ablate    the trajectory with a basis direction ablated
 *
 * Safety: bound to loopback by default; every other path is a 404 (no file serving beyond the fixed
 * whitelist, and requests name models and lenses by index, never by path); request bodies are capped;
 * POSTs must be JSON (so a cross-site form cannot trigger work); the Host header must name this server
 * (loopback names, the bound address, and for a wildcard bind this machine's addresses and host name, plus
 * `allowHosts`), which defeats DNS-rebinding pages. Load: header and request timeouts, a connection cap, and
 * a bounded compute queue (429 + Retry-After when full) that drops the jobs of clients that left.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import { ClientGoneError, GateFullError, JobGate } from './job-gate.js';
import { DEFAULT_MODEL } from '../node/load-model.js';
import { renderHtml, renderPng, renderSvg } from '../viz/render.js';
import { ViewerAssets } from './assets.js';
import { RequestError, ViewerEngine, type EngineLoaders } from './engine.js';
import { nodeEngineLoaders } from './node-loaders.js';
import { PAGE_CSP, viewerPageHtml } from './page.js';
import {
  BASE_STATISTICS,
  DISTANCE_STATISTICS,
  EXPORT_FORMATS,
  GRID_MODES,
  type BaseStatistic,
  type DistanceStatistic,
  type ExportFormat,
  type GridMode,
  type ViewerLimits,
  type ViewSettings,
} from './protocol.js';
import { buildViewPanels } from './grid-modes.js';
import { parseScaleChoices, type ScaleChoices } from './colour-scales.js';

export const DEFAULT_VIEWER_MODELS = [DEFAULT_MODEL];

export interface ViewerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /** Model specs offered (default: stories260K). */
  models?: string[];
  /** Tuned lens specs (folders or pretrained ids) per model spec. */
  lenses?: Record<string, string[]>;
  /** A causal-basis folder per model spec: the page's causal basis panel. */
  bases?: Record<string, string>;
  /** Longest prompt in tokens (the model's context length is the limit anyway). */
  maxTokens?: number;
  limits?: Partial<ViewerLimits>;
  /** Substitute model / lens loaders (tests). */
  loaders?: Partial<EngineLoaders>;
  /** Where request errors the server did not expect are logged; default console.error. */
  log?: (message: string) => void;
  /** Extra names accepted in the Host header (e.g. a DNS name this machine is reached by). */
  allowHosts?: string[];
  /** Compute requests admitted at once (running + waiting); more get 429. Default 8. */
  maxPendingJobs?: number;
  /** Open connections at most; more are closed at once. Default 64. */
  maxConnections?: number;
  /** A client must send its headers within this (default 10 s) and its whole request within `requestMs` (default 30 s). */
  timeouts?: { headersMs?: number; requestMs?: number };
}

export interface ViewerServer {
  url: string;
  host: string;
  port: number;
  engine: ViewerEngine;
  close(): Promise<void>;
}

/** Loopback names and addresses: where binding exposes nothing to the network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The host part of a Host header ("127.0.0.1:8080", "[::1]:80", "localhost"). */
function hostHeaderName(header: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (m) return m[1]!;
  const i = header.lastIndexOf(':');
  return i >= 0 && header.indexOf(':') === i ? header.slice(0, i) : header;
}

/** Host names (lower case, no port) a request may address this server by. */
export function acceptedHostNames(boundHost: string, allowHosts: readonly string[] = []): Set<string> {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  const bound = boundHost.replace(/^\[|\]$/g, '').toLowerCase();
  names.add(bound);
  if (bound === '0.0.0.0' || bound === '::' || bound === '') {
    // A wildcard bind answers on every interface: the names of this machine, not any name at all.
    names.add(os.hostname().toLowerCase());
    for (const addrs of Object.values(os.networkInterfaces())) for (const a of addrs ?? []) names.add(a.address.toLowerCase());
  }
  for (const h of allowHosts) names.add(h.replace(/^\[|\]$/g, '').toLowerCase());
  return names;
}

/** Errors that only mean the client went away (closed the tab, aborted the fetch): not worth a log line. */
function isClientGone(e: unknown, req: IncomingMessage, res: ServerResponse): boolean {
  if (e instanceof ClientGoneError) return true;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return res.destroyed || req.socket.destroyed || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error | undefined)?.message === 'aborted';
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function send(res: ServerResponse, status: number, body: string | Buffer | Uint8Array, contentType: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', extra);
}

/**
 * Reads a JSON body of at most `limit` bytes. A larger body is refused with 413 as soon as that is known
 * (from Content-Length, or while streaming), and the connection is closed afterwards.
 */
function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): RequestError => new RequestError(413, `The request is larger than the ${Math.round(limit / 1024)} KB the viewer accepts; shorten the prompt.`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new RequestError(400, 'The request body is not valid JSON.'));
      }
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

function parseView(v: unknown): ViewSettings {
  if (typeof v !== 'object' || v === null) throw new RequestError(400, 'view must be an object.');
  const o = v as Record<string, unknown>;
  const statistic = o.statistic ?? 'entropy';
  const distance = o.distance ?? 'kl';
  if (!BASE_STATISTICS.includes(statistic as BaseStatistic)) throw new RequestError(400, `Unknown statistic ${JSON.stringify(statistic)}: use one of ${BASE_STATISTICS.join(', ')}.`);
  if (!DISTANCE_STATISTICS.includes(distance as DistanceStatistic)) throw new RequestError(400, `Unknown distance ${JSON.stringify(distance)}: use one of ${DISTANCE_STATISTICS.join(', ')}.`);
  const int = (name: string, x: unknown, min: number): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > 1e6) throw new RequestError(400, `${name} must be an integer ≥ ${min}.`);
    return x;
  };
  let scales: ScaleChoices;
  try {
    scales = parseScaleChoices(o.scales);
  } catch (e) {
    throw new RequestError(400, `${(e as Error).message}.`);
  }
  return {
    scales,
    statistic: statistic as BaseStatistic,
    distance: distance as DistanceStatistic,
    stride: int('stride', o.stride ?? 1, 1),
    from: int('from', o.from ?? 0, 0),
    to: o.to === null || o.to === undefined ? null : int('to', o.to, 1),
    mode: parseGridMode(o.mode),
  };
}

function parseGridMode(mode: unknown): GridMode {
  if (mode === undefined) return 'lens';
  if (!GRID_MODES.includes(mode as GridMode)) throw new RequestError(400, `Unknown grid mode ${JSON.stringify(mode)}: use one of ${GRID_MODES.join(', ')}.`);
  return mode as GridMode;
}

const EXPORT_TYPES: Record<ExportFormat, string> = {
  svg: 'image/svg+xml; charset=utf-8',
  png: 'image/png',
  html: 'text/html; charset=utf-8',
};

/** A file name safe in a Content-Disposition header on every platform. */
function safeFileName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'figure';
}

export async function startViewer(options: ViewerOptions = {}): Promise<ViewerServer> {
  const host = options.host ?? '127.0.0.1';
  const engine = new ViewerEngine(
    { models: options.models ?? DEFAULT_VIEWER_MODELS, lenses: options.lenses ?? {}, bases: options.bases ?? {}, ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}) },
    nodeEngineLoaders(options.loaders),
    options.limits,
  );
  const assets = new ViewerAssets();
  const log = options.log ?? ((m: string) => console.error(m));
  const acceptedHosts = acceptedHostNames(host, options.allowHosts);
  const gate = new JobGate(options.maxPendingJobs ?? 8);
  const page = viewerPageHtml();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only the raw path is matched, exactly and undecoded: "/app.js/../x", "%2e%2e" etc. match nothing.
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';

    const hostHeader = req.headers.host ?? '';
    if (!acceptedHosts.has(hostHeaderName(hostHeader).toLowerCase())) {
      sendJson(res, 403, {
        error: `This viewer does not answer to the Host header ${JSON.stringify(hostHeader.slice(0, 100))}; start it with --allow-host NAME to accept another name.`,
      });
      return;
    }

    const get = method === 'GET' || method === 'HEAD';
    const routes: Record<string, 'GET' | 'POST'> = {
      '/': 'GET',
      '/index.html': 'GET',
      '/app.js': 'GET',
      '/app.js.map': 'GET',
      '/echarts.min.js': 'GET',
      '/favicon.ico': 'GET',
      '/api/config': 'GET',
      '/api/progress': 'GET',
      '/api/trajectory': 'POST',
      '/api/pin': 'POST',
      '/api/export': 'POST',
      '/api/bases': 'GET',
      '/api/ablate': 'POST',
    };
    const want = routes[path];
    if (!want) {
      sendJson(res, 404, { error: `Not found: ${path.slice(0, 200)}` });
      return;
    }
    if ((want === 'GET' && !get) || (want === 'POST' && method !== 'POST')) {
      sendJson(res, 405, { error: `${method} is not allowed on ${path}; use ${want}.` }, { Allow: want === 'GET' ? 'GET, HEAD' : 'POST' });
      return;
    }
    if (want === 'POST' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      sendJson(res, 415, { error: 'POST bodies must be JSON (Content-Type: application/json).' });
      return;
    }

    switch (path) {
      case '/':
      case '/index.html':
        send(res, 200, page, 'text/html; charset=utf-8', { 'Content-Security-Policy': PAGE_CSP });
        return;
      case '/app.js': {
        const a = await assets.appScript();
        send(res, 200, a.body, a.contentType);
        return;
      }
      case '/app.js.map': {
        const a = await assets.appSourceMap();
        if (a) send(res, 200, a.body, a.contentType);
        else sendJson(res, 404, { error: 'no source map' });
        return;
      }
      case '/echarts.min.js': {
        const a = await assets.echartsScript();
        send(res, 200, a.body, a.contentType, { 'Cache-Control': 'max-age=3600' });
        return;
      }
      case '/favicon.ico':
        // No icon; 204 keeps the browser console free of a 404.
        res.writeHead(204, SECURITY_HEADERS).end();
        return;
      case '/api/config':
        sendJson(res, 200, engine.config());
        return;
      case '/api/progress': {
        const state = engine.progressState();
        sendJson(res, 200, { ...state, queued: state.queued + gate.waiting });
        return;
      }
      case '/api/bases':
        sendJson(res, 200, await engine.basesInfo());
        return;
    }

    const body = await readJsonBody(req, engine.limits.maxBodyBytes);
    // A client that disconnects while its job waits loses its place: nothing is computed for it.
    const left = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) left.abort();
    });
    await gate.run(() => compute(path, body, res), left.signal);
  }

  async function compute(path: string, body: unknown, res: ServerResponse): Promise<void> {
    switch (path) {
      case '/api/trajectory':
        sendJson(res, 200, await engine.trajectory(engine.parseTrajectoryRequest(body)));
        return;
      case '/api/pin':
        sendJson(res, 200, await engine.pin(engine.parsePinRequest(body)));
        return;
      case '/api/ablate':
        sendJson(res, 200, await engine.ablation(engine.parseAblationRequest(body)));
        return;
      case '/api/export': {
        const treq = engine.parseTrajectoryRequest(body);
        const o = body as Record<string, unknown>;
        const view = parseView(o.view ?? {});
        const format = o.format;
        if (!EXPORT_FORMATS.includes(format as ExportFormat)) throw new RequestError(400, `format must be one of ${EXPORT_FORMATS.join(', ')}.`);
        const panels = buildViewPanels(await engine.trajectory(treq), view);
        const index = o.panel ?? 0;
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= panels.length) {
          throw new RequestError(400, `panel must be 0..${panels.length - 1} for this view.`);
        }
        const panel = panels[index]!;
        const fmt = format as ExportFormat;
        const content = fmt === 'svg' ? renderSvg(panel.data) : fmt === 'png' ? renderPng(panel.data, { scale: 2 }) : renderHtml(panel.data);
        const name = safeFileName(`tuned-lens-${panel.title}`);
        send(res, 200, content, EXPORT_TYPES[fmt], { 'Content-Disposition': `attachment; filename="${name}.${fmt}"` });
        return;
      }
    }
  }

  const headersMs = options.timeouts?.headersMs ?? 10_000;
  const requestMs = Math.max(headersMs, options.timeouts?.requestMs ?? 30_000);
  // These bound how long a client may take to *send* a request (slow-loris); computing the answer may take
  // longer, and the page polls progress meanwhile. Node checks them every `connectionsCheckingInterval`.
  const timing = { headersTimeout: headersMs, requestTimeout: requestMs, connectionsCheckingInterval: Math.min(1000, Math.max(50, headersMs / 4)) };
  const server = createServer(timing, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (isClientGone(e, req, res)) {
        res.destroy();
        return;
      }
      if (e instanceof GateFullError) {
        sendJson(res, 429, { error: e.message }, { 'Retry-After': String(e.retryAfterSeconds) });
        return;
      }
      const status = e instanceof RequestError ? e.status : 500;
      if (!(e instanceof RequestError)) log(`tuned-lens serve: ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // After a refused body the rest of it is not worth reading: answer, then close the connection.
      const close: Record<string, string> = status === 413 ? { Connection: 'close' } : {};
      sendJson(res, status, { error: e instanceof Error ? e.message : String(e) }, close);
      if (status === 413) {
        req.resume();
        res.on('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
      }
    });
  });
  server.maxConnections = options.maxConnections ?? 64;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const shownHost = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : urlHost;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    host: addr.address,
    port: addr.port,
    engine,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
