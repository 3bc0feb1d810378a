/**
 * Hugging Face Hub file access for the Node side: download single files into a local cache, reuse files
 * that a user already has in their Hugging Face cache, and list a repo's files.
 *
 * Design notes:
 * - Cache first. A file that is already cached is returned without touching the network, so everything
 *   keeps working offline once downloaded (the lenses and models we fetch are immutable in practice).
 * - Never leave a corrupt file in the cache: bytes go to a unique `.part` file that is renamed into
 *   place only after the byte count matched Content-Length; on any failure the `.part` file is deleted.
 * - Errors say what was wanted, where we looked and how to fix it, because the usual cause is a machine
 *   without internet access, and the user then needs to know where to put the files by hand.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';

export type RepoType = 'model' | 'dataset' | 'space';

/** Environment variables, injectable so that tests and embedders do not depend on `process.env`. */
export type Env = Record<string, string | undefined>;

/** `(bytesDone, bytesTotal, fileName)`; `bytesTotal` is undefined when the server sent no Content-Length.
 * The first call for a file has `bytesDone === 0`; the last one (only on success) has
 * `bytesDone === bytesTotal` (with `bytesTotal` set to the final count when it was unknown). */
export type ProgressCallback = (bytesDone: number, bytesTotal: number | undefined, fileName: string) => void;

/** Settings shared by every Hub call. Each defaults to the environment variable noted. */
export interface HubOptions {
  /** Where `HF_ENDPOINT`, `HF_TOKEN`, ... are read from. Default: `process.env`. */
  env?: Env;
  /** Hub base URL. Default: `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /** Bearer token. Default: `HF_TOKEN`. `null` sends none even if the variable is set. */
  token?: string | null;
  /** Our own cache. Default: `TUNED_LENS_CACHE`, else `$XDG_CACHE_HOME/tuned-lens`, else `~/.cache/tuned-lens`. */
  cacheDir?: string;
  /** An existing Hugging Face hub cache, read only. Default: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
   * `~/.cache/huggingface/hub`. `null` disables the lookup. */
  hfCacheDir?: string | null;
  /** Forbid network access. Default: `HF_HUB_OFFLINE` set to 1/true/yes/on. */
  offline?: boolean;
  /** Abort a request when no bytes arrive for this long. Default 60 s. */
  idleTimeoutMs?: number;
}

export interface RepoOptions extends HubOptions {
  repoType?: RepoType;
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
}

export interface DownloadOptions extends RepoOptions {
  onProgress?: ProgressCallback;
}

export type HubErrorCode = 'not-found' | 'unreachable' | 'offline' | 'incomplete' | 'access-denied' | 'http' | 'invalid';

/** Every failure of this module; `code` lets callers react (e.g. list available lenses on `not-found`). */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HubError';
  }
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

function envOf(opts: HubOptions): Env {
  return opts.env ?? globalThis.process?.env ?? {};
}

/** The Hub base URL without a trailing slash. */
export function hubEndpoint(opts: HubOptions = {}): string {
  const e = opts.endpoint ?? envOf(opts).HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  return (e.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

function hubToken(opts: HubOptions): string | undefined {
  if (opts.token === null) return undefined;
  const t = opts.token ?? envOf(opts).HF_TOKEN;
  return t && t.trim() ? t.trim() : undefined;
}

function homeDir(env: Env): string {
  return env.HOME || env.USERPROFILE || os.homedir();
}

/** Our cache root (see `HubOptions.cacheDir`). */
export function defaultCacheDir(opts: HubOptions = {}): string {
  if (opts.cacheDir) return nodePath.resolve(opts.cacheDir);
  const env = envOf(opts);
  if (env.TUNED_LENS_CACHE) return nodePath.resolve(env.TUNED_LENS_CACHE);
  if (env.XDG_CACHE_HOME) return nodePath.resolve(env.XDG_CACHE_HOME, 'tuned-lens');
  return nodePath.join(homeDir(env), '.cache', 'tuned-lens');
}

/** The Hugging Face hub cache we read from, or null when disabled (see `HubOptions.hfCacheDir`). */
export function hfHubCacheDir(opts: HubOptions = {}): string | null {
  if (opts.hfCacheDir === null) return null;
  if (opts.hfCacheDir !== undefined) return nodePath.resolve(opts.hfCacheDir);
  const env = envOf(opts);
  if (env.HF_HUB_CACHE) return nodePath.resolve(env.HF_HUB_CACHE);
  if (env.HF_HOME) return nodePath.resolve(env.HF_HOME, 'hub');
  return nodePath.join(homeDir(env), '.cache', 'huggingface', 'hub');
}

export function isOffline(opts: HubOptions = {}): boolean {
  if (opts.offline !== undefined) return opts.offline;
  const v = envOf(opts).HF_HUB_OFFLINE?.trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes' || v === 'on';
}

// Hub names: letters, digits, '-', '_', '.'; we additionally refuse '.' and '..' so that a repo id or
// file path can never climb out of the cache folder it is joined onto.
const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function isSafeSegment(s: string): boolean {
  return NAME_RE.test(s) && s !== '.' && s !== '..';
}

/** True for `name` or `org/name` with Hub-legal characters. */
export function isValidRepoId(repo: string): boolean {
  const parts = repo.split('/');
  return parts.length >= 1 && parts.length <= 2 && parts.every(isSafeSegment);
}

function checkRepoId(repo: string): string[] {
  if (!isValidRepoId(repo)) {
    throw new HubError('invalid', `"${repo}" is not a valid Hugging Face repo id (expected "org/name" or "name")`);
  }
  return repo.split('/');
}

/** File paths inside a repo: '/'-separated, no empty, '.' or '..' segments. Other characters are allowed
 * (Hub file names can hold spaces etc.) but not path separators or NUL. */
function checkFilePath(path: string): string[] {
  const parts = path.split('/');
  const ok = parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\\') && !p.includes('\0'));
  if (!ok) throw new HubError('invalid', `"${path}" is not a valid file path inside a repo`);
  return parts;
}

function checkRevision(revision: string): void {
  // Revisions may hold '/' (e.g. "refs/pr/1"); we encode it for URLs and cache paths alike.
  if (!revision || revision.includes('\0') || revision.split('/').some((p) => p === '.' || p === '..' || p === '')) {
    throw new HubError('invalid', `"${revision}" is not a valid revision`);
  }
}

function typePlural(repoType: RepoType): string {
  return `${repoType}s`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function describeRepo(repo: string, repoType: RepoType): string {
  return repoType === 'model' ? `model repo ${repo}` : `${repoType} repo ${repo}`;
}

/** `{endpoint}/[datasets/|spaces/]{repo}/resolve/{revision}/{path}` */
export function fileUrl(repo: string, path: string, opts: RepoOptions = {}): string {
  const repoType = opts.repoType ?? 'model';
  const revision = opts.revision ?? 'main';
  const prefix = repoType === 'model' ? '' : `${typePlural(repoType)}/`;
  const encPath = checkFilePath(path).map(encodeURIComponent).join('/');
  return `${hubEndpoint(opts)}/${prefix}${checkRepoId(repo).join('/')}/resolve/${encodeURIComponent(revision)}/${encPath}`;
}

/** `{endpoint}/api/{models|datasets|spaces}/{repo}/revision/{revision}` */
export function listingUrl(repo: string, opts: RepoOptions = {}): string {
  const repoType = opts.repoType ?? 'model';
  const revision = opts.revision ?? 'main';
  return `${hubEndpoint(opts)}/api/${typePlural(repoType)}/${checkRepoId(repo).join('/')}/revision/${encodeURIComponent(revision)}`;
}

/** Where `path` of `repo` lives (or will live) in our cache: `{cacheDir}/{repoType}s/{org}/{name}/{revision}/{path}`. */
export function cachePath(repo: string, path: string, opts: RepoOptions = {}): string {
  return nodePath.join(repoCacheDir(repo, opts), ...checkFilePath(path));
}

/** The folder holding every cached file of `repo` at `revision` in our cache. */
export function repoCacheDir(repo: string, opts: RepoOptions = {}): string {
  const repoType = opts.repoType ?? 'model';
  const revision = opts.revision ?? 'main';
  checkRevision(revision);
  // The revision is one folder level even when it contains '/' (encodeURIComponent maps '/' to %2F).
  return nodePath.join(defaultCacheDir(opts), typePlural(repoType), ...checkRepoId(repo), encodeURIComponent(revision));
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The snapshot folder of `repo@revision` in the Hugging Face cache, if the cache knows that revision. */
export async function hfSnapshotDir(repo: string, opts: RepoOptions = {}): Promise<string | null> {
  const root = hfHubCacheDir(opts);
  if (!root) return null;
  const repoType = opts.repoType ?? 'model';
  const revision = opts.revision ?? 'main';
  checkRevision(revision);
  const repoDir = nodePath.join(root, `${typePlural(repoType)}--${checkRepoId(repo).join('--')}`);
  let commit: string;
  if (/^[0-9a-f]{40}$/.test(revision)) {
    commit = revision; // already a commit hash: huggingface_hub stores it under snapshots/<hash>
  } else {
    try {
      commit = (await fsp.readFile(nodePath.join(repoDir, 'refs', ...revision.split('/')), 'utf8')).trim();
    } catch {
      return null;
    }
    if (!/^[0-9a-f]{40}$/.test(commit)) return null;
  }
  return nodePath.join(repoDir, 'snapshots', commit);
}

/** The paths a cached copy of the file was looked for at, in lookup order (for error messages). */
async function cacheCandidates(repo: string, path: string, opts: RepoOptions): Promise<string[]> {
  const out = [cachePath(repo, path, opts)];
  const snap = await hfSnapshotDir(repo, opts);
  if (snap) out.push(nodePath.join(snap, ...checkFilePath(path)));
  return out;
}

function hfCacheHint(repo: string, opts: RepoOptions): string {
  const root = hfHubCacheDir(opts);
  if (!root) return '';
  const repoType = opts.repoType ?? 'model';
  return nodePath.join(root, `${typePlural(repoType)}--${repo.split('/').join('--')}`, 'snapshots', '<commit>');
}

/** A cached copy of `path` (ours first, then the Hugging Face cache), or null. Never uses the network. */
export async function findCachedFile(repo: string, path: string, opts: RepoOptions = {}): Promise<string | null> {
  for (const p of await cacheCandidates(repo, path, opts)) {
    if (await isFile(p)) return p;
  }
  return null;
}

function describeWant(repo: string, path: string, opts: RepoOptions): string {
  return `"${path}" from ${describeRepo(repo, opts.repoType ?? 'model')} at revision ${opts.revision ?? 'main'}`;
}

function lookedIn(repo: string, path: string, opts: RepoOptions): string {
  const lines = [`  ${cachePath(repo, path, opts)}`];
  const hf = hfCacheHint(repo, opts);
  if (hf) lines.push(`  ${hf}/${path} (Hugging Face cache)`);
  return lines.join('\n');
}

function causeText(e: unknown): string {
  // undici wraps the real reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code;
      parts.push(typeof code === 'string' && !cur.message.includes(code) ? `${cur.message} (${code})` : cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}

function unreachableError(url: string, what: string, looked: string, opts: HubOptions, e: unknown): HubError {
  return new HubError(
    'unreachable',
    `Could not reach the Hugging Face Hub at ${hubEndpoint(opts)} (${causeText(e)}) while requesting ${url}.\n` +
      `Wanted: ${what}.\n` +
      `No cached copy was found at:\n${looked}\n` +
      `To fix this: copy the file to the first path above; or set HF_ENDPOINT to a reachable Hub mirror; ` +
      `or pass a local folder instead of a Hub id.`,
    { cause: e },
  );
}

function offlineError(what: string, looked: string): HubError {
  return new HubError(
    'offline',
    `HF_HUB_OFFLINE is set, so the network is not used, and ${what} is not cached.\n` +
      `Looked at:\n${looked}\n` +
      `To fix this: copy the file to the first path above, unset HF_HUB_OFFLINE, or pass a local folder instead of a Hub id.`,
  );
}

function authHeaders(opts: HubOptions): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'tuned-lens-ts' };
  const token = hubToken(opts);
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

/**
 * fetch with an idle timeout: aborts when no progress happens for `idleTimeoutMs`. The returned `touch`
 * resets the timer (call it per received chunk) and `done` clears it.
 */
async function fetchWithIdleTimeout(
  url: string,
  headers: Record<string, string>,
  idleTimeoutMs: number,
): Promise<{ res: Response; touch: () => void; done: () => void }> {
  const ctrl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(new Error(`no data received for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    timer.unref?.();
  };
  const done = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  touch();
  try {
    const res = await fetch(url, { headers, signal: ctrl.signal, redirect: 'follow' });
    return { res, touch, done };
  } catch (e) {
    done();
    throw e;
  }
}

/** `notFound` names the missing thing for the 404 message, e.g. `File "config.json"`. */
function httpError(res: Response, url: string, what: string, notFound: string, repo: string, opts: RepoOptions): HubError {
  const repoDesc = describeRepo(repo, opts.repoType ?? 'model');
  const revision = opts.revision ?? 'main';
  if (res.status === 404) {
    return new HubError('not-found', `${notFound} not found in ${repoDesc} at revision ${revision} (${url} returned 404).`);
  }
  if (res.status === 401 || res.status === 403) {
    // The Hub answers 401 both for private/gated repos and for repos that do not exist at all.
    return new HubError(
      'access-denied',
      `Access to ${repoDesc} was denied (HTTP ${res.status} for ${url}) while requesting ${what}. The repo may be ` +
        `private or gated, or may not exist. If you have access, set HF_TOKEN to a Hugging Face access token.`,
    );
  }
  return new HubError('http', `Request for ${what} failed: HTTP ${res.status} ${res.statusText} from ${url}.`);
}

let partCounter = 0;

/**
 * Returns a local path of `path` from `repo`: a cached copy (ours, then the Hugging Face cache) when one
 * exists, else a fresh download into our cache. Throws `HubError` with a self-explaining message.
 */
export async function downloadFile(repo: string, path: string, opts: DownloadOptions = {}): Promise<string> {
  const cached = await findCachedFile(repo, path, opts);
  if (cached) return cached;

  const what = describeWant(repo, path, opts);
  if (isOffline(opts)) throw offlineError(what, lookedIn(repo, path, opts));

  const url = fileUrl(repo, path, opts);
  const dest = cachePath(repo, path, opts);
  const idle = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // identity encoding: Content-Length then counts the bytes we write, so the completeness check holds.
  const headers = { ...authHeaders(opts), 'accept-encoding': 'identity' };

  let req: Awaited<ReturnType<typeof fetchWithIdleTimeout>>;
  try {
    req = await fetchWithIdleTimeout(url, headers, idle);
  } catch (e) {
    throw unreachableError(url, what, lookedIn(repo, path, opts), opts, e);
  }
  const { res, touch, done } = req;
  if (!res.ok || !res.body) {
    done();
    await res.body?.cancel().catch(() => {});
    throw httpError(res, url, what, `File "${path}"`, repo, opts);
  }

  const lenHeader = res.headers.get('content-length');
  const encoding = res.headers.get('content-encoding');
  const parsedLen = lenHeader !== null && /^\d+$/.test(lenHeader.trim()) ? Number(lenHeader) : undefined;
  // With a content encoding, Content-Length counts encoded bytes, not what we receive; do not check then.
  const expected = encoding && encoding !== 'identity' ? undefined : parsedLen;

  const part = `${dest}.${process.pid}-${partCounter++}.part`;
  const fileName = path;
  const reader = res.body.getReader();
  let received = 0;
  // Local write failures (permissions, disk full) are reported as such, not as a cut-off download.
  let localError: unknown = null;
  const local = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      localError = e;
      throw e;
    }
  };
  try {
    await local(() => fsp.mkdir(nodePath.dirname(dest), { recursive: true }));
    // Sequential awaited writes: simple back-pressure, and write errors surface right here.
    const out = await local(() => fsp.open(part, 'w'));
    try {
      opts.onProgress?.(0, expected, fileName);
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        touch();
        await local(() => out.write(value));
        received += value.byteLength;
        opts.onProgress?.(received, expected, fileName);
      }
    } finally {
      await out.close();
    }
    if (expected !== undefined && received !== expected) {
      throw new HubError(
        'incomplete',
        `Download of ${what} from ${url} is incomplete: got ${received} of ${expected} bytes. Nothing was saved; try again.`,
      );
    }
    await local(() => fsp.rename(part, dest));
    if (expected === undefined) opts.onProgress?.(received, received, fileName);
    return dest;
  } catch (e) {
    await reader.cancel().catch(() => {}); // release the connection if we stopped reading early
    await fsp.rm(part, { force: true });
    if (e instanceof HubError) throw e;
    if (localError === e) {
      throw new Error(`Could not save ${what} to ${dest}: ${causeText(e)}`, { cause: e });
    }
    const total = expected !== undefined ? ` of ${expected}` : '';
    throw new HubError(
      'incomplete',
      `Download of ${what} from ${url} was cut off after ${received}${total} bytes (${causeText(e)}). ` +
        `Nothing was saved; try again.`,
      { cause: e },
    );
  } finally {
    done();
  }
}

/**
 * Every file path in `repo` at `revision`, from the Hub's revision API (`siblings[].rfilename`).
 * Needs the network (there is no cached listing); callers should try the cache before calling this.
 */
export async function listRepoFiles(repo: string, opts: RepoOptions = {}): Promise<string[]> {
  const repoType = opts.repoType ?? 'model';
  const revision = opts.revision ?? 'main';
  const what = `the file list of ${describeRepo(repo, repoType)} at revision ${revision}`;
  const looked = `  ${repoCacheDir(repo, opts)}` + (hfCacheHint(repo, opts) ? `\n  ${hfCacheHint(repo, opts)} (Hugging Face cache)` : '');
  if (isOffline(opts)) throw offlineError(what, looked);

  const url = listingUrl(repo, opts);
  let req: Awaited<ReturnType<typeof fetchWithIdleTimeout>>;
  try {
    req = await fetchWithIdleTimeout(url, authHeaders(opts), opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  } catch (e) {
    throw unreachableError(url, what, looked, opts, e);
  }
  const { res, done } = req;
  try {
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new HubError('not-found', `${capitalize(describeRepo(repo, repoType))} not found at revision ${revision} (${url} returned 404).`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw httpError(res, url, what, describeRepo(repo, repoType), repo, opts);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      throw new HubError('http', `${url} did not return valid JSON (${causeText(e)})`, { cause: e });
    }
    const siblings = (body as { siblings?: unknown }).siblings;
    if (!Array.isArray(siblings)) throw new HubError('http', `${url} returned JSON without a "siblings" list`);
    return siblings
      .map((s) => (s as { rfilename?: unknown }).rfilename)
      .filter((f): f is string => typeof f === 'string');
  } finally {
    done();
  }
}

/**
 * Makes sure the files `prefix + rel` (for each `rel` in `rels`) of `repo` sit together in one local
 * folder and returns it, downloading what is missing. Files can come from two caches (ours and the
 * Hugging Face one); when they are split, the Hugging Face ones are linked (or copied where links are
 * not possible) into our cache folder, because loaders expect one folder holding every file.
 */
export async function downloadToFolder(
  repo: string,
  prefix: string,
  rels: readonly string[],
  opts: DownloadOptions = {},
): Promise<string> {
  const local = new Map<string, string>();
  for (const rel of rels) local.set(rel, await downloadFile(repo, prefix + rel, opts));
  return gatherFolder(repo, prefix, local, opts);
}

/** See `downloadToFolder`; `local` maps each relative name to where it already is on disk. */
export async function gatherFolder(repo: string, prefix: string, local: Map<string, string>, opts: RepoOptions = {}): Promise<string> {
  const bases = new Set<string>();
  for (const [rel, p] of local) {
    const relParts = checkFilePath(rel);
    // A file's base folder is its path with `rel` stripped; one common base means one folder already.
    let base = p;
    for (let i = 0; i < relParts.length; i++) base = nodePath.dirname(base);
    bases.add(base);
  }
  const trimmed = prefix.replace(/\/+$/, '');
  const ourDir = trimmed ? nodePath.join(repoCacheDir(repo, opts), ...checkFilePath(trimmed)) : repoCacheDir(repo, opts);
  if (bases.size === 1) return [...bases][0]!;
  for (const [rel, p] of local) {
    const target = nodePath.join(ourDir, ...rel.split('/'));
    if (nodePath.resolve(p) === nodePath.resolve(target)) continue;
    await fsp.mkdir(nodePath.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}-${partCounter++}.part`;
    try {
      try {
        await fsp.symlink(nodePath.resolve(p), tmp);
      } catch {
        await fsp.copyFile(p, tmp);
      }
      await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }
  return ourDir;
}
