/**
 * `serve` under misuse and load (issue 7 item 9), loopback only and bounded: startup checks, Host names,
 * the bounded job queue (429 + Retry-After), dropped jobs of clients that left, timeouts and the connection cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { loadModel } from '../../src/node/load-model.js';
import type { LanguageModel } from '../../src/models/language-model.js';
import { acceptedHostNames, startViewer } from '../../src/viewer/server.js';
import { runCli } from '../helpers/cli.js';

const realModel: Promise<LanguageModel> = loadModel('stories260K');

test('serve --model /nonexistent fails at startup, naming the model', async () => {
  const t0 = Date.now();
  const r = await runCli(['serve', '--model', '/nonexistent/model', '--port', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--model \/nonexistent\/model: .*not an existing local folder/);
  assert.ok(Date.now() - t0 < 30_000);
});

test('a wildcard bind accepts only this machine\'s names, loopback and --allow-host', async () => {
  const names = acceptedHostNames('0.0.0.0', ['viewer.lan']);
  for (const n of ['localhost', '127.0.0.1', 'viewer.lan']) assert.ok(names.has(n), n);
  assert.ok(!names.has('evil.example'));
  const s = await startViewer({ port: 0, allowHosts: ['Viewer.LAN'], log: () => {}, loaders: { loadModel: () => realModel } });
  try {
    const get = (host: string) => rawRequest(s.port, `GET /api/config HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.match(await get('evil.example'), /^HTTP\/1.1 403/);
    assert.match(await get(`viewer.lan:${s.port}`), /^HTTP\/1.1 200/);
  } finally {
    await s.close();
  }
});

test('a full queue answers 429 with Retry-After; a job whose client left is never computed; no log lines', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const logs: string[] = [];
  const s = await startViewer({
    port: 0,
    maxPendingJobs: 2,
    log: (m) => logs.push(m),
    loaders: {
      loadModel: async () => {
        await gate;
        return realModel;
      },
    },
  });
  const computed: string[] = [];
  const original = s.engine.trajectory.bind(s.engine);
  s.engine.trajectory = (req) => {
    computed.push(req.prompt);
    return original(req);
  };
  const send = (prompt: string, signal?: AbortSignal) =>
    fetch(new URL('/api/trajectory', s.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 0, lens: 'logit', prompt }), signal });
  try {
    const first = send('Once upon a time'); // runs (waits for the model)
    await waitFor(() => computed.length === 1);
    const leaver = new AbortController();
    const second = send('Lily was happy', leaver.signal).catch((e: Error) => e); // waits in the queue
    await waitFor(async () => ((await (await fetch(new URL('/api/progress', s.url))).json()) as { queued: number }).queued === 1);
    const third = await send('The dog ran');
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    leaver.abort();
    assert.ok((await second) instanceof Error);
    await new Promise((r) => setTimeout(r, 100));
    release();
    assert.equal((await first).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(computed, ['Once upon a time'], 'the abandoned job was dropped');
    assert.deepEqual(logs, [], 'a client disconnect is not an error worth a stack trace');
    assert.equal((await send('The dog ran')).status, 200, 'the queue is free again');
  } finally {
    release();
    await s.close();
  }
});

test('slow clients are cut off by the header timeout, and connections beyond the cap are closed', async () => {
  const s = await startViewer({ port: 0, maxConnections: 3, timeouts: { headersMs: 300, requestMs: 600 }, log: () => {}, loaders: { loadModel: () => realModel } });
  try {
    const slow = await openSocket(s.port);
    slow.write('GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // never finishes its headers
    const t0 = Date.now();
    await new Promise((r) => slow.once('close', r));
    assert.ok(Date.now() - t0 < 5000, `closed after ${Date.now() - t0} ms`);

    const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(s.port)));
    const closed = await Promise.all(sockets.map((sock) => new Promise<boolean>((r) => {
      const timer = setTimeout(() => r(false), 250);
      sock.once('close', () => {
        clearTimeout(timer);
        r(true);
      });
    })));
    assert.ok(closed.filter(Boolean).length >= 2, `closed: ${closed.join(',')}`);
    for (const sock of sockets) sock.destroy();
  } finally {
    await s.close();
  }
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Flowing mode: a socket whose incoming data nobody reads never sees 'end', hence never 'close'.
    const sock = connect(port, '127.0.0.1', () => resolve(sock.resume()));
    sock.on('error', () => {});
    sock.once('error', reject);
  });
}

async function rawRequest(port: number, text: string): Promise<string> {
  const sock = await openSocket(port);
  let out = '';
  sock.on('data', (d: Buffer) => (out += d.toString()));
  sock.write(text);
  await new Promise((r) => sock.once('close', r));
  return out;
}
