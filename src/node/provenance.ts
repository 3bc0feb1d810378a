/**
 * Provenance and safe JSON for result files: every analysis command (causal, applications, weights, …)
 * writes its results through `writeResultJson`, so each file says which package version, which model,
 * lens and data (sha256), which seed and settings produced it, and never contains NaN.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { nodeFileSystem } from './file-system.js';
import { resolveModel } from '../hub/model-source.js';

let cachedVersion: string | undefined;

/** The version in this package's package.json (found from src/node and dist/src/node alike). */
export function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tuned-lens' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // try the next location
    }
  }
  return (cachedVersion = 'unknown');
}

/** sha256 of a file, streamed (a multi-GB checkpoint is never held in memory). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha256 of a file, or of a folder's regular files (not recursive; hidden and temporary files skipped):
 * the hash of the sorted lines "name sha256\n", so renaming or changing any file changes it.
 */
export async function sha256Path(path: string): Promise<string> {
  const st = await stat(path);
  if (st.isFile()) return sha256File(path);
  if (!st.isDirectory()) throw new Error(`${path}: neither a file nor a folder, cannot hash it`);
  const names = (await readdir(path)).filter((n) => !n.startsWith('.') && !n.includes('.tmp') && !n.endsWith('.part')).sort();
  const lines: string[] = [];
  for (const name of names) {
    const p = nodePath.join(path, name);
    if ((await stat(p)).isFile()) lines.push(`${name} ${await sha256File(p)}\n`);
  }
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/** sha256 of what a model spec resolves to: the llama2.c checkpoint + tokenizer, or the HF folder's files. */
export async function sha256Model(spec: string): Promise<string> {
  const source = await resolveModel(spec);
  if (source.kind === 'hf-folder') return sha256Path(source.dir);
  const lines = `${nodePath.basename(source.checkpoint)} ${await sha256File(source.checkpoint)}\n${nodePath.basename(source.tokenizer)} ${await sha256File(source.tokenizer)}\n`;
  return createHash('sha256').update(lines).digest('hex');
}

export interface ProvenanceInput {
  /** What produced the file, e.g. "causal-basis". */
  command: string;
  /** Version of this result file's layout; bump when fields change meaning. */
  schemaVersion: number;
  /** Model spec as given (stories260K, a folder, a Hub id). */
  model?: string;
  /** Lens folder or id; `null` for the logit lens. */
  lens?: string | null;
  /** Data files (path → hashed). */
  data?: string[];
  seed?: number | null;
  settings?: Record<string, unknown>;
}

export interface Provenance {
  tool: 'tuned-lens';
  version: string;
  command: string;
  schema_version: number;
  created: string;
  model: { spec: string; sha256: string | null } | null;
  lens: { spec: string; sha256: string | null } | null;
  data: { path: string; sha256: string }[];
  seed: number | null;
  settings: Record<string, unknown>;
}

async function hashOrNull(fn: () => Promise<string>): Promise<string | null> {
  try {
    return await fn();
  } catch {
    return null; // e.g. a Hub lens id that is not a local path: the spec still identifies it
  }
}

export async function provenance(input: ProvenanceInput): Promise<Provenance> {
  const data = [];
  for (const p of input.data ?? []) data.push({ path: p, sha256: await sha256Path(p) });
  return {
    tool: 'tuned-lens',
    version: packageVersion(),
    command: input.command,
    schema_version: input.schemaVersion,
    created: new Date().toISOString(),
    model: input.model === undefined ? null : { spec: input.model, sha256: await hashOrNull(() => sha256Model(input.model!)) },
    lens: input.lens == null ? null : { spec: input.lens, sha256: await hashOrNull(() => sha256Path(input.lens!)) },
    data,
    seed: input.seed ?? null,
    settings: input.settings ?? {},
  };
}

/** A copy of `value` that JSON can carry faithfully: NaN and ±Infinity become null, typed arrays plain arrays. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>, (v) => jsonSafe(v));
  if (Array.isArray(value)) return value.map(jsonSafe);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonSafe(v);
  return out;
}

/** Writes `value` (made JSON-safe) atomically, pretty-printed, with a trailing newline. */
export async function writeResultJson(path: string, value: unknown): Promise<void> {
  await nodeFileSystem.writeAtomic(path, `${JSON.stringify(jsonSafe(value), null, 2)}\n`);
}
