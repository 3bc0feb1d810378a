/**
 * Node glue for the interpretability score's word vectors: a word2vec / GloVe text file given by the
 * user, or the offline default built from text corpora with PPMI + SVD (src/weights/word-vectors.ts),
 * cached in the tuned-lens cache under a name derived from the corpus contents and the settings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packageRoot } from '../hub/model-source.js';
import { defaultCacheDir } from '../hub/hub-client.js';
import { buildPpmiVectors, parseWordVectors, PPMI_DEFAULTS, type PpmiOptions, type WordVectors } from '../weights/word-vectors.js';
import { nodeFileSystem } from './file-system.js';

export interface WordVectorSource {
  kind: 'file' | 'ppmi-svd';
  /** The embeddings file, or the cached build. */
  path: string;
  /** Corpus files of a PPMI build. */
  corpus?: string[];
  settings?: Required<PpmiOptions>;
}


/** The word vectors shipped in the package: PPMI + SVD over the project's English corpora (scripts/build-word-vectors.ts). */
export function bundledWordVectors(): string {
  return nodePath.join(packageRoot(), 'assets', 'word-vectors', 'ppmi-svd.txt.gz');
}

/** A word2vec/GloVe text file, gzipped or not. */
function readVectorsText(path: string): string {
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

export async function loadWordVectors(opts: { embeddings?: string; corpus?: string[]; onStatus?: (msg: string) => void }): Promise<{ vectors: WordVectors; source: WordVectorSource }> {
  if (opts.embeddings) {
    if (!existsSync(opts.embeddings)) throw new Error(`--embeddings ${opts.embeddings}: no such file`);
    return { vectors: parseWordVectors(readVectorsText(opts.embeddings), opts.embeddings), source: { kind: 'file', path: opts.embeddings } };
  }
  if (!opts.corpus?.length) {
    const path = bundledWordVectors();
    return { vectors: parseWordVectors(readVectorsText(path), path), source: { kind: 'file', path } };
  }
  const corpus = opts.corpus;
  for (const f of corpus) if (!existsSync(f)) throw new Error(`--corpus ${f}: no such file`);
  const texts = corpus.map((f) => readFileSync(f, 'utf8'));
  const settings = { ...PPMI_DEFAULTS };
  const hash = createHash('sha256').update(JSON.stringify(settings));
  for (const t of texts) hash.update(createHash('sha256').update(t).digest('hex'));
  const cached = nodePath.join(defaultCacheDir(), 'word-vectors', `ppmi-svd-${hash.digest('hex').slice(0, 16)}.txt`);
  if (existsSync(cached)) return { vectors: parseWordVectors(readFileSync(cached, 'utf8'), cached), source: { kind: 'ppmi-svd', path: cached, corpus, settings } };
  opts.onStatus?.(`building word vectors (PPMI + SVD) from ${corpus.length} corpus files; cached at ${cached}`);
  const text = buildPpmiVectors(texts, settings).toText();
  await nodeFileSystem.mkdirp(nodePath.dirname(cached));
  await nodeFileSystem.writeAtomic(cached, text);
  // Scores come from the rounded text in both the first and later runs, so they do not depend on the cache.
  return { vectors: parseWordVectors(text, cached), source: { kind: 'ppmi-svd', path: cached, corpus, settings } };
}
