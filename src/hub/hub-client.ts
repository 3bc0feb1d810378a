/**
 * Hugging Face Hub file access for the Node side: download single files into a local cache, reuse files
 * that a user already has in their Hugging Face cache, and list a repo's files. Paths and settings are in
 * hub-locations.ts, error messages in hub-messages.ts, what a download must match in download-check.ts.
 *
 * Design notes:
 * - Cache first. A file that is already cached is returned without touching the network, so everything
 *   keeps working offline once downloaded (the lenses and models we fetch are immutable in practice).
 * - Never commit an unverified file: bytes go to a unique `.part` file that is renamed into place only after
 *   its content matched what the Hub declared (sha256 / git blob id from the ETags, size, JSON validity);
 *   on any failure the `.part` file is deleted, and `.part` files of killed processes are cleaned up.
 * - Redirects are followed by hand: the Hub states an LFS file's sha256 and size on its redirect to the CDN,
 *   and the token is sent to the Hub's own origin only.
 *
 * Why not `@huggingface/hub`: its `downloadFileToCacheDir` asks the API for path info on every call (no offline
 * use of a branch name), does not check the downloaded bytes against the oid it names the blob after, has no
 * progress callback and no `HF_HUB_OFFLINE`; the checks above are what this module exists for.
 */
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { expectedContent, jsonProblem, removeStaleParts, streamingHash, verifyDownload } from './download-check.js';
import { causeText, HubError } from './hub-errors.js';
import {
  cachePath,
  capitalize,
  checkFilePath,
  DEFAULT_IDLE_TIMEOUT_MS,
  describeRepo,
  fileUrl,
  findCachedFile,
  hfCacheHint,
  hubToken,
  isOffline,
  listingUrl,
  repoCacheDir,
  type DownloadOptions,
  type HubOptions,
  type RepoOptions,
} from './hub-locations.js';
import { describeWant, httpError, lookedIn, offlineError, unreachableError } from './hub-messages.js';

export { HubError, type HubErrorCode } from './hub-errors.js';
export {
  cachePath,
  defaultCacheDir,
  fileUrl,
  findCachedFile,
  hfHubCacheDir,
  hfSnapshotDir,
  hubEndpoint,
  isOffline,
  isValidRepoId,
  listingUrl,
  repoCacheDir,
  type DownloadOptions,
  type Env,
  type HubOptions,
  type ProgressCallback,
  type RepoOptions,
  type RepoType,
} from './hub-locations.js';

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
  redirect: RequestRedirect = 'follow',
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
    const res = await fetch(url, { headers, signal: ctrl.signal, redirect });
    return { res, touch, done };
  } catch (e) {
    done();
    throw e;
  }
}

let partCounter = 0;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

type IdleFetch = Awaited<ReturnType<typeof fetchWithIdleTimeout>>;

/**
 * GET `url`, following redirects by hand so that the Hub's own headers (`X-Linked-Etag`, `X-Linked-Size`,
 * `ETag`) are seen even when the body comes from a CDN. The token goes to the Hub's origin only.
 */
async function fetchThroughRedirects(url: string, headers: Record<string, string>, idle: number): Promise<IdleFetch & { hubHops: Headers[]; redirected: boolean }> {
  const hubOrigin = new URL(url).origin;
  const hubHops: Headers[] = [];
  let current = url;
  for (let hop = 0; ; hop++) {
    const sameOrigin = new URL(current).origin === hubOrigin;
    const { authorization: _drop, ...anonymous } = headers;
    const req = await fetchWithIdleTimeout(current, sameOrigin ? headers : anonymous, idle, 'manual');
    const location = req.res.headers.get('location');
    if (sameOrigin) hubHops.push(req.res.headers);
    if (!REDIRECT_STATUSES.has(req.res.status) || location === null) return { ...req, hubHops, redirected: hop > 0 };
    req.done();
    await req.res.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects, last to ${location}`);
    current = new URL(location, current).toString();
  }
}

/**
 * Returns a local path of `path` from `repo`: a cached copy (ours, then the Hugging Face cache) when one
 * exists, else a fresh download into our cache. Throws `HubError` with a self-explaining message.
 */
export async function downloadFile(repo: string, path: string, opts: DownloadOptions = {}): Promise<string> {
  const dest = cachePath(repo, path, opts);
  const cached = await findCachedFile(repo, path, opts);
  if (cached) {
    // A JSON file an older version committed without checks (an HTML error page, say) is dropped and fetched again.
    const problem = cached === dest && path.toLowerCase().endsWith('.json') ? await jsonProblem(cached) : null;
    if (!problem) return cached;
    process.stderr.write(`warning: removing the cached ${cached}: ${problem}\n`);
    await fsp.rm(cached, { force: true });
  }

  const what = describeWant(repo, path, opts);
  if (isOffline(opts)) throw offlineError(what, lookedIn(repo, path, opts));

  const url = fileUrl(repo, path, opts);
  const idle = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // identity encoding: Content-Length then counts the bytes we write (a server may still compress; see download-check).
  const headers = { ...authHeaders(opts), 'accept-encoding': 'identity' };

  let req: Awaited<ReturnType<typeof fetchThroughRedirects>>;
  try {
    req = await fetchThroughRedirects(url, headers, idle);
  } catch (e) {
    throw unreachableError(url, what, lookedIn(repo, path, opts), opts, e);
  }
  const { res, touch, done } = req;
  if (!res.ok || !res.body) {
    done();
    await res.body?.cancel().catch(() => {});
    throw httpError(res, url, what, `File "${path}"`, repo, opts);
  }

  const expected = expectedContent(path, req.hubHops, res, req.redirected);
  const total = expected.size ?? undefined;
  const hash = streamingHash(expected);
  await removeStaleParts(dest);
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
      opts.onProgress?.(0, total, fileName);
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        touch();
        received += value.byteLength;
        if (received > expected.maxBytes) {
          throw new HubError(
            'unverified',
            `Download of ${what} from ${url} was refused: the server sent more than ${expected.size !== null ? `the declared ${expected.size}` : `${expected.maxBytes}`} bytes` +
              `${res.headers.get('content-encoding') ? ` (Content-Encoding: ${res.headers.get('content-encoding')})` : ''}. Nothing was saved.`,
          );
        }
        hash?.update(value);
        await local(() => out.write(value));
        opts.onProgress?.(received, total, fileName);
      }
    } finally {
      await out.close();
    }
    if (expected.size !== null && received < expected.size) {
      throw new HubError(
        'incomplete',
        `Download of ${what} from ${url} is incomplete: got ${received} of ${expected.size} bytes. Nothing was saved; try again.`,
      );
    }
    const problem = await verifyDownload(part, received, expected, hash ? hash.digest('hex') : null);
    if (problem) {
      throw new HubError('unverified', `Download of ${what} from ${url} was refused: ${problem}. Nothing was saved; check HF_ENDPOINT or try again.`);
    }
    await local(() => fsp.rename(part, dest));
    if (total === undefined) opts.onProgress?.(received, received, fileName);
    return dest;
  } catch (e) {
    await reader.cancel().catch(() => {}); // release the connection if we stopped reading early
    await fsp.rm(part, { force: true });
    if (e instanceof HubError) throw e;
    if (localError === e) {
      throw new Error(`Could not save ${what} to ${dest}: ${causeText(e)}`, { cause: e });
    }
    const of = total !== undefined ? ` of ${total}` : '';
    throw new HubError(
      'incomplete',
      `Download of ${what} from ${url} was cut off after ${received}${of} bytes (${causeText(e)}). ` +
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
