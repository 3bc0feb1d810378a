/**
 * Builds the word vectors shipped in the package (assets/word-vectors/ppmi-svd.txt.gz), the default of
 * `tuned-lens weights` for its interpretability score (App. E.3 used BPEmb, which cannot be downloaded here):
 * PPMI + truncated SVD over co-occurrence counts of the project's English corpora (TinyStories sample,
 * tinyshakespeare, Austen, Harvard sentences; src/weights/word-vectors.ts), 4 significant digits.
 *   node --import tsx scripts/build-word-vectors.ts [corpus folder]   (default: ../shared/corpora)
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildPpmiVectors } from '../src/weights/word-vectors.js';

function textFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = nodePath.join(dir, n);
    return statSync(p).isDirectory() ? textFiles(p) : n.endsWith('.txt') ? [p] : [];
  });
}

const dir = nodePath.resolve(process.argv[2] ?? nodePath.join(process.env.TUNED_LENS_SHARED ?? '../shared', 'corpora'));
const files = textFiles(dir);
const vectors = buildPpmiVectors(files.map((f) => readFileSync(f, 'utf8')));
const out = nodePath.resolve(import.meta.dirname, '..', 'assets', 'word-vectors', 'ppmi-svd.txt.gz');
writeFileSync(out, gzipSync(vectors.toText(4), { level: 9 }));
console.log(`${out}: ${vectors.size} words × ${vectors.dim} dims from ${files.length} files (${statSync(out).size} bytes)`);
