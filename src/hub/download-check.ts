/**
 * What a downloaded file must match before it may enter the cache, taken from what the Hub says about it:
 *
 * - `X-Linked-Etag` (LFS files, on the Hub's redirect to the CDN) is the sha256 of the content;
 * - `ETag` of a regular (non-LFS) file is its git blob id: sha1("blob <size>\0" + content);
 * - `X-Linked-Size` (LFS) or an un-encoded `Content-Length` is the size in bytes;
 * - `.json` files must parse to a JSON object (an HTML error page or a truncated file does not).
 *
 * A file is committed only when at least one content check (hash, or size) passed and every applicable check
 * passed; otherwise the caller deletes it. Undici decodes `Content-Encoding: gzip` transparently, so the
 * received bytes are the decoded ones: sizes and hashes refer to them, and an undeclared size is capped so a
 * small compressed response cannot fill the disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';

/** The most bytes we accept for a `.json` file whose size nobody declared (the Hub stores files > 10 MB in LFS). */
export const MAX_UNDECLARED_JSON_BYTES = 64 * 2 ** 20;

export type ContentHash = { algorithm: 'sha256' | 'git-sha1'; hex: string };

export interface ExpectedContent {
  hash: ContentHash | null;
  /** Decoded size in bytes, when the Hub declared it. */
  size: number | null;
  /** Received bytes beyond this abort the download. */
  maxBytes: number;
  json: boolean;
}

/** `"abc"`, `W/"abc"` → `abc` (lower case). */
export function normalizeEtag(raw: string | null): string | null {
  if (raw === null) return null;
  const v = raw.trim().replace(/^W\//i, '').replace(/^"|"$/g, '').trim().toLowerCase();
  return v || null;
}

function hashFromEtag(etag: string | null): ContentHash | null {
  if (etag && /^[0-9a-f]{64}$/.test(etag)) return { algorithm: 'sha256', hex: etag };
  if (etag && /^[0-9a-f]{40}$/.test(etag)) return { algorithm: 'git-sha1', hex: etag };
  return null;
}

function sizeHeader(v: string | null): number | null {
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null;
}

/**
 * The expectation from the responses of one download: `hubHops` are the Hub's own responses (the first request
 * and any redirects on the Hub's origin), `final` is the response whose body we read (maybe on a CDN).
 */
export function expectedContent(path: string, hubHops: readonly Headers[], final: Response, redirected: boolean): ExpectedContent {
  const first = (name: string): string | null => {
    for (const h of hubHops) {
      const v = h.get(name);
      if (v !== null) return v;
    }
    return null;
  };
  // The CDN's own ETag is not a content hash we know; only the Hub's count (or the final one without redirects).
  const etag = normalizeEtag(first('x-linked-etag') ?? first('etag') ?? (redirected ? null : final.headers.get('etag')));
  const encoding = final.headers.get('content-encoding');
  const encoded = encoding !== null && encoding.trim().toLowerCase() !== 'identity';
  const size = sizeHeader(first('x-linked-size')) ?? (encoded ? null : sizeHeader(final.headers.get('content-length')));
  const json = path.toLowerCase().endsWith('.json');
  return { hash: hashFromEtag(etag), size, maxBytes: size ?? (json ? MAX_UNDECLARED_JSON_BYTES : Number.POSITIVE_INFINITY), json };
}

/** Incremental sha256 while bytes arrive (LFS files can be gigabytes: no second pass over them). */
export function streamingHash(expected: ExpectedContent): Hash | null {
  return expected.hash?.algorithm === 'sha256' ? createHash('sha256') : null;
}

async function gitBlobSha1(file: string, size: number): Promise<string> {
  const h = createHash('sha1');
  h.update(`blob ${size}\0`);
  const fh = await fsp.open(file, 'r');
  try {
    for await (const chunk of fh.createReadStream()) h.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => {});
  }
  return h.digest('hex');
}

/**
 * Checks the downloaded file `file` (`received` bytes; `sha256` the streamed digest when one was computed) and
 * returns null when it may be committed, else the reason it may not.
 */
export async function verifyDownload(file: string, received: number, expected: ExpectedContent, sha256: string | null): Promise<string | null> {
  let contentChecked = false;
  if (expected.size !== null) {
    if (received !== expected.size) return `got ${received} bytes, the Hub declared ${expected.size}`;
    contentChecked = true;
  }
  if (expected.hash) {
    const got = expected.hash.algorithm === 'sha256' ? sha256 : await gitBlobSha1(file, received);
    if (got !== expected.hash.hex) return `content ${expected.hash.algorithm} is ${got}, the Hub's ETag says ${expected.hash.hex}`;
    contentChecked = true;
  }
  if (expected.json) {
    const problem = await jsonProblem(file);
    if (problem) return problem;
    contentChecked = true; // a truncated JSON object does not parse
  }
  if (!contentChecked) return 'the server sent neither a size nor a content hash to check the file against';
  return null;
}

/** Why `file` is not a JSON object, or null when it is one. */
export async function jsonProblem(file: string): Promise<string | null> {
  let value: unknown;
  try {
    value = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    const head = (await fsp.readFile(file, 'utf8').catch(() => '')).slice(0, 40).replace(/\s+/g, ' ');
    return `it is not valid JSON (${(e as Error).message}; it starts with ${JSON.stringify(head)})`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'it is JSON but not a JSON object';
  return null;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes `<name>.<pid>-<n>.part` files beside `dest` whose writing process is gone (killed downloads); parts of
 * live processes (a concurrent download) are left alone.
 */
export async function removeStaleParts(dest: string): Promise<void> {
  const dir = nodePath.dirname(dest);
  const base = nodePath.basename(dest);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.`) || !n.endsWith('.part')) continue;
    const m = /^(\d+)-\d+\.part$/.exec(n.slice(base.length + 1));
    if (m && !processAlive(Number(m[1]))) await fsp.rm(nodePath.join(dir, n), { force: true });
  }
}
