/**
 * Turns what a user typed for "the model" into local files: a local folder or checkpoint, the `stories260K`
 * model shipped inside the package (`assets/stories260K`), or a Hugging Face Hub id that is downloaded (cache
 * first) on demand. Nothing here looks at the project's test data.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HubError,
  downloadFile,
  findCachedFile,
  gatherFolder,
  isValidRepoId,
  listRepoFiles,
  type DownloadOptions,
  type Env,
  type HubOptions,
} from './hub-client.js';

export type ModelSource =
  | { kind: 'hf-folder'; dir: string }
  | { kind: 'llama2c'; checkpoint: string; tokenizer: string };

export interface ResolveModelOptions extends HubOptions {
  /** llama2.c tokenizer file, when it is not next to the checkpoint under a usual name. */
  tokenizer?: string;
  /** Hub revision when the spec has no `@revision`. Default `main`. */
  revision?: string;
  onProgress?: DownloadOptions['onProgress'];
}

/** Where `stories260K` comes from when it is not on disk. */
export const STORIES260K_REPO = 'karpathy/tinyllamas';
export const STORIES260K_FILES = { checkpoint: 'stories260K/stories260K.bin', tokenizer: 'stories260K/tok512.bin' } as const;

const LLAMA2C_TOKENIZER_NAMES = ['tok512.bin', 'tokenizer.bin'];

function envOf(opts: HubOptions): Env {
  return opts.env ?? globalThis.process?.env ?? {};
}

async function statOrNull(p: string) {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await statOrNull(p))?.isFile() ?? false;
}

let cachedPackageRoot: string | undefined;

/**
 * The folder holding this package's package.json, found by walking up from this module, so it is the
 * same whether we run from src/ (tsx) or dist/src/ (compiled), and independent of the working directory.
 */
export function packageRoot(): string {
  if (cachedPackageRoot) return cachedPackageRoot;
  const here = fileURLToPath(import.meta.url);
  // Synchronous on purpose: runs once, and keeps the bundled-asset paths usable in synchronous code.
  for (let dir = nodePath.dirname(here); ; ) {
    if (existsSync(nodePath.join(dir, 'package.json'))) return (cachedPackageRoot = dir);
    const parent = nodePath.dirname(dir);
    if (parent === dir) throw new Error(`no package.json found in any folder above ${here}`);
    dir = parent;
  }
}

/** The package's bundled assets: the default model and its tuned lens (see assets/stories260K/README.md). */
export function bundledAssetsDir(): string {
  return nodePath.join(packageRoot(), 'assets');
}

/** The stories260K copy shipped with the package. */
export function bundledStories260KDir(): string {
  return nodePath.join(bundledAssetsDir(), 'stories260K');
}

/** A models folder the user chose with `$TUNED_LENS_MODELS` (then the bundled copy is not used), or null. */
export function userStories260KDir(env: Env = globalThis.process?.env ?? {}): string | null {
  return env.TUNED_LENS_MODELS ? nodePath.resolve(env.TUNED_LENS_MODELS, 'stories260K') : null;
}

/** Finds a llama2.c tokenizer next to `checkpoint`: usual names first, else the only `tok*.bin` there. */
async function findLlama2cTokenizer(dir: string, checkpoint: string | null): Promise<string | null> {
  for (const name of LLAMA2C_TOKENIZER_NAMES) {
    const p = nodePath.join(dir, name);
    if (p !== checkpoint && (await isFile(p))) return p;
  }
  const toks = (await fsp.readdir(dir)).filter((n) => /^tok.*\.bin$/i.test(n)).map((n) => nodePath.join(dir, n));
  return toks.length === 1 && toks[0] !== checkpoint ? toks[0]! : null;
}

async function explicitTokenizer(opts: ResolveModelOptions): Promise<string | undefined> {
  if (opts.tokenizer === undefined) return undefined;
  const p = nodePath.resolve(opts.tokenizer);
  if (!(await isFile(p))) throw new Error(`tokenizer file ${p} does not exist`);
  return p;
}

async function resolveLlama2cFile(file: string, opts: ResolveModelOptions): Promise<ModelSource> {
  const checkpoint = nodePath.resolve(file);
  const base = nodePath.basename(checkpoint);
  if (/^tok.*\.bin$/i.test(base) || base === 'tokenizer.bin') {
    throw new Error(
      `${checkpoint} is a llama2.c tokenizer file, not a model checkpoint: give the checkpoint (e.g. stories260K.bin) ` +
        `or the folder holding both as the model; the tokenizer beside it is found by itself.`,
    );
  }
  const tokenizer = (await explicitTokenizer(opts)) ?? (await findLlama2cTokenizer(nodePath.dirname(checkpoint), checkpoint));
  if (!tokenizer) {
    throw new Error(
      `llama2.c checkpoint ${checkpoint} has no tokenizer next to it (looked for ${LLAMA2C_TOKENIZER_NAMES.join(', ')} ` +
        `or a single tok*.bin in ${nodePath.dirname(checkpoint)}); copy the tokenizer into that folder under one of those names.`,
    );
  }
  return { kind: 'llama2c', checkpoint, tokenizer };
}

/** A local folder: HF layout (config.json + safetensors + tokenizer.json) or llama2.c (one *.bin + tok*.bin). */
async function resolveLocalFolder(dir: string, opts: ResolveModelOptions): Promise<ModelSource> {
  const abs = nodePath.resolve(dir);
  const names = await fsp.readdir(abs);
  const has = (n: string) => names.includes(n);
  const safetensors = names.filter((n) => n.endsWith('.safetensors') || n === 'model.safetensors.index.json');
  // A local folder without tokenizer.json still loads: token ids work, text input gets a clear error.
  if (has('config.json') && safetensors.length > 0) return { kind: 'hf-folder', dir: abs };

  const bins = names.filter((n) => n.endsWith('.bin'));
  const checkpoints = bins.filter((n) => !/^tok.*\.bin$/i.test(n) && n !== 'tokenizer.bin' && !n.startsWith('pytorch_model'));
  if (!has('config.json') && checkpoints.length === 1) {
    return resolveLlama2cFile(nodePath.join(abs, checkpoints[0]!), opts);
  }

  // Not usable: explain exactly why.
  if (has('config.json') && safetensors.length === 0 && bins.some((n) => n.startsWith('pytorch_model'))) {
    throw new Error(
      `${abs} holds a PyTorch checkpoint (pytorch_model*.bin) but no *.safetensors file. Only safetensors checkpoints are ` +
        `supported; convert it (e.g. with transformers: model.save_pretrained(dir, safe_serialization=True)).`,
    );
  }
  if (has('config.json')) {
    throw new Error(`${abs} looks like a Hugging Face model folder but lacks *.safetensors weights.`);
  }
  if (checkpoints.length > 1) {
    throw new Error(`${abs} holds several llama2.c checkpoints (${checkpoints.join(', ')}); pass the one you want as a file path.`);
  }
  throw new Error(
    `${abs} is neither a Hugging Face model folder (config.json + *.safetensors + tokenizer.json) ` +
      `nor a llama2.c folder (one checkpoint *.bin + tok*.bin tokenizer).`,
  );
}

async function resolveStories260K(opts: ResolveModelOptions): Promise<ModelSource> {
  const local = userStories260KDir(envOf(opts)) ?? bundledStories260KDir();
  const checkpoint = nodePath.join(local, 'stories260K.bin');
  const tokenizer = nodePath.join(local, 'tok512.bin');
  if ((await isFile(checkpoint)) && (await isFile(tokenizer))) return { kind: 'llama2c', checkpoint, tokenizer };
  // Not on disk: fetch it from karpathy's repo (cache first, like any Hub file).
  const hub: DownloadOptions = { ...opts, repoType: 'model', revision: 'main' };
  try {
    return {
      kind: 'llama2c',
      checkpoint: await downloadFile(STORIES260K_REPO, STORIES260K_FILES.checkpoint, hub),
      tokenizer: await downloadFile(STORIES260K_REPO, STORIES260K_FILES.tokenizer, hub),
    };
  } catch (e) {
    if (e instanceof HubError) {
      throw new HubError(e.code, `stories260K is not at ${local} (set TUNED_LENS_MODELS to a folder holding stories260K/), and fetching it failed:\n${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** Parses `org/name[@revision]`; returns null when it is not shaped like a Hub id. */
export function parseHubSpec(spec: string): { repo: string; revision?: string } | null {
  const at = spec.indexOf('@');
  const repo = at >= 0 ? spec.slice(0, at) : spec;
  const revision = at >= 0 ? spec.slice(at + 1) : undefined;
  if (!isValidRepoId(repo) || revision === '') return null;
  return revision === undefined ? { repo } : { repo, revision };
}

interface WeightIndex {
  weight_map?: Record<string, string>;
}

function shardsOf(indexText: string, where: string): string[] {
  let parsed: WeightIndex;
  try {
    parsed = JSON.parse(indexText) as WeightIndex;
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${(e as Error).message})`);
  }
  if (!parsed.weight_map || typeof parsed.weight_map !== 'object') throw new Error(`${where} has no "weight_map"`);
  const shards = [...new Set(Object.values(parsed.weight_map))].sort();
  for (const s of shards) {
    // Shards sit next to the index; anything else would be a path escape or a format we do not know.
    if (typeof s !== 'string' || !/^[A-Za-z0-9_.-]+\.safetensors$/.test(s)) throw new Error(`${where} lists an unexpected shard file "${String(s)}"`);
  }
  return shards;
}

/**
 * The complete set of model files from the caches alone (no network), or null when something is missing.
 * This is what makes a second resolve work offline: a Hub listing is only needed to fill gaps.
 */
async function cachedHubModel(repo: string, hub: DownloadOptions): Promise<Map<string, string> | null> {
  const files = new Map<string, string>();
  for (const name of ['config.json', 'tokenizer.json']) {
    const p = await findCachedFile(repo, name, hub);
    if (!p) return null;
    files.set(name, p);
  }
  const single = await findCachedFile(repo, 'model.safetensors', hub);
  if (single) {
    files.set('model.safetensors', single);
  } else {
    const index = await findCachedFile(repo, 'model.safetensors.index.json', hub);
    if (!index) return null;
    files.set('model.safetensors.index.json', index);
    for (const shard of shardsOf(await fsp.readFile(index, 'utf8'), index)) {
      const p = await findCachedFile(repo, shard, hub);
      if (!p) return null;
      files.set(shard, p);
    }
  }
  const tokCfg = await findCachedFile(repo, 'tokenizer_config.json', hub);
  if (tokCfg) files.set('tokenizer_config.json', tokCfg);
  return files;
}

async function resolveHubModel(repo: string, revision: string, opts: ResolveModelOptions): Promise<ModelSource> {
  const hub: DownloadOptions = { ...opts, repoType: 'model', revision };
  const cached = await cachedHubModel(repo, hub);
  if (cached) return { kind: 'hf-folder', dir: await gatherFolder(repo, '', cached, hub) };

  // The listing tells single file vs sharded vs PyTorch-only before we download anything large.
  const listing = new Set(await listRepoFiles(repo, hub));
  const where = `model repo ${repo} at revision ${revision}`;
  const Where = `Model repo ${repo} at revision ${revision}`; // for the start of a sentence
  if (!listing.has('config.json')) throw new HubError('not-found', `${Where} has no config.json, so it is not a transformers model.`);

  let weights: string[];
  if (listing.has('model.safetensors')) {
    weights = ['model.safetensors'];
  } else if (listing.has('model.safetensors.index.json')) {
    const indexPath = await downloadFile(repo, 'model.safetensors.index.json', hub);
    const shards = shardsOf(await fsp.readFile(indexPath, 'utf8'), `model.safetensors.index.json of ${where}`);
    const absent = shards.filter((s) => !listing.has(s));
    if (absent.length > 0) throw new HubError('not-found', `${Where}: model.safetensors.index.json lists shards that are not in the repo: ${absent.join(', ')}`);
    weights = ['model.safetensors.index.json', ...shards];
  } else if ([...listing].some((f) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(f))) {
    throw new HubError(
      'not-found',
      `${Where} only has a PyTorch checkpoint (pytorch_model*.bin). Only safetensors checkpoints are supported; ` +
        `use a revision or a fork of the model that has model.safetensors, or convert it locally and pass the folder.`,
    );
  } else {
    throw new HubError('not-found', `${Where} has neither model.safetensors nor model.safetensors.index.json.`);
  }
  if (!listing.has('tokenizer.json')) {
    throw new HubError('not-found', `${Where} has no tokenizer.json (the fast-tokenizer file, which is the one supported).`);
  }

  const names = ['config.json', 'tokenizer.json', ...(listing.has('tokenizer_config.json') ? ['tokenizer_config.json'] : []), ...weights];
  const local = new Map<string, string>();
  for (const name of names) local.set(name, await downloadFile(repo, name, hub));
  return { kind: 'hf-folder', dir: await gatherFolder(repo, '', local, hub) };
}

/**
 * Resolves a model spec, in this order:
 * 1. an existing local folder (Hugging Face layout, or a llama2.c checkpoint + tokenizer);
 * 2. an existing local `.bin` file (llama2.c; tokenizer next to it or `opts.tokenizer`);
 * 3. `stories260K`: `$TUNED_LENS_MODELS/stories260K` when that variable is set, else the copy in the package;
 *    the Hub when neither holds it;
 * 4. a Hub id `org/name[@revision]` (or `name`), downloaded into the cache.
 */
export async function resolveModel(spec: string, opts: ResolveModelOptions = {}): Promise<ModelSource> {
  const st = await statOrNull(spec);
  if (st?.isDirectory()) return resolveLocalFolder(spec, opts);
  if (st?.isFile()) {
    if (spec.toLowerCase().endsWith('.bin')) return resolveLlama2cFile(spec, opts);
    throw new Error(
      `${nodePath.resolve(spec)} is a file but not a llama2.c checkpoint (*.bin); for a Hugging Face model pass the folder holding config.json.`,
    );
  }
  if (spec === 'stories260K') return resolveStories260K(opts);

  const hubSpec = parseHubSpec(spec);
  if (!hubSpec) {
    throw new Error(
      `Cannot resolve model "${spec}": it is not an existing local folder or .bin file (relative to ${process.cwd()}), ` +
        `not "stories260K", and not a Hugging Face Hub id of the form org/name[@revision].`,
    );
  }
  try {
    return await resolveHubModel(hubSpec.repo, hubSpec.revision ?? opts.revision ?? 'main', opts);
  } catch (e) {
    if (e instanceof HubError) {
      // Say what else was tried, so a mistyped local path is recognisable as such.
      throw new HubError(e.code, `"${spec}" is not a local folder or file, so it was taken as a Hugging Face Hub model id.\n${e.message}`, { cause: e });
    }
    throw e;
  }
}
