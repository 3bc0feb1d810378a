/**
 * Reading a dataset file into documents (text to be chunked) or ready-made token chunks.
 *
 * Three formats:
 * - plain text (`.txt`): split into documents by a configurable rule (see `TextSplit`);
 * - JSON Lines with a text field (`.jsonl`, one object per line, field `text` by default), the format the reference's
 *   `--data.name file.jsonl` reads;
 * - pre-tokenized JSON Lines (`{"input_ids": [...]}` per line): every line is one finished chunk. They are used as
 *   they are, in file order: no separators, no re-chunking, and no bits-per-byte ratio (the bytes are unknown).
 *
 * All file access goes through `FileSystem`, so this works in a browser as well as in Node.
 */
import type { FileSystem } from '../io/file-system.js';

export type DatasetFormat = 'text' | 'jsonl' | 'tokens';

/**
 * How a plain-text file becomes documents.
 * - `stories`: the rule used for the golden stories260K data (see `splitStories`). On text with no story openings
 *   it degenerates to one document for the whole file.
 * - `whole`: the whole file is one document, unchanged.
 * - `paragraphs`: documents are separated by blank lines (lines that are empty or only spaces/tabs).
 * - `lines`: every non-blank line is a document.
 */
export type TextSplit = 'stories' | 'whole' | 'paragraphs' | 'lines';

/**
 * Paragraphs that open a new TinyStories story in the sample the golden data was made from. Anchored at the very
 * start of the paragraph (Python `re.match`), case-sensitive, exactly as used for the golden data.
 */
export const STORY_START = /^(Once upon a|Once,? there (was|were))/;

export interface ReadDatasetOptions {
  /** Force a format; `auto` (default) decides from the extension and the first non-blank line. */
  format?: DatasetFormat | 'auto';
  /** Plain text only; default `stories` (the golden-data rule). */
  textSplit?: TextSplit;
  /** `stories` split only: which paragraphs start a new document. Default `STORY_START`. */
  storyStart?: RegExp;
  /** JSON Lines only: the field holding the text. Default `text` (the reference's `--data.text_column`). */
  textField?: string;
  /** Pre-tokenized only: the field holding the ids. Default `input_ids`. */
  tokensField?: string;
  /** Pre-tokenized only: when given, every id must be < vocabSize. */
  vocabSize?: number;
}

export type Dataset =
  | { kind: 'text'; path: string; format: 'text' | 'jsonl'; documents: string[] }
  | { kind: 'tokens'; path: string; format: 'tokens'; chunks: number[][] };

/** Reads `path` and returns its documents (text formats) or chunks (pre-tokenized). */
export async function readDataset(fs: FileSystem, path: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  const text = await fs.readText(path);
  const format = !options.format || options.format === 'auto' ? detectFormat(path, text, options.tokensField) : options.format;
  switch (format) {
    case 'text':
      return { kind: 'text', path, format, documents: splitTextDocuments(text, options.textSplit ?? 'stories', options.storyStart) };
    case 'jsonl':
      return { kind: 'text', path, format, documents: parseJsonlDocuments(text, path, options.textField ?? 'text') };
    case 'tokens':
      return { kind: 'tokens', path, format, chunks: parsePretokenizedJsonl(text, path, { field: options.tokensField, vocabSize: options.vocabSize }) };
    default:
      throw new Error(`${path}: unknown dataset format ${JSON.stringify(format)} (expected text, jsonl or tokens)`);
  }
}

/**
 * Guesses the format. `.txt`/`.text`/`.md` are plain text whatever they contain. Otherwise the first non-blank line
 * decides: a JSON object with an array `input_ids` (or `tokensField`) means pre-tokenized, any other JSON object means
 * JSON Lines; if it is not a JSON object the file is JSON Lines when the extension says so (the parser will then report
 * the bad line) and plain text otherwise.
 */
export function detectFormat(path: string, text: string, tokensField = 'input_ids'): DatasetFormat {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  if (ext === 'txt' || ext === 'text' || ext === 'md') return 'text';
  const jsonExt = ext === 'jsonl' || ext === 'ndjson' || ext === 'json';
  const first = firstNonBlankLine(text);
  if (first !== null) {
    let value: unknown;
    try {
      value = JSON.parse(first);
    } catch {
      return jsonExt ? 'jsonl' : 'text';
    }
    if (isObject(value)) return Array.isArray(value[tokensField]) ? 'tokens' : 'jsonl';
  }
  return jsonExt ? 'jsonl' : 'text';
}

function firstNonBlankLine(text: string): string | null {
  // Only the start of the file is needed; avoid splitting a huge file into lines for this.
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    if (line !== '') return line;
    start = end + 1;
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------------------
// Plain text

/**
 * Python's `str.strip()` with no argument: it strips what `str.isspace()` accepts, which differs from JS `trim()`
 * (Python also strips U+001C..U+001F and U+0085, but not U+FEFF). The golden documents were `strip()`ped in Python,
 * so byte counts only match with the Python rule.
 */
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
export function pythonStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/**
 * Splits plain text into documents. Windows line endings are turned into `\n` first for every rule except `whole`,
 * so that the blank-line rules see blank lines. Empty documents are dropped (except with `whole`): on their own they
 * would only add a separator to the token stream.
 */
export function splitTextDocuments(text: string, split: TextSplit = 'stories', storyStart: RegExp = STORY_START): string[] {
  if (split === 'whole') return [text];
  const lf = text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
  let docs: string[];
  switch (split) {
    case 'stories':
      docs = splitStories(lf, storyStart);
      break;
    case 'paragraphs':
      docs = lf.split(/\n[ \t]*\n(?:[ \t]*\n)*/).map(pythonStrip);
      break;
    case 'lines':
      docs = lf.split('\n').map(pythonStrip);
      break;
    default:
      throw new Error(`unknown text split ${JSON.stringify(split)} (expected stories, whole, paragraphs or lines)`);
  }
  return docs.filter((d) => d !== '');
}

/**
 * The golden-data rule (shared/golden/reference-lens/README.md), for text files with no story separators:
 * split on `"\n\n"` into paragraphs; a paragraph matching `storyStart` starts a new document, any other paragraph is
 * appended to the current document with `"\n\n"` (the first paragraph always starts one); each document is then
 * `strip()`ped. On the TinyStories sample this gives the golden 179 documents.
 */
export function splitStories(text: string, storyStart: RegExp = STORY_START): string[] {
  // A sticky or global regex would carry lastIndex between test() calls; use a fresh non-global copy.
  const re = new RegExp(storyStart.source, storyStart.flags.replace(/[gy]/g, ''));
  const docs: string[] = [];
  for (const para of text.split('\n\n')) {
    if (docs.length === 0 || re.test(para)) docs.push(para);
    else docs[docs.length - 1] += '\n\n' + para;
  }
  return docs.map(pythonStrip);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Lines

/** Calls `fn` for every non-blank line with its 1-based line number (blank lines, e.g. a trailing one, are skipped). */
function forEachJsonLine(text: string, source: string, fn: (value: unknown, lineNo: number) => void): void {
  let start = 0;
  let lineNo = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${lineNo}: invalid JSON (${(e as Error).message}): ${preview(line)}`);
    }
    fn(value, lineNo);
  }
}

function preview(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * JSON Lines with one document per line in `field` (default `text`). Every non-blank line must be a JSON object whose
 * `field` is a string; empty strings are kept, as the reference keeps them.
 */
export function parseJsonlDocuments(text: string, source: string, field = 'text'): string[] {
  const docs: string[] = [];
  forEachJsonLine(text, source, (value, lineNo) => {
    if (!isObject(value)) throw new Error(`${source}:${lineNo}: expected a JSON object with a "${field}" field, got ${jsonType(value)}`);
    if (!(field in value)) {
      const keys = Object.keys(value);
      throw new Error(`${source}:${lineNo}: no "${field}" field (keys: ${keys.length ? keys.join(', ') : 'none'}); choose the field with the textField option (command line: --text-field NAME)`);
    }
    const v = value[field];
    if (typeof v !== 'string') throw new Error(`${source}:${lineNo}: field "${field}" is ${jsonType(v)}, expected a string`);
    docs.push(v);
  });
  if (docs.length === 0) throw new Error(`${source}: no documents (the file has no non-blank lines)`);
  return docs;
}

/**
 * Pre-tokenized JSON Lines: each non-blank line is `{"input_ids": [id, ...]}` (field name configurable) and is one
 * chunk. Ids must be non-negative integers, and below `vocabSize` when it is given; chunks must not be empty.
 */
export function parsePretokenizedJsonl(text: string, source: string, options: { field?: string; vocabSize?: number } = {}): number[][] {
  const field = options.field ?? 'input_ids';
  const vocab = options.vocabSize;
  const chunks: number[][] = [];
  forEachJsonLine(text, source, (value, lineNo) => {
    if (!isObject(value)) throw new Error(`${source}:${lineNo}: expected a JSON object with an "${field}" array, got ${jsonType(value)}`);
    const ids = value[field];
    if (!Array.isArray(ids)) {
      throw new Error(`${source}:${lineNo}: ` + (field in value ? `field "${field}" is ${jsonType(ids)}, expected an array of token ids` : `no "${field}" field (keys: ${Object.keys(value).join(', ') || 'none'})`));
    }
    if (ids.length === 0) throw new Error(`${source}:${lineNo}: "${field}" is empty`);
    for (let i = 0; i < ids.length; i++) {
      const id: unknown = ids[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new Error(`${source}:${lineNo}: ${field}[${i}] = ${JSON.stringify(id)} is not a non-negative integer token id`);
      }
      if (vocab !== undefined && id >= vocab) {
        throw new Error(`${source}:${lineNo}: ${field}[${i}] = ${id} is out of range for vocabulary size ${vocab}`);
      }
    }
    chunks.push(ids as number[]);
  });
  if (chunks.length === 0) throw new Error(`${source}: no chunks (the file has no non-blank lines)`);
  return chunks;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
