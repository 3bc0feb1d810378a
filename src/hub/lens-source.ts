/**
 * Finds a tuned lens on disk: a local folder, or a pretrained lens from the Hugging Face Space
 * `AlignmentResearch/tuned-lens` (files `lens/<model id>/{config.json,params.pt}`), cached locally.
 * Mirrors the reference `load_lens_artifacts` (local folder first, env overrides for the repo, and a
 * list of available lenses when the wanted one does not exist).
 */
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import {
  HubError,
  findCachedFile,
  gatherFolder,
  downloadFile,
  listRepoFiles,
  type DownloadOptions,
  type Env,
  type HubOptions,
  type RepoType,
} from './hub-client.js';
import { bundledAssetsDir } from './model-source.js';

export const DEFAULT_LENS_REPO_ID = 'AlignmentResearch/tuned-lens';
export const DEFAULT_LENS_REPO_TYPE: RepoType = 'space';
/** Folder in the lens repo that holds one sub-folder per model id. */
export const LENS_SUBFOLDER = 'lens';
const LENS_FILES = ['config.json', 'params.pt'] as const;

/** `--lens default`: the tuned lens shipped in the package for the model (see assets/stories260K/tuned-lens/README.md). */
export const DEFAULT_LENS = 'default';
/** Model spec → the bundled lens folder under assets/. */
const BUNDLED_LENSES: Readonly<Record<string, string>> = { stories260K: 'stories260K/tuned-lens' };

/** The folder of the lens shipped for `modelName`; throws, naming the models that have one, when there is none. */
export function bundledLensDir(modelName: string): string {
  const rel = BUNDLED_LENSES[modelName];
  if (rel === undefined) {
    throw new Error(`--lens ${DEFAULT_LENS}: no tuned lens is shipped for "${modelName}" (only for ${Object.keys(BUNDLED_LENSES).join(', ')}); pass a lens folder or a pretrained id`);
  }
  return nodePath.join(bundledAssetsDir(), ...rel.split('/'));
}

/** The shipped lens for `modelName`, or null. */
export function bundledLensFor(modelName: string): string | null {
  return BUNDLED_LENSES[modelName] === undefined ? null : bundledLensDir(modelName);
}

export interface ResolveLensOptions extends HubOptions {
  /** Default `TUNED_LENS_REPO_ID`, else AlignmentResearch/tuned-lens. */
  repoId?: string;
  /** Default `TUNED_LENS_REPO_TYPE`, else space. */
  repoType?: RepoType;
  /** Default main. */
  revision?: string;
  onProgress?: DownloadOptions['onProgress'];
}

function envOf(opts: HubOptions): Env {
  return opts.env ?? globalThis.process?.env ?? {};
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** True when `dir` holds config.json and params.pt or params.safetensors. */
export async function isLensFolder(dir: string): Promise<boolean> {
  return (
    (await isFile(nodePath.join(dir, 'config.json'))) &&
    ((await isFile(nodePath.join(dir, 'params.pt'))) || (await isFile(nodePath.join(dir, 'params.safetensors'))))
  );
}

function lensRepo(opts: ResolveLensOptions): { repo: string; repoType: RepoType; revision: string } {
  const env = envOf(opts);
  const repoType = opts.repoType ?? env.TUNED_LENS_REPO_TYPE ?? DEFAULT_LENS_REPO_TYPE;
  if (repoType !== 'model' && repoType !== 'dataset' && repoType !== 'space') {
    throw new Error(`TUNED_LENS_REPO_TYPE must be model, dataset or space, not "${repoType}"`);
  }
  return { repo: opts.repoId ?? env.TUNED_LENS_REPO_ID ?? DEFAULT_LENS_REPO_ID, repoType, revision: opts.revision ?? 'main' };
}

/** Lens ids in a repo listing: the folders under `lens/` that hold both config.json and params.pt. */
export function lensIdsFromListing(files: readonly string[]): string[] {
  const byDir = new Map<string, Set<string>>();
  const prefix = `${LENS_SUBFOLDER}/`;
  for (const f of files) {
    if (!f.startsWith(prefix)) continue;
    const slash = f.lastIndexOf('/');
    const dir = f.slice(prefix.length, slash);
    if (!dir) continue;
    let set = byDir.get(dir);
    if (!set) byDir.set(dir, (set = new Set()));
    set.add(f.slice(slash + 1));
  }
  return [...byDir].filter(([, s]) => LENS_FILES.every((n) => s.has(n))).map(([d]) => d).sort();
}

/** The ids of the pretrained lenses available in the lens repo (needs the network). */
export async function listPretrainedLenses(opts: ResolveLensOptions = {}): Promise<string[]> {
  const { repo, repoType, revision } = lensRepo(opts);
  return lensIdsFromListing(await listRepoFiles(repo, { ...opts, repoType, revision }));
}

/** Lens ids are model ids (`gpt2`, `EleutherAI/pythia-70m-deduped`); refuse anything that could escape `lens/`. */
function isValidLensId(spec: string): boolean {
  const parts = spec.split('/');
  return parts.length >= 1 && parts.every((p) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== '.' && p !== '..');
}

/**
 * Returns a local folder holding the lens (`config.json` plus `params.pt` or `params.safetensors`).
 * `spec` is a local lens folder, or a model id whose pretrained lens is fetched from the lens repo.
 */
export async function resolveLens(spec: string, opts: ResolveLensOptions = {}): Promise<string> {
  if (await isLensFolder(spec)) return nodePath.resolve(spec);

  let localNote = '';
  try {
    if ((await fsp.stat(spec)).isDirectory()) {
      localNote = `The local folder ${nodePath.resolve(spec)} exists but lacks config.json and params.pt/params.safetensors, so "${spec}" was taken as a model id.\n`;
    }
  } catch {
    /* not a local path: the usual case of a model id */
  }
  if (!isValidLensId(spec)) {
    throw new Error(
      `${localNote}Cannot resolve lens "${spec}": it is not a folder with config.json and params.pt (or params.safetensors), ` +
        `and not a model id to look up in the pretrained lens repo.`,
    );
  }

  const { repo, repoType, revision } = lensRepo(opts);
  const hub: DownloadOptions = { ...opts, repoType, revision };
  const prefix = `${LENS_SUBFOLDER}/${spec}/`;

  // Cache first: both files present means no network at all.
  const cached = new Map<string, string>();
  for (const name of LENS_FILES) {
    const p = await findCachedFile(repo, prefix + name, hub);
    if (p) cached.set(name, p);
  }
  if (cached.size === LENS_FILES.length) return gatherFolder(repo, prefix, cached, hub);

  let current = '';
  try {
    const local = new Map<string, string>();
    // config.json first: it is small, so a missing lens is detected before a large params download.
    for (const name of LENS_FILES) {
      current = prefix + name;
      local.set(name, cached.get(name) ?? (await downloadFile(repo, current, hub)));
    }
    return await gatherFolder(repo, prefix, local, hub);
  } catch (e) {
    if (!(e instanceof HubError) || e.code !== 'not-found') {
      if (e instanceof HubError && localNote) throw new HubError(e.code, localNote + e.message, { cause: e });
      throw e;
    }
    let available: string;
    try {
      const ids = await listPretrainedLenses(opts);
      available = ids.length > 0 ? `Available lenses:\n${ids.map((id) => `  ${id}`).join('\n')}` : 'The repo lists no lenses.';
    } catch (listErr) {
      available = `(The list of available lenses could not be fetched: ${(listErr as Error).message})`;
    }
    throw new HubError(
      'not-found',
      `${localNote}No pretrained lens for "${spec}" in ${repoType} repo ${repo} at revision ${revision} ` +
        `(${current} does not exist).\n${available}\nPass a local lens folder (config.json + params.pt) to use a lens you trained yourself.`,
      { cause: e },
    );
  }
}
