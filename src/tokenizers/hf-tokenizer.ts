/**
 * Hugging Face fast-tokenizer files (`tokenizer.json`, plus `tokenizer_config.json` when present), through
 * `@huggingface/tokenizers` (pure JS, works in Node and browsers).
 *
 * Only BOS is managed here, since that is what a causal-LM lens needs: text is encoded without the tokenizer's own
 * special tokens and BOS is prepended when asked, or by default when the tokenizer itself would add it (Llama: yes;
 * GPT-2 / Pythia: no). Other post-processor additions (EOS, CLS/SEP) are deliberately left out.
 */
import { Tokenizer as HfJsTokenizerClass } from '@huggingface/tokenizers';
import type { FileSystem } from '../io/file-system.js';
import { describeValue, SIZE_LIMITS } from '../formats/config-checks.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * The part of the library's Tokenizer we use. Its bundled .d.ts files use extensionless relative imports, which
 * NodeNext resolution cannot follow, so TypeScript sees the class as `any`; this restores the types we rely on.
 */
interface HfJsTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[]; tokens: string[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
  get_added_tokens_decoder(): Map<number, { content: string; special: boolean }>;
}
const HfJsTokenizer = HfJsTokenizerClass as unknown as new (json: object, config: object) => HfJsTokenizer;

/** Used when tokenizer_config.json names no BOS/EOS: the conventional strings of common model families. */
const BOS_CANDIDATES = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '<|endoftext|>'];
const EOS_CANDIDATES = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];

/** tokenizer_config.json stores special tokens as a string or as a serialized AddedToken `{content, ...}`. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Whether `encode` prepends BOS when the caller does not say. */
  readonly addBosByDefault: boolean;
  private readonly tok: HfJsTokenizer;

  /**
   * @param tokenizerJson parsed tokenizer.json
   * @param tokenizerConfig parsed tokenizer_config.json, or {} when there is none
   * @param source a name for error messages (usually the folder)
   */
  constructor(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown> = {}, private readonly source = 'tokenizer.json') {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
      throw new Error(`${source}: tokenizer.json has no "model" object`);
    }
    checkTokenIds(tokenizerJson, source);
    // The library requires these keys to be present (null is fine); minimal hand-written files may omit them.
    const json: Record<string, unknown> = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...tokenizerJson };
    // It also expects special tokens in the config as plain strings.
    const config: Record<string, unknown> = { ...tokenizerConfig };
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
      if (k in config) config[k] = tokenString(config[k]) ?? null;
    }
    try {
      this.tok = new HfJsTokenizer(json, config);
    } catch (e) {
      throw new Error(`${source}: cannot build the tokenizer: ${(e as Error).message}`);
    }

    let maxId = -1;
    for (const id of this.tok.get_vocab(true).values()) if (id > maxId) maxId = id;
    // Ids index embedding rows, so the size is max id + 1 even if the vocabulary has holes.
    this.vocabSize = maxId + 1;

    const lookup = (s: string | undefined) => (s === undefined ? null : this.tok.token_to_id(s) ?? null);
    const specials = new Set([...this.tok.get_added_tokens_decoder().values()].filter((t) => t.special).map((t) => t.content));
    const fromCandidates = (cands: string[]) => {
      for (const c of cands) if (specials.has(c)) return lookup(c);
      return null;
    };
    this.bosId = 'bos_token' in config ? lookup(config.bos_token as string | undefined) : fromCandidates(BOS_CANDIDATES);
    this.eosId = 'eos_token' in config ? lookup(config.eos_token as string | undefined) : fromCandidates(EOS_CANDIDATES);

    if (typeof config.add_bos_token === 'boolean') {
      this.addBosByDefault = config.add_bos_token && this.bosId !== null;
    } else {
      // No explicit setting: do what the tokenizer's post-processor does.
      const withSpecial = this.tok.encode('a', { add_special_tokens: true }).ids;
      const without = this.tok.encode('a', { add_special_tokens: false }).ids;
      this.addBosByDefault = this.bosId !== null && withSpecial.length > without.length && withSpecial[0] === this.bosId;
    }
  }

  encode(text: string, options?: { addBos?: boolean }): number[] {
    const enc = this.tok.encode(text, { add_special_tokens: false });
    const bad = enc.ids.findIndex((id) => typeof id !== 'number');
    if (bad >= 0) {
      throw new Error(`${this.source}: cannot encode ${JSON.stringify(enc.tokens[bad])}: not in the vocabulary and the tokenizer has no unk token`);
    }
    const addBos = options?.addBos ?? this.addBosByDefault;
    if (addBos && this.bosId === null) throw new Error(`${this.source}: BOS requested but the tokenizer has no BOS token`);
    const ids = enc.ids as number[];
    return addBos ? [this.bosId!, ...ids] : ids;
  }

  /**
   * The library's decoding (byte-level, metaspace, byte fallback, ...) with special tokens skipped, so that, as with
   * llama2.c, BOS/EOS print nothing and Llama's leading-space strip applies to the first real token.
   */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // the library rejects empty input
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`${this.source}: token id ${id} is out of range (vocab size ${this.vocabSize})`);
      }
    }
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }

  idToPiece(id: number): string {
    const p = this.tok.id_to_token(id);
    if (p === undefined) throw new Error(`${this.source}: token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    return p;
  }
}

/**
 * Token ids must be small integers: the library sizes its id → token table by the largest id, so one id of 1e9 in a
 * corrupt or hostile file costs gigabytes and minutes. Real vocabularies are dense (ids 0..n-1, a few holes at most).
 */
function checkTokenIds(json: Record<string, unknown>, source: string): void {
  const ids: [string, unknown][] = [];
  const vocab = (json.model as Record<string, unknown>).vocab;
  if (isObject(vocab)) for (const [token, id] of Object.entries(vocab)) ids.push([token, id]);
  if (Array.isArray(json.added_tokens)) for (const t of json.added_tokens) if (isObject(t)) ids.push([String(t.content), t.id]);
  const limit = Math.min(SIZE_LIMITS.vocab, 2 * ids.length + 1024);
  for (const [token, id] of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new Error(`${source}: token ${JSON.stringify(token.slice(0, 40))} has id ${describeValue(id)}; ids must be integers from 0 to ${limit - 1} for a vocabulary of ${ids.length} entries`);
    }
  }
}

async function readJson(fs: FileSystem, path: string): Promise<unknown> {
  const text = await fs.readText(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Loads `<dir>/tokenizer.json` and, when present, `<dir>/tokenizer_config.json`. */
export async function loadHfTokenizer(fs: FileSystem, dir: string): Promise<HfTokenizer> {
  const tokPath = fs.join(dir, 'tokenizer.json');
  if (!(await fs.exists(tokPath))) {
    throw new Error(
      `${tokPath}: not found (only fast-tokenizer tokenizer.json files are supported, not vocab.json/merges.txt or tokenizer.model)`,
    );
  }
  const json = await readJson(fs, tokPath);
  const cfgPath = fs.join(dir, 'tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (await fs.exists(cfgPath)) {
    const c = await readJson(fs, cfgPath);
    if (!isObject(c)) throw new Error(`${cfgPath}: expected a JSON object`);
    config = c;
  }
  return new HfTokenizer(json, config, tokPath);
}
