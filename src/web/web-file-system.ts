/**
 * The FileSystem of the static web build: files are URLs (read with HTTP range requests, or whole and kept
 * in the browser's Cache Storage), or files the user picked or dropped (`picked:/folder/name`, read from the
 * File objects). Read-only: nothing in the viewer writes.
 */
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';

export const PICKED = 'picked:';
const CACHE_NAME = 'tuned-lens-downloads-v1';

export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

/** Where downloads are kept between visits: Cache Storage where the page may use it, else nowhere. */
export class DownloadCache {
  private async cache(): Promise<Cache | null> {
    try {
      return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
    } catch {
      return null; // e.g. an opaque origin, or storage disabled
    }
  }

  async get(url: string): Promise<Blob | null> {
    const c = await this.cache();
    const hit = c ? await c.match(url) : undefined;
    return hit ? hit.blob() : null;
  }

  /** Keeps `blob` for the next visit; false where it could not (e.g. over the storage quota: the
   * download is used anyway, just not kept). */
  async put(url: string, blob: Blob): Promise<boolean> {
    const c = await this.cache();
    if (!c) return false;
    try {
      await c.put(url, new Response(blob, { headers: { 'Content-Length': String(blob.size) } }));
      return true;
    } catch {
      return false;
    }
  }

  /** Bytes held, summed over the cached files. */
  async size(): Promise<{ files: number; bytes: number }> {
    const c = await this.cache();
    if (!c) return { files: 0, bytes: 0 };
    let bytes = 0;
    const keys = await c.keys();
    for (const k of keys) bytes += Number((await c.match(k))?.headers.get('Content-Length') ?? 0);
    return { files: keys.length, bytes };
  }

  async clear(): Promise<void> {
    if (typeof caches !== 'undefined') await caches.delete(CACHE_NAME);
  }
}

function httpError(url: string, res: Response): Error {
  return new Error(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
}

class BlobFile implements RandomAccessFile {
  constructor(
    readonly path: string,
    private readonly blob: Blob,
  ) {}
  get size(): number {
    return this.blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.blob.size) {
      throw new Error(`${this.path}: read of ${length} bytes at ${offset} is past the end of the file (${this.blob.size} bytes)`);
    }
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
  async close(): Promise<void> {}
}

/** A remote file read piece by piece with `Range` requests (a safetensors header without the weights). */
class RangeFile implements RandomAccessFile {
  constructor(
    readonly path: string,
    readonly size: number,
    private readonly fetchFn: typeof fetch,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size) throw new Error(`${this.path}: read of ${length} bytes at ${offset} is past the end of the file (${this.size} bytes)`);
    if (length === 0) return new Uint8Array(0);
    const res = await this.fetchFn(this.path, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    if (!res.ok) throw httpError(this.path, res);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // A server that ignores Range sends the whole file (200): take our slice of it.
    if (res.status === 200) return bytes.slice(offset, offset + length);
    if (bytes.length !== length) throw new Error(`${this.path}: asked for ${length} bytes at ${offset}, got ${bytes.length}`);
    return bytes;
  }
  async close(): Promise<void> {}
}

export interface WebFileSystemOptions {
  fetch?: typeof fetch;
  cache?: DownloadCache;
  onProgress?: (p: DownloadProgress) => void;
  /** Remote files at least this large are downloaded whole (and cached) when opened, smaller ones read by
   * range requests. Default 0: every file whole (the viewer reads all of a model's weights anyway). */
  wholeFileThreshold?: number;
  /** Share picked files with another WebFileSystem. */
  picked?: Map<string, Blob>;
}

export class WebFileSystem implements FileSystem {
  /** Picked or dropped files by path (`picked:/<folder>/<name>`). */
  readonly picked: Map<string, Blob>;
  private readonly fetchFn: typeof fetch;
  readonly cache: DownloadCache;
  onProgress: (p: DownloadProgress) => void;
  private readonly wholeFileThreshold: number;

  constructor(options: WebFileSystemOptions = {}) {
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.cache = options.cache ?? new DownloadCache();
    this.onProgress = options.onProgress ?? (() => undefined);
    this.wholeFileThreshold = options.wholeFileThreshold ?? 0;
    this.picked = options.picked ?? new Map();
  }

  /** Adds picked files under `picked:/<folder>/`; returns that folder's path. */
  addPicked(folder: string, files: Iterable<{ name: string; blob: Blob }>): string {
    const dir = `${PICKED}/${folder}`;
    for (const f of files) this.picked.set(`${dir}/${f.name}`, f.blob);
    return dir;
  }

  join(...parts: string[]): string {
    return parts
      .filter((p) => p !== '')
      .map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, '')))
      .join('/');
  }

  /** Size of a remote file (HEAD; a one-byte range request where HEAD is refused). */
  async remoteSize(url: string): Promise<number> {
    let res = await this.fetchFn(url, { method: 'HEAD' });
    const len = res.ok ? res.headers.get('Content-Length') : null;
    if (len !== null && res.headers.get('Content-Encoding') === null) return Number(len);
    res = await this.fetchFn(url, { headers: { Range: 'bytes=0-0' } });
    if (!res.ok) throw httpError(url, res);
    const total = /\/(\d+)$/.exec(res.headers.get('Content-Range') ?? '')?.[1];
    if (total) return Number(total);
    return (await res.arrayBuffer()).byteLength;
  }

  /** The whole file, from the cache or downloaded into it with progress. */
  async download(url: string): Promise<Blob> {
    const cached = await this.cache.get(url);
    if (cached) return cached;
    const res = await this.fetchFn(url);
    if (!res.ok) throw httpError(url, res);
    const total = res.headers.get('Content-Length') === null || res.headers.get('Content-Encoding') ? null : Number(res.headers.get('Content-Length'));
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        this.onProgress({ file: url, loaded, total });
      }
    } else {
      const all = new Uint8Array(await res.arrayBuffer());
      chunks.push(all);
      loaded = all.length;
    }
    if (total !== null && loaded !== total) throw new Error(`${url}: the download stopped after ${loaded} of ${total} bytes`);
    const blob = new Blob(chunks as BlobPart[]);
    await this.cache.put(url, blob);
    return blob;
  }

  async open(path: string): Promise<RandomAccessFile> {
    const picked = this.picked.get(path);
    if (picked) return new BlobFile(path, picked);
    if (path.startsWith(PICKED)) throw new Error(`${path}: not among the picked files`);
    const cached = await this.cache.get(path);
    if (cached) return new BlobFile(path, cached);
    const size = await this.remoteSize(path);
    if (size >= this.wholeFileThreshold) return new BlobFile(path, await this.download(path));
    return new RangeFile(path, size, this.fetchFn);
  }

  async readBytes(path: string): Promise<Uint8Array> {
    const picked = this.picked.get(path);
    if (picked) return new Uint8Array(await picked.arrayBuffer());
    if (path.startsWith(PICKED)) throw new Error(`${path}: not among the picked files`);
    return new Uint8Array(await (await this.download(path)).arrayBuffer());
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(path));
  }

  async exists(path: string): Promise<boolean> {
    if (path.startsWith(PICKED)) return this.picked.has(path) || (await this.isDirectory(path));
    if (await this.cache.get(path)) return true;
    try {
      const res = await this.fetchFn(path, { method: 'HEAD' });
      return res.ok;
    } catch {
      return false;
    }
  }

  async isDirectory(path: string): Promise<boolean> {
    if (path.startsWith(PICKED)) {
      const prefix = `${path.replace(/\/+$/, '')}/`;
      for (const k of this.picked.keys()) if (k.startsWith(prefix)) return true;
      return false;
    }
    return true; // a URL folder cannot be asked; its files are
  }

  async list(dir: string): Promise<string[]> {
    if (dir.startsWith(PICKED)) {
      const prefix = `${dir.replace(/\/+$/, '')}/`;
      return [...this.picked.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).filter((n) => !n.includes('/'));
    }
    throw new Error(`${dir}: a web folder cannot be listed; name its files`);
  }

  async writeAtomic(path: string): Promise<void> {
    throw new Error(`${path}: the web viewer does not write files`);
  }

  async mkdirp(dir: string): Promise<void> {
    throw new Error(`${dir}: the web viewer does not write files`);
  }
}
