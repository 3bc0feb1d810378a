/**
 * Hugging Face `config.json`. Typed loosely: each architecture has its own field names (`n_embd`, `hidden_size`,
 * `d_model`, ...), which the model builders interpret; here we guarantee it is a JSON object with a `model_type` and
 * that every size it declares, under any architecture's name for it, is a sane integer (see config-checks.ts).
 */
import type { FileSystem } from '../io/file-system.js';
import { checkSize, SIZE_LIMITS, type SizeKind } from './config-checks.js';

export interface HfConfig {
  model_type: string;
  [key: string]: unknown;
}

/** Reads and checks `<dir>/config.json`. Errors name the file. */
export async function readHfConfig(fs: FileSystem, dir: string): Promise<HfConfig> {
  const path = fs.join(dir, 'config.json');
  if (!(await fs.exists(path))) {
    throw new Error(`${path}: not found (a Hugging Face model folder needs a config.json)`);
  }
  return parseHfConfig(await fs.readText(path), path);
}

/** Parses config.json text; `path` is only used in error messages. */
export function parseHfConfig(text: string, path = 'config.json'): HfConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  const mt = (parsed as Record<string, unknown>).model_type;
  if (typeof mt !== 'string' || mt === '') {
    throw new Error(`${path}: has no "model_type" string, so the architecture cannot be determined`);
  }
  checkSizes(parsed as Record<string, unknown>, path);
  return parsed as HfConfig;
}

/** The size keys architectures read (each family has its own spelling), and what kind of size each is. */
const SIZE_KEYS: Readonly<Record<string, SizeKind>> = {
  n_layer: 'layers', num_hidden_layers: 'layers', num_layers: 'layers', n_layers: 'layers',
  n_head: 'heads', num_attention_heads: 'heads', num_heads: 'heads', n_heads: 'heads', num_key_value_heads: 'heads', n_kv_heads: 'heads',
  n_embd: 'width', n_embed: 'width', hidden_size: 'width', d_model: 'width', word_embed_proj_dim: 'width', head_dim: 'width', rotary_dim: 'width',
  n_inner: 'ffn', intermediate_size: 'ffn', ffn_dim: 'ffn',
  vocab_size: 'vocab',
  n_positions: 'positions', n_ctx: 'positions', max_position_embeddings: 'positions', seq_length: 'positions', window_size: 'positions', sliding_window: 'positions',
};
const WIDTH_KEYS = ['n_embd', 'hidden_size', 'n_embed', 'd_model'];
const HEAD_KEYS = ['n_head', 'num_attention_heads', 'num_heads', 'n_heads'];
const KV_HEAD_KEYS = ['num_key_value_heads', 'n_kv_heads'];

/**
 * Every size present must be an integer in range (null means "use the default", as in HF), and the head layout must
 * add up: without an explicit head_dim the hidden size splits evenly into heads, and query heads into kv groups.
 */
function checkSizes(cfg: Record<string, unknown>, path: string): void {
  for (const [key, kind] of Object.entries(SIZE_KEYS)) {
    if (cfg[key] !== undefined && cfg[key] !== null) checkSize(path, key, cfg[key], kind);
  }
  // GPT-Neo's [[pattern, repeat], ...] expands to one entry per layer: bound it like a layer count.
  const types = cfg.attention_types;
  if (types !== undefined && types !== null) {
    const bad = (): never => {
      throw new Error(`${path}: "attention_types" must be a list of [[layer kinds...], repeat count] pairs describing at most ${SIZE_LIMITS.layers} layers`);
    };
    if (!Array.isArray(types)) bad();
    let layers = 0;
    for (const entry of types as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || !Array.isArray(entry[0]) || !entry[0].every((k) => typeof k === 'string')) bad();
      const [pattern, repeat] = entry as [string[], unknown];
      layers += pattern.length * checkSize(path, 'attention_types repeat count', repeat, 'layers');
      if (layers > SIZE_LIMITS.layers) bad();
    }
  }
  const first = (keys: string[]): [string, number] | null => {
    const k = keys.find((key) => typeof cfg[key] === 'number');
    return k === undefined ? null : [k, cfg[k] as number];
  };
  const width = first(WIDTH_KEYS);
  const heads = first(HEAD_KEYS);
  const kvHeads = first(KV_HEAD_KEYS);
  if (width && heads && cfg.head_dim == null && width[1] % heads[1] !== 0) {
    throw new Error(`${path}: "${width[0]}" = ${width[1]} is not divisible by "${heads[0]}" = ${heads[1]} (and there is no "head_dim")`);
  }
  if (heads && kvHeads && heads[1] % kvHeads[1] !== 0) {
    throw new Error(`${path}: "${heads[0]}" = ${heads[1]} is not a multiple of "${kvHeads[0]}" = ${kvHeads[1]}`);
  }
}
