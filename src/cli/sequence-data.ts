/**
 * `--data` for the causal commands: the formats train/eval read, but pre-tokenized lines may have
 * different lengths (each is one sequence, in file order, used as given, no BOS added), and `--tokens N`
 * keeps the first N tokens in file order, the last sequence cut short.
 */
import { nodeFileSystem } from '../node/file-system.js';
import { readDataset, type DatasetFormat } from '../data/documents.js';
import { prepareChunks } from '../data/chunking.js';
import type { LanguageModel } from '../models/language-model.js';
import { countTokens, firstTokens } from '../causal/sequences.js';
import { CliError } from './common.js';
import { defaultSeqLen } from './data-loading.js';

export interface SequenceDataOptions {
  data: string;
  seqLen?: number;
  tokens?: number;
  format?: DatasetFormat | 'auto';
  textField?: string;
}

export interface SequenceData {
  sequences: number[][];
  tokens: number;
  /** The sequence length used to chunk text; for pre-tokenized data the longest line. */
  seqLen: number;
  pretokenized: boolean;
}

export async function loadSequences(model: LanguageModel, opts: SequenceDataOptions): Promise<SequenceData> {
  if (!(await nodeFileSystem.exists(opts.data))) throw new CliError(`--data ${opts.data}: no such file`);
  const dataset = await readDataset(nodeFileSystem, opts.data, { format: opts.format ?? 'auto', textField: opts.textField, vocabSize: model.config.vocabSize });
  let sequences: number[][];
  let seqLen: number;
  if (dataset.kind === 'tokens') {
    const max = model.config.maxPositions;
    dataset.chunks.forEach((c, i) => {
      if (c.length > max) throw new CliError(`${opts.data}: line ${i + 1} has ${c.length} tokens, more than the model's ${max} positions`);
    });
    sequences = dataset.chunks.filter((c) => c.length > 0);
    seqLen = Math.max(0, ...sequences.map((s) => s.length));
  } else {
    seqLen = opts.seqLen ?? defaultSeqLen(model);
    if (seqLen > model.config.maxPositions) throw new CliError(`--seq-len ${seqLen} exceeds the model's ${model.config.maxPositions} positions`);
    try {
      sequences = prepareChunks(dataset, model.tokenizer, { chunkSize: seqLen, minChunks: 1 }).chunks;
    } catch (e) {
      throw new CliError(`${opts.data}: ${(e as Error).message}`);
    }
  }
  sequences = firstTokens(sequences, opts.tokens);
  const tokens = countTokens(sequences);
  if (tokens < 2) throw new CliError(`${opts.data}: need at least 2 tokens, found ${tokens}`);
  if (opts.tokens !== undefined && tokens < opts.tokens) process.stderr.write(`tuned-lens: note: --tokens ${opts.tokens} asked for more than the data holds; using all ${tokens} tokens\n`);
  return { sequences, tokens, seqLen, pretokenized: dataset.kind === 'tokens' };
}
