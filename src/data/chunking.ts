/**
 * The reference's `tuned_lens.data.chunk_and_tokenize` (reference-spec §7.2), reproduced step for step:
 *
 * 1. Documents are processed in batches of 2048 (the reference's `datasets.map(batched=True, batch_size=2048)`).
 * 2. Each batch becomes one token stream `sep doc1 sep doc2 …`: the separator comes *before* every document,
 *    including the first.
 * 3. The stream is cut into `chunkSize`-token pieces.
 * 4. The last piece of every batch is dropped, whether or not it is short (reference: `v[:-1]`), so every chunk
 *    has exactly `chunkSize` tokens and there is no padding. This is why the chunk count depends on the batching
 *    (spec §13 item 15).
 * 5. `natsToBpb = (totalTokens / totalBytes) / ln 2`, where the tokens are counted before the drop and the bytes are
 *    the UTF-8 length of the joined text, separators included, summed over batches.
 *
 * How the separator is made depends on the tokenizer (`DocumentBoundary`):
 *
 * - `text` (the reference, for HF tokenizers): the batch is joined into one string with the separator text
 *   (`tokenizer.eos_token`, else `"<|endoftext|>"`) and that string is tokenized once. The tokenizer must turn the
 *   separator text into its special token, as HF tokenizers do for added tokens.
 * - `token` (llama2.c / SentencePiece models): these tokenizers cannot produce a special token from text ("<s>" would
 *   be encoded as the characters `<`, `s`, `>`), so each document is encoded on its own and the separator *id* is put
 *   before it; for the byte count the separator counts as the string `countAs`. This is what was done for the golden
 *   stories260K data (shared/golden/reference-lens/README.md): the stream is the concatenation of llama2.c
 *   `encode(doc, bos=1)` over the documents, i.e. the separator is **BOS (id 1), not EOS**, because stories260K was
 *   trained with BOS before every story and has never seen EOS as input; each separator counts as the 3 bytes of
 *   `"<s>"`, the way the reference counts its EOS string. It is the default for `Llama2cTokenizer`.
 *
 * Not reproduced: with a *fast* HF tokenizer whose post-processor adds BOS (Llama family), the reference's
 * `return_overflowing_tokens` puts a BOS at the start of every chunk. Here, with `text` boundaries, BOS (when the
 * tokenizer adds it, or `addBos` says so) is added once at the start of each batch's stream, which is what the
 * reference's slow-tokenizer path does. GPT-2/Pythia-style tokenizers add no BOS, so for them the output is the same.
 */
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { Llama2cTokenizer } from '../tokenizers/llama2c-tokenizer.js';
import type { Dataset } from './documents.js';

/** The reference's `datasets.map` batch size: the unit whose last partial chunk is dropped. */
export const REFERENCE_BATCH_DOCUMENTS = 2048;
/** The reference's separator when the tokenizer has no EOS token. */
export const FALLBACK_SEPARATOR = '<|endoftext|>';

export type DocumentBoundary =
  /** Join each batch's documents with `separator` (also in front) and tokenize the string once (the reference). */
  | { kind: 'text'; separator: string; addBos?: boolean }
  /** Encode each document alone and put token `id` in front; count it as the UTF-8 bytes of `countAs`. */
  | { kind: 'token'; id: number; countAs: string };

export interface ChunkOptions {
  /** Tokens per chunk: the reference uses `min(tokenizer.model_max_length, max_seq_len)`. */
  chunkSize: number;
  /** Default: `defaultBoundary(tokenizer)`. */
  boundary?: DocumentBoundary;
  /** Documents per batch; default 2048 (the reference). */
  batchDocuments?: number;
  /** The reference's `return_final_batch`: keep each batch's last chunk, which may then be short. Default false. */
  returnFinalBatch?: boolean;
  /** Fail unless at least this many chunks result (default 1; the reference fails on zero). */
  minChunks?: number;
}

export interface ChunkedData {
  /** Token-id chunks in document order, each `chunkSize` long (unless `returnFinalBatch`). */
  chunks: number[][];
  /** Nats-per-token to bits-per-byte ratio; null for pre-tokenized input, whose bytes are unknown. */
  natsToBpb: number | null;
  /** Tokens before the per-batch drop (for pre-tokenized input: the tokens of all chunks). */
  totalTokens: number;
  /** UTF-8 bytes of the joined text, separators included; 0 for pre-tokenized input. */
  totalBytes: number;
}

/**
 * The boundary the reference would use for this tokenizer, except for llama2.c tokenizers, which get the convention
 * of the golden stories260K data: BOS id before every document, counted as the 3 bytes of `"<s>"`.
 */
export function defaultBoundary(tokenizer: Tokenizer): DocumentBoundary {
  if (tokenizer instanceof Llama2cTokenizer) return { kind: 'token', id: tokenizer.bosId, countAs: '<s>' };
  const separator = tokenizer.eosId !== null ? tokenizer.idToPiece(tokenizer.eosId) : FALLBACK_SEPARATOR;
  return { kind: 'text', separator };
}

/** `(tokens / bytes) / ln 2`: multiply a loss in nats per token by this to get bits per byte. */
export function natsToBpb(totalTokens: number, totalBytes: number): number {
  if (!(totalBytes > 0)) throw new Error(`cannot compute nats-to-bits-per-byte: the text has ${totalBytes} bytes`);
  return totalTokens / totalBytes / Math.LN2;
}

const utf8 = new TextEncoder();
function utf8Length(s: string): number {
  // Counting without allocating the bytes would be faster, but this matches Python's len(s.encode()) exactly for
  // well-formed strings and is not the bottleneck next to tokenization.
  return utf8.encode(s).length;
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
}

/** Chunks and tokenizes documents exactly like the reference's `chunk_and_tokenize` (see the file comment). */
export function chunkAndTokenize(documents: readonly string[], tokenizer: Tokenizer, options: ChunkOptions): ChunkedData {
  const { chunkSize } = options;
  const batchDocs = options.batchDocuments ?? REFERENCE_BATCH_DOCUMENTS;
  const minChunks = options.minChunks ?? 1;
  checkPositiveInt('chunkSize', chunkSize);
  checkPositiveInt('batchDocuments', batchDocs);
  if (!Number.isInteger(minChunks) || minChunks < 0) throw new Error(`minChunks must be a non-negative integer, got ${minChunks}`);
  const boundary = options.boundary ?? defaultBoundary(tokenizer);
  if (boundary.kind === 'token' && (!Number.isInteger(boundary.id) || boundary.id < 0 || boundary.id >= tokenizer.vocabSize)) {
    throw new Error(`separator token id ${boundary.id} is out of range (vocab size ${tokenizer.vocabSize})`);
  }

  const chunks: number[][] = [];
  let totalTokens = 0;
  let totalBytes = 0;
  for (let b = 0; b < documents.length; b += batchDocs) {
    const batch = documents.slice(b, b + batchDocs);
    const { ids, bytes } = tokenizeBatch(batch, tokenizer, boundary);
    totalTokens += ids.length;
    totalBytes += bytes;
    const pieces = Math.ceil(ids.length / chunkSize);
    // The reference drops the last piece of every batch, full or not.
    const keep = options.returnFinalBatch ? pieces : pieces - 1;
    for (let i = 0; i < keep; i++) chunks.push(ids.slice(i * chunkSize, (i + 1) * chunkSize));
  }

  // The reference raises when any one batch yields no chunk. Here only the total counts: a small final batch of
  // documents simply contributes no chunk (but its tokens and bytes still count towards the ratio).
  if (chunks.length === 0 || chunks.length < minChunks) {
    const need = Math.max(1, minChunks);
    const dropRule = options.returnFinalBatch ? '' : `, after dropping the last (partial) chunk of each ${batchDocs}-document batch`;
    const tokensNeeded = options.returnFinalBatch ? (need - 1) * chunkSize + 1 : need * chunkSize + 1;
    throw new Error(
      `Not enough data: ${documents.length} documents give ${totalTokens} tokens, i.e. ${chunks.length} chunks of ${chunkSize} tokens${dropRule}; ` +
        `${need} chunk${need === 1 ? ' is' : 's are'} needed (at least ${tokensNeeded} tokens when the documents form one batch). ` +
        `Supply more text or use a smaller chunk size.`,
    );
  }
  return { chunks, natsToBpb: natsToBpb(totalTokens, totalBytes), totalTokens, totalBytes };
}

/** One batch's token stream and the UTF-8 length of its joined text. */
function tokenizeBatch(batch: readonly string[], tokenizer: Tokenizer, boundary: DocumentBoundary): { ids: number[]; bytes: number } {
  if (boundary.kind === 'text') {
    // Python: sep.join([""] + docs), i.e. a leading separator.
    const joined = boundary.separator + batch.join(boundary.separator);
    const ids = tokenizer.encode(joined, boundary.addBos === undefined ? undefined : { addBos: boundary.addBos });
    return { ids, bytes: utf8Length(joined) };
  }
  const sepBytes = utf8Length(boundary.countAs);
  const ids: number[] = [];
  let bytes = 0;
  for (const doc of batch) {
    // When the separator is BOS, call encode with BOS exactly as the golden data did (llama2.c `encode(doc, bos=1)`)
    // rather than assuming that prepending the id gives the same merges.
    const docIds = boundary.id === tokenizer.bosId ? tokenizer.encode(doc, { addBos: true }) : [boundary.id, ...tokenizer.encode(doc, { addBos: false })];
    // push(...x) can overflow the stack for very long documents; append in a loop.
    for (const id of docIds) ids.push(id);
    bytes += sepBytes + utf8Length(doc);
  }
  return { ids, bytes };
}

/**
 * Pre-tokenized chunks are used as given, in file order: no separators, no re-chunking, no bits-per-byte ratio.
 * `maxLength` (the model's context) rejects chunks that are too long; `minChunks` as for text.
 */
export function pretokenizedChunks(chunks: number[][], options: { minChunks?: number; maxLength?: number; source?: string } = {}): ChunkedData {
  const source = options.source ?? 'pre-tokenized data';
  const minChunks = options.minChunks ?? 1;
  if (chunks.length === 0 || chunks.length < minChunks) {
    throw new Error(`Not enough data: ${source} has ${chunks.length} chunks; ${Math.max(1, minChunks)} are needed.`);
  }
  let totalTokens = 0;
  chunks.forEach((c, i) => {
    if (options.maxLength !== undefined && c.length > options.maxLength) {
      throw new Error(`${source}: chunk ${i} has ${c.length} tokens, more than the maximum sequence length ${options.maxLength}`);
    }
    totalTokens += c.length;
  });
  return { chunks, natsToBpb: null, totalTokens, totalBytes: 0 };
}

/**
 * A `readDataset` result, ready for training or evaluation: text is chunked with `chunkAndTokenize`, pre-tokenized
 * chunks pass through `pretokenizedChunks` (with `chunkSize` as the maximum length).
 */
export function prepareChunks(dataset: Dataset, tokenizer: Tokenizer | null, options: ChunkOptions): ChunkedData {
  if (dataset.kind === 'tokens') {
    if (tokenizer !== null) {
      const v = tokenizer.vocabSize;
      dataset.chunks.forEach((c, i) => {
        const bad = c.findIndex((id) => id >= v);
        if (bad >= 0) throw new Error(`${dataset.path}: chunk ${i}: token id ${c[bad]} is out of range for vocabulary size ${v}`);
      });
    }
    return pretokenizedChunks(dataset.chunks, { minChunks: options.minChunks, maxLength: options.chunkSize, source: dataset.path });
  }
  if (tokenizer === null) throw new Error(`${dataset.path}: text data needs a tokenizer, and this model has none; supply pre-tokenized data`);
  try {
    return chunkAndTokenize(dataset.documents, tokenizer, options);
  } catch (e) {
    throw new Error(`${dataset.path}: ${(e as Error).message}`);
  }
}
