/**
 * Node glue for the interpretability score's word vectors: a word2vec / GloVe text file given by the
 * user, or the offline default built from text corpora with PPMI + SVD (src/weights/word-vectors.ts),
 * cached in the tuned-lens cache under a name derived from the corpus contents and the settings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
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

/** Every .txt file under `dir` (recursively), sorted. */
function textFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = nodePath.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...textFiles(p));
    else if (name.endsWith('.txt')) out.push(p);
  }
  return out;
}

/**
 * The default corpus folder: `$TUNED_LENS_CORPUS`, else the project checkout's English corpora when run from
 * it (`$TUNED_LENS_SHARED/corpora`, `../shared/corpora`). The package ships no corpus: elsewhere, pass
 * --corpus or --embeddings.
 */
export function defaultCorpus(env: Record<string, string | undefined> = process.env): string[] {
  const dir = nodePath.resolve(env.TUNED_LENS_CORPUS ?? nodePath.join(env.TUNED_LENS_SHARED ?? '../shared', 'corpora'));
  if (!existsSync(dir)) throw new Error(`no word vectors: give --embeddings FILE (word2vec/GloVe text) or --corpus FILE…, or set TUNED_LENS_CORPUS to a folder of .txt files (${dir} does not exist)`);
  const files = textFiles(dir);
  if (files.length === 0) throw new Error(`${dir}: no .txt files for the default word vectors`);
  return files;
}

export async function loadWordVectors(opts: { embeddings?: string; corpus?: string[]; onStatus?: (msg: string) => void }): Promise<{ vectors: WordVectors; source: WordVectorSource }> {
  if (opts.embeddings) {
    if (!existsSync(opts.embeddings)) throw new Error(`--embeddings ${opts.embeddings}: no such file`);
    return { vectors: parseWordVectors(readFileSync(opts.embeddings, 'utf8'), opts.embeddings), source: { kind: 'file', path: opts.embeddings } };
  }
  const corpus = opts.corpus?.length ? opts.corpus : defaultCorpus();
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
