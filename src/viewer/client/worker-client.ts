/**
 * The static web build's transport: requests go to the compute worker (src/web/worker.ts) instead of a
 * server. Same answers as the server's JSON API, plus the web build's own calls (sources, backend, cache).
 */
import type { WorkerMethod, WorkerMethods, WorkerResponse } from '../../web/worker-protocol.js';

/** True on the static web build's page (index.html says so), false on `tuned-lens serve`'s page. */
export function isWebBuild(): boolean {
  return typeof document !== 'undefined' && document.documentElement.dataset.build === 'web';
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function theWorker(): Worker {
  if (worker) return worker;
  // Page query settings (hub=, backend=) pass through to the worker.
  const w = new Worker(`worker.js${location.search}`, { type: 'module' });
  w.onmessage = (ev: MessageEvent) => {
    const r = ev.data as WorkerResponse;
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(new Error(r.error));
  };
  w.onerror = (ev: ErrorEvent) => {
    const err = new Error(`The compute worker failed: ${ev.message || 'it could not start (is worker.js served next to index.html?)'}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  return (worker = w);
}

export function callWorker<M extends WorkerMethod>(method: M, params?: WorkerMethods[M][0]): Promise<WorkerMethods[M][1]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    theWorker().postMessage({ id, method, params });
  });
}
