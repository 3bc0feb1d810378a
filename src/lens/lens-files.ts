/**
 * The reference's lens folder format (spec §4.1–4.2), as `TunedLens.save` writes it and
 * `TunedLens.from_model_and_pretrained` reads it:
 *
 *   <dir>/config.json         7 keys, written by Python's json.dump (no indentation, no trailing newline)
 *   <dir>/params.pt           torch.save(state_dict): "{i}.weight" [d, d] and "{i}.bias" [d] for i = 0..L-1
 *
 * We also write and prefer `params.safetensors` (same keys, float32): it needs no pickle parsing and can be read
 * lazily. `params.pt` is still written so that the reference Python package can load our lenses.
 *
 * The files of one folder always agree: `params.safetensors` is written last and its metadata records the sha256
 * of the `config.json` and `params.pt` written with it; the reader checks them, so a folder where an interrupted
 * write left new and old files side by side is refused instead of loaded half-new.
 */
import type { FileSystem } from '../io/file-system.js';
import { openSafetensors, serializeSafetensors } from '../formats/safetensors.js';
import { readTorchStateDict, serializeTorchStateDict } from '../formats/torch-pickle.js';
import type { HostTensor } from '../formats/weights.js';
import { SIZE_LIMITS } from '../formats/config-checks.js';

/** `config.json` of a tuned lens; field names are the JSON keys, in the order the reference writes them. */
export interface TunedLensConfig {
  /** The base model's `config.name_or_path` when the lens was created. */
  base_model_name_or_path: string;
  /** Hidden size of the base model. */
  d_model: number;
  /** Number of layers of the base model; equals the number of translators. */
  num_hidden_layers: number;
  /** Whether the translators have a bias (default true). */
  bias: boolean;
  base_model_revision: string | null;
  /** The reference's unembedding fingerprint (only ever used for a mismatch warning). */
  unembed_hash: string | null;
  /** Always "linear_tuned_lens" in the reference. */
  lens_type: string;
}

/** One layer's affine translator, in PyTorch `nn.Linear` convention: `y = x Wᵀ + b`, weight [out=d, in=d]. */
export interface Translator {
  weight: HostTensor;
  bias: HostTensor | null;
}

export interface LensFolder {
  config: TunedLensConfig;
  translators: Translator[];
  /** The parameter file that was read (params.safetensors or params.pt). */
  paramsPath: string;
}

export type WarnFn = (message: string) => void;

const CONFIG_FILE = 'config.json';
const SAFETENSORS_FILE = 'params.safetensors';
const TORCH_FILE = 'params.pt';
const LENS_TYPE = 'linear_tuned_lens';
/** `params.safetensors` metadata keys: the sha256 of the files written together with it. */
const CONFIG_SHA256 = 'config_sha256';
const TORCH_SHA256 = 'params_pt_sha256';

/** sha256 through WebCrypto (Node 20 and browsers alike; core code imports no node:crypto). */
async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : (bytes as Uint8Array<ArrayBuffer>);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Throws when `path` does not have the sha256 `params.safetensors` recorded for it. */
async function checkRecordedHash(fs: FileSystem, path: string, recorded: string | undefined, stPath: string): Promise<void> {
  if (recorded === undefined || !(await fs.exists(path))) return;
  const actual = await sha256Hex(await fs.readBytes(path));
  if (actual !== recorded) {
    throw new Error(
      `${path} is not the file written together with ${stPath} (sha256 ${actual.slice(0, 12)}…, recorded ${recorded.slice(0, 12)}…): ` +
        `the lens folder holds files from different writes, probably an interrupted one. Write the lens again, or delete the folder.`,
    );
  }
}

/** The dataclass fields of the reference `TunedLensConfig`, in declaration order (= json.dump order). */
const CONFIG_KEYS = [
  'base_model_name_or_path',
  'd_model',
  'num_hidden_layers',
  'bias',
  'base_model_revision',
  'unembed_hash',
  'lens_type',
] as const satisfies readonly (keyof TunedLensConfig)[];

const defaultWarn: WarnFn = (m) => console.warn(m);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Validates a parsed (or raw JSON text) `config.json`. Like the reference's `TunedLensConfig.from_dict`, unknown keys
 * are dropped with a warning `Ignoring config key '…'`, and `bias`, `base_model_revision`, `unembed_hash` and
 * `lens_type` take their dataclass defaults when absent. Missing or mistyped required keys are errors naming `path`.
 */
export function parseLensConfig(json: unknown, path: string, warn: WarnFn = defaultWarn): TunedLensConfig {
  let obj = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${path}: expected a JSON object, got ${typeName(obj)}`);
  const raw = obj as Record<string, unknown>;
  const known = new Set<string>(CONFIG_KEYS);
  for (const k of Object.keys(raw)) if (!known.has(k)) warn(`${path}: Ignoring config key '${k}'`);

  const bad = (key: string, want: string): never => {
    throw new Error(`${path}: config key '${key}' must be ${want}, got ${typeName(raw[key])}`);
  };
  const required = (key: string): unknown => {
    if (!(key in raw)) throw new Error(`${path}: missing required config key '${key}'`);
    return raw[key];
  };
  // Bounded like every model size, so that `num_hidden_layers: 1e9` fails here and not in an allocation.
  const size = (key: string, kind: 'layers' | 'width'): number => {
    const v = required(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) bad(key, 'a positive integer');
    if ((v as number) > SIZE_LIMITS[kind]) throw new Error(`${path}: config key '${key}' is ${v as number}, more than any model has (at most ${SIZE_LIMITS[kind]})`);
    return v as number;
  };
  const nullableString = (key: string): string | null => {
    const v = raw[key] ?? null; // absent → the dataclass default None
    if (v !== null && typeof v !== 'string') bad(key, 'a string or null');
    return v as string | null;
  };

  const name = required('base_model_name_or_path');
  if (typeof name !== 'string') bad('base_model_name_or_path', 'a string');
  const bias = raw.bias ?? true;
  if (typeof bias !== 'boolean') bad('bias', 'true or false');
  const lensType = raw.lens_type ?? LENS_TYPE;
  if (typeof lensType !== 'string') bad('lens_type', 'a string');
  // The reference has only one lens type; another value means a format this code cannot interpret.
  if (lensType !== LENS_TYPE) throw new Error(`${path}: unsupported lens_type '${String(lensType)}' (only '${LENS_TYPE}' is supported)`);
  return {
    base_model_name_or_path: name as string,
    d_model: size('d_model', 'width'),
    num_hidden_layers: size('num_hidden_layers', 'layers'),
    bias: bias as boolean,
    base_model_revision: nullableString('base_model_revision'),
    unembed_hash: nullableString('unembed_hash'),
    lens_type: lensType as string,
  };
}

/** A JSON string literal exactly as Python's json.dumps writes it (ensure_ascii: everything outside ' '..'~' escaped). */
function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0'); // UTF-16 units, like Python
    else out += ch;
  }
  return out + '"';
}

/** `config.json` text byte-identical to the reference's `json.dump(config.to_dict(), f)`. */
export function serializeLensConfig(config: TunedLensConfig): string {
  const value = (v: string | number | boolean | null): string => {
    if (v === null) return 'null';
    if (typeof v === 'string') return pythonJsonString(v);
    return String(v); // ints and booleans print the same in Python's json
  };
  return '{' + CONFIG_KEYS.map((k) => `${pythonJsonString(k)}: ${value(config[k])}`).join(', ') + '}';
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The parameter names a lens with this config must have, in the reference's state-dict order. */
export function lensParameterNames(config: Pick<TunedLensConfig, 'num_hidden_layers' | 'bias'>): string[] {
  const names: string[] = [];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    names.push(`${i}.weight`);
    if (config.bias) names.push(`${i}.bias`);
  }
  return names;
}

/** The translators as the reference's `layer_translators.state_dict()`: "0.weight", "0.bias", "1.weight", ... */
export function translatorsToStateDict(translators: readonly Translator[]): Record<string, HostTensor> {
  const sd: Record<string, HostTensor> = {};
  translators.forEach((t, i) => {
    sd[`${i}.weight`] = t.weight;
    if (t.bias) sd[`${i}.bias`] = t.bias;
  });
  return sd;
}

/**
 * Checks a parameter file's tensor names and shapes against the config (as `load_state_dict(strict=True)` does in
 * the reference: no missing and no unexpected keys), given names and a shape lookup. Errors name `paramsPath`.
 */
function checkParameters(config: TunedLensConfig, names: readonly string[], shapeOf: (name: string) => readonly number[], paramsPath: string): void {
  const expected = lensParameterNames(config);
  const present = new Set(names);
  const ctx = `config.json says num_hidden_layers: ${config.num_hidden_layers}, bias: ${config.bias}`;
  // A wrong file (say a legacy-format lens) can miss every name; list a few, not hundreds.
  const list = (ns: readonly string[]): string =>
    `tensor${ns.length > 1 ? 's' : ''} ${ns.slice(0, 6).map((n) => `'${n}'`).join(', ')}${ns.length > 6 ? `, ... (${ns.length} in all)` : ''}`;
  const missing = expected.filter((n) => !present.has(n));
  if (missing.length) throw new Error(`${paramsPath}: missing ${list(missing)} (${ctx})`);
  const want = new Set(expected);
  const extra = names.filter((n) => !want.has(n));
  if (extra.length) throw new Error(`${paramsPath}: unexpected ${list(extra)} (${ctx})`);
  const d = config.d_model;
  for (const n of expected) {
    const shape = shapeOf(n);
    const target = n.endsWith('.weight') ? [d, d] : [d];
    if (shape.length !== target.length || shape.some((s, i) => s !== target[i])) {
      throw new Error(`${paramsPath}: tensor '${n}' has shape ${fmtShape(shape)}, expected ${fmtShape(target)} (d_model: ${d} in config.json)`);
    }
  }
}

function toTranslators(config: TunedLensConfig, get: (name: string) => HostTensor): Translator[] {
  const out: Translator[] = [];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    out.push({ weight: get(`${i}.weight`), bias: config.bias ? get(`${i}.bias`) : null });
  }
  return out;
}

export interface ReadLensOptions {
  /** Receives warnings such as ignored config keys (default: console.warn). */
  warn?: WarnFn;
  /** Called with the parsed config before any parameter is read: throw to refuse a lens for another model early. */
  checkConfig?: (config: TunedLensConfig, configPath: string) => void;
}

/**
 * Reads a lens folder: `config.json` plus `params.safetensors` (preferred) or `params.pt` (the reference's file; f32,
 * f16 or bf16, widened exactly to float32). Validates the number, names and shapes of the tensors against the config.
 */
export async function readLensFolder(fs: FileSystem, dir: string, options: ReadLensOptions = {}): Promise<LensFolder> {
  if (!(await fs.isDirectory(dir))) throw new Error(`${dir}: lens folder not found (expected a directory with ${CONFIG_FILE} and ${TORCH_FILE} or ${SAFETENSORS_FILE})`);
  const configPath = fs.join(dir, CONFIG_FILE);
  if (!(await fs.exists(configPath))) throw new Error(`${configPath}: not found; a lens folder needs ${CONFIG_FILE}`);
  const configText = await fs.readText(configPath);
  const config = parseLensConfig(configText, configPath, options.warn);
  options.checkConfig?.(config, configPath);

  const stPath = fs.join(dir, SAFETENSORS_FILE);
  if (await fs.exists(stPath)) {
    const src = await openSafetensors(fs, stPath);
    try {
      await checkRecordedHash(fs, configPath, src.metadata[CONFIG_SHA256], stPath);
      await checkRecordedHash(fs, fs.join(dir, TORCH_FILE), src.metadata[TORCH_SHA256], stPath);
      checkParameters(config, src.names(), (n) => src.shape(n), stPath);
      const tensors = new Map<string, HostTensor>();
      for (const n of lensParameterNames(config)) tensors.set(n, await src.readFloat32(n));
      return { config, translators: toTranslators(config, (n) => tensors.get(n)!), paramsPath: stPath };
    } finally {
      await src.close();
    }
  }

  const ptPath = fs.join(dir, TORCH_FILE);
  if (await fs.exists(ptPath)) {
    // Names and shapes are checked before any data is read, so a params.pt cannot make us inflate more than the lens needs.
    const sd = await readTorchStateDict(fs, ptPath, {
      checkDeclared: (ts) => {
        const shapes = new Map(ts.map((t) => [t.key, t.shape]));
        checkParameters(config, [...shapes.keys()], (n) => shapes.get(n)!, ptPath);
      },
    });
    return { config, translators: toTranslators(config, (n) => sd[n]!), paramsPath: ptPath };
  }
  throw new Error(`${dir}: lens folder has neither ${SAFETENSORS_FILE} nor ${TORCH_FILE}`);
}

/**
 * Writes a lens folder readable both by `readLensFolder` and by the reference Python package: `params.safetensors`,
 * `params.pt` (byte-identical to what torch 1.13's `torch.save` writes for the same float32 tensors) and
 * `config.json` (byte-identical to the reference's json.dump). Each file is written atomically, in the order
 * params.pt, config.json, params.safetensors (which records the sha256 of the other two, see the file comment);
 * temporary files that killed writes left in the folder are removed.
 */
export async function writeLensFolder(fs: FileSystem, dir: string, config: TunedLensConfig, translators: readonly Translator[]): Promise<void> {
  // Round-trip the config through the parser so that nothing invalid is ever written.
  const cfg = parseLensConfig({ ...config }, `${fs.join(dir, CONFIG_FILE)} (to be written)`, () => {});
  if (translators.length !== cfg.num_hidden_layers) {
    throw new Error(`writeLensFolder(${dir}): ${translators.length} translators, but num_hidden_layers is ${cfg.num_hidden_layers}`);
  }
  translators.forEach((t, i) => {
    if ((t.bias !== null) !== cfg.bias) {
      throw new Error(`writeLensFolder(${dir}): translator ${i} ${t.bias ? 'has' : 'lacks'} a bias, but the config says bias: ${cfg.bias}`);
    }
  });
  const sd = translatorsToStateDict(translators);
  checkParameters(cfg, Object.keys(sd), (n) => sd[n]!.shape, `writeLensFolder(${dir})`);
  for (const [n, t] of Object.entries(sd)) {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`writeLensFolder(${dir}): tensor '${n}' has ${t.data.length} values for shape ${fmtShape(t.shape)}`);
  }

  await fs.mkdirp(dir);
  const torchBytes = serializeTorchStateDict(sd, 'params');
  const configText = serializeLensConfig(cfg);
  await fs.writeAtomic(fs.join(dir, TORCH_FILE), torchBytes);
  await fs.writeAtomic(fs.join(dir, CONFIG_FILE), configText);
  const recorded = { [CONFIG_SHA256]: await sha256Hex(configText), [TORCH_SHA256]: await sha256Hex(torchBytes) };
  await fs.writeAtomic(fs.join(dir, SAFETENSORS_FILE), serializeSafetensors(sd, recorded));
  await removeStaleTemporaries(fs, dir);
}

/** Deletes `<lens file>.tmp-…` files (what `writeAtomic` leaves behind when the process is killed mid-write). */
async function removeStaleTemporaries(fs: FileSystem, dir: string): Promise<void> {
  if (!fs.remove) return;
  const prefixes = [CONFIG_FILE, TORCH_FILE, SAFETENSORS_FILE].map((f) => `${f}.tmp-`);
  for (const name of await fs.list(dir)) {
    if (prefixes.some((p) => name.startsWith(p))) await fs.remove(fs.join(dir, name));
  }
}
