/**
 * Where Hub files are (URLs on the endpoint) and where their local copies live (our cache, the Hugging Face
 * cache), with the settings that choose them (options, else environment variables). No network here.
 */
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { promises as fsp } from 'node:fs';
import { HubError } from './hub-errors.js';

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

const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export function envOf(opts: HubOptions): Env {
  return opts.env ?? globalThis.process?.env ?? {};
}

/** The Hub base URL without a trailing slash. */
export function hubEndpoint(opts: HubOptions = {}): string {
  const e = opts.endpoint ?? envOf(opts).HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  return (e.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export function hubToken(opts: HubOptions): string | undefined {
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

export function checkRepoId(repo: string): string[] {
  if (!isValidRepoId(repo)) {
    throw new HubError('invalid', `"${repo}" is not a valid Hugging Face repo id (expected "org/name" or "name")`);
  }
  return repo.split('/');
}

/** File paths inside a repo: '/'-separated, no empty, '.' or '..' segments. Other characters are allowed
 * (Hub file names can hold spaces etc.) but not path separators or NUL. */
export function checkFilePath(path: string): string[] {
  const parts = path.split('/');
  const ok = parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\\') && !p.includes('\0'));
  if (!ok) throw new HubError('invalid', `"${path}" is not a valid file path inside a repo`);
  return parts;
}

export function checkRevision(revision: string): void {
  // Revisions may hold '/' (e.g. "refs/pr/1"); we encode it for URLs and cache paths alike.
  if (!revision || revision.includes('\0') || revision.split('/').some((p) => p === '.' || p === '..' || p === '')) {
    throw new HubError('invalid', `"${revision}" is not a valid revision`);
  }
}

export function typePlural(repoType: RepoType): string {
  return `${repoType}s`;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function describeRepo(repo: string, repoType: RepoType): string {
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

export async function isFile(p: string): Promise<boolean> {
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
export async function cacheCandidates(repo: string, path: string, opts: RepoOptions): Promise<string[]> {
  const out = [cachePath(repo, path, opts)];
  const snap = await hfSnapshotDir(repo, opts);
  if (snap) out.push(nodePath.join(snap, ...checkFilePath(path)));
  return out;
}

export function hfCacheHint(repo: string, opts: RepoOptions): string {
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

