/** Reading --data for train and eval: text, JSON Lines or pre-tokenized JSON Lines, chunked like the reference. */
import { nodeFileSystem } from '../node/file-system.js';
import { readDataset, type DatasetFormat } from '../data/documents.js';
import { prepareChunks, type ChunkedData } from '../data/chunking.js';
import type { LanguageModel } from '../models/language-model.js';
import { CliError } from './common.js';

export interface DataOptions {
  data: string;
  seqLen?: number;
  format?: DatasetFormat | 'auto';
  textField?: string;
}

/** Above this share of undecodable or control characters, a "text" file is binary data (or the wrong encoding). */
const MAX_NON_TEXT_SHARE = 0.01;

/**
 * Refuses data that is not text: random bytes decode to a stream of U+FFFD replacement and control characters,
 * which would tokenize into plausible-looking chunks and train or evaluate on noise without a word of complaint.
 */
export function checkLooksLikeText(documents: readonly string[], path: string): void {
  let total = 0;
  let bad = 0;
  for (const doc of documents) {
    total += doc.length;
    for (let i = 0; i < doc.length; i++) {
      const c = doc.charCodeAt(i);
      if (c === 0xfffd || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f) bad++;
    }
  }
  if (total > 0 && bad / total > MAX_NON_TEXT_SHARE) {
    throw new CliError(
      `${path}: does not look like text: ${((100 * bad) / total).toFixed(1)}% of its characters are invalid UTF-8 or control characters ` +
        '(a binary file, or text in another encoding: convert it to UTF-8)',
    );
  }
}

/** The reference's default sequence length: min(model context, 2048). */
export function defaultSeqLen(model: LanguageModel): number {
  return Math.min(model.config.maxPositions, 2048);
}

export async function loadChunks(model: LanguageModel, opts: DataOptions, minChunks: number): Promise<ChunkedData & { seqLen: number }> {
  if (!(await nodeFileSystem.exists(opts.data))) throw new CliError(`--data ${opts.data}: no such file`);
  const dataset = await readDataset(nodeFileSystem, opts.data, { format: opts.format ?? 'auto', textField: opts.textField, vocabSize: model.config.vocabSize });
  if (dataset.kind === 'text') checkLooksLikeText(dataset.documents, opts.data);
  if (dataset.kind === 'tokens') {
    // Pre-tokenized chunks are used as they are: their common length is the sequence length.
    const lengths = new Set(dataset.chunks.map((c) => c.length));
    if (lengths.size > 1) throw new CliError(`${opts.data}: pre-tokenized chunks must all have the same length, found ${[...lengths].slice(0, 5).join(', ')}`);
    const len = dataset.chunks[0]?.length ?? 0;
    if (opts.seqLen !== undefined && opts.seqLen !== len) throw new CliError(`${opts.data}: pre-tokenized chunks have ${len} tokens but --seq-len is ${opts.seqLen}`);
    return { ...prepareChunks(dataset, model.tokenizer, { chunkSize: model.config.maxPositions, minChunks }), seqLen: len };
  }
  const seqLen = opts.seqLen ?? defaultSeqLen(model);
  if (seqLen > model.config.maxPositions) throw new CliError(`--seq-len ${seqLen} exceeds the model's ${model.config.maxPositions} positions`);
  return { ...prepareChunks(dataset, model.tokenizer, { chunkSize: seqLen, minChunks }), seqLen };
}
