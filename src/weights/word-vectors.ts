/**
 * Word vectors for the interpretability score (App. E.3): read any word2vec / GloVe text file, or
 * build our offline default from plain text with PPMI + truncated SVD (Levy, Goldberg & Dagan 2015:
 * symmetric window, context-distribution smoothing α = 0.75, vectors U_k Σ_k^½). The paper used BPEmb,
 * which cannot be downloaded here; any embedding in the same text format plugs in with --embeddings.
 */
import { mat, symmetricEigen, thinQr, type Mat } from '../linalg/dense.js';
import { SeededRandom } from './random.js';

export class WordVectors {
  private readonly index = new Map<string, number>();

  /** `vectors` holds one unit-length row of `dim` floats per word (normalised here). */
  constructor(
    readonly words: readonly string[],
    readonly dim: number,
    readonly vectors: Float32Array,
  ) {
    if (vectors.length !== words.length * dim) throw new Error(`WordVectors: ${vectors.length} floats for ${words.length} words × ${dim}`);
    words.forEach((w, i) => {
      if (!this.index.has(w)) this.index.set(w, i);
      let s = 0;
      for (let j = 0; j < dim; j++) s += vectors[i * dim + j]! ** 2;
      const n = Math.sqrt(s);
      if (n > 0) for (let j = 0; j < dim; j++) vectors[i * dim + j]! /= n;
    });
  }

  get size(): number {
    return this.words.length;
  }

  /** The unit vector of `word`, or null when it has none (or it is all zeros). */
  get(word: string): Float32Array | null {
    const i = this.index.get(word);
    if (i === undefined) return null;
    const v = this.vectors.subarray(i * this.dim, (i + 1) * this.dim);
    return v.some((x) => x !== 0) ? v : null;
  }

  /** word2vec text format: a "count dim" header, then "word v1 … vdim" per line. */
  toText(digits = 5): string {
    const lines = [`${this.size} ${this.dim}`];
    this.words.forEach((w, i) => {
      const row = Array.from(this.vectors.subarray(i * this.dim, (i + 1) * this.dim), (x) => Number(x.toPrecision(digits)));
      lines.push(`${w} ${row.join(' ')}`);
    });
    return `${lines.join('\n')}\n`;
  }
}

/**
 * Parses word2vec text (with its "count dim" header) or GloVe text (no header). `source` names the
 * file in error messages.
 */
export function parseWordVectors(text: string, source: string): WordVectors {
  const lines = text.split('\n');
  let start = 0;
  const first = lines[0]?.trim().split(/\s+/) ?? [];
  if (first.length === 2 && /^\d+$/.test(first[0]!) && /^\d+$/.test(first[1]!)) start = 1;
  const words: string[] = [];
  const rows: number[] = [];
  let dim = -1;
  for (let li = start; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (!line) continue;
    const parts = line.split(/\s+/);
    if (dim < 0) dim = parts.length - 1;
    if (parts.length - 1 !== dim || dim < 1) throw new Error(`${source}:${li + 1}: expected a word and ${dim < 1 ? 'at least one number' : `${dim} numbers`}, found ${parts.length - 1} fields (word2vec or GloVe text format)`);
    for (let j = 1; j <= dim; j++) {
      const x = Number(parts[j]);
      if (!Number.isFinite(x)) throw new Error(`${source}:${li + 1}: "${parts[j]}" is not a number`);
      rows.push(x);
    }
    words.push(parts[0]!);
  }
  if (words.length === 0) throw new Error(`${source}: no word vectors found (word2vec or GloVe text format)`);
  return new WordVectors(words, dim, Float32Array.from(rows));
}

/** Lower-cased words: letters with an optional apostrophe suffix ("don't"). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
}

export interface PpmiOptions {
  /** Words seen fewer times are dropped. Default 5. */
  minCount?: number;
  /** At most this many of the most frequent words. Default 20000. */
  maxVocab?: number;
  /** Context words up to this distance on each side count as co-occurring. Default 4. */
  window?: number;
  /** Vector length (the SVD rank). Default 100. */
  dim?: number;
  /** Context-distribution smoothing exponent. Default 0.75. */
  alpha?: number;
  /** Seed of the randomised SVD's start. Default 0. */
  seed?: number;
}

export const PPMI_DEFAULTS: Required<PpmiOptions> = { minCount: 5, maxVocab: 20000, window: 4, dim: 100, alpha: 0.75, seed: 0 };

/** A sparse matrix in compressed-row form. */
export interface Csr {
  rows: number;
  cols: number;
  rowStart: Int32Array;
  col: Int32Array;
  value: Float64Array;
}

/**
 * The vocabulary and the sparse PPMI matrix of `texts` (each text is one stream; windows do not cross
 * texts). PPMI(w, c) = max(0, log(#(w,c) · Σ_c' #c'^α / (#(w) · #c^α))) with #(w) = Σ_c #(w,c).
 */
export function ppmiMatrix(texts: readonly string[], options: PpmiOptions = {}): { words: string[]; ppmi: Csr } {
  const o = { ...PPMI_DEFAULTS, ...options };
  const streams = texts.map(splitWords);
  const counts = new Map<string, number>();
  for (const s of streams) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([, c]) => c >= o.minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, o.maxVocab)
    .map(([w]) => w);
  const id = new Map(words.map((w, i) => [w, i]));
  const V = words.length;
  // Pair counts keyed by w * V + c (V ≤ 2^26 keeps the key exact).
  const pairs = new Map<number, number>();
  for (const s of streams) {
    const ids = s.map((w) => id.get(w) ?? -1);
    for (let i = 0; i < ids.length; i++) {
      const w = ids[i]!;
      if (w < 0) continue;
      for (let j = Math.max(0, i - o.window); j <= Math.min(ids.length - 1, i + o.window); j++) {
        const c = ids[j]!;
        if (j === i || c < 0) continue;
        const key = w * V + c;
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
      }
    }
  }
  const rowSum = new Float64Array(V);
  const colSum = new Float64Array(V);
  for (const [key, n] of pairs) {
    rowSum[Math.floor(key / V)]! += n;
    colSum[key % V]! += n;
  }
  const colSmoothed = colSum.map((c) => c ** o.alpha);
  const smoothTotal = colSmoothed.reduce((a, b) => a + b, 0);
  const keys = [...pairs.keys()].sort((a, b) => a - b);
  const rowStart = new Int32Array(V + 1);
  const col: number[] = [];
  const value: number[] = [];
  for (const key of keys) {
    const w = Math.floor(key / V);
    const c = key % V;
    const pmi = Math.log((pairs.get(key)! * smoothTotal) / (rowSum[w]! * colSmoothed[c]!));
    if (pmi <= 0) continue;
    rowStart[w + 1]!++;
    col.push(c);
    value.push(pmi);
  }
  for (let i = 0; i < V; i++) rowStart[i + 1]! += rowStart[i]!;
  return { words, ppmi: { rows: V, cols: V, rowStart, col: Int32Array.from(col), value: Float64Array.from(value) } };
}

/** y = A x for a block of vectors x [A.cols, k] → [A.rows, k] (row-major). */
function csrTimes(a: Csr, x: Mat): Mat {
  const k = x.cols;
  const out = mat(a.rows, k);
  for (let i = 0; i < a.rows; i++) {
    for (let p = a.rowStart[i]!; p < a.rowStart[i + 1]!; p++) {
      const v = a.value[p]!;
      const xo = a.col[p]! * k;
      for (let j = 0; j < k; j++) out.data[i * k + j]! += v * x.data[xo + j]!;
    }
  }
  return out;
}

/** y = Aᵀ x for x [A.rows, k] → [A.cols, k]. */
function csrTransposeTimes(a: Csr, x: Mat): Mat {
  const k = x.cols;
  const out = mat(a.cols, k);
  for (let i = 0; i < a.rows; i++) {
    for (let p = a.rowStart[i]!; p < a.rowStart[i + 1]!; p++) {
      const v = a.value[p]!;
      const oo = a.col[p]! * k;
      for (let j = 0; j < k; j++) out.data[oo + j]! += v * x.data[i * k + j]!;
    }
  }
  return out;
}

/**
 * The top `rank` left singular vectors and values of a sparse matrix by randomised subspace iteration
 * (Halko, Martinsson & Tropp 2011: oversampling 10, `powerIterations` rounds, QR between products).
 */
export function truncatedSvd(a: Csr, rank: number, seed = 0, powerIterations = 4): { values: Float64Array; left: Mat } {
  const k = Math.min(rank + 10, a.rows, a.cols);
  const rng = new SeededRandom(seed);
  const omega = mat(a.cols, k, Array.from({ length: a.cols * k }, () => rng.gaussian()));
  let q = thinQr(csrTimes(a, omega)).q;
  for (let it = 0; it < powerIterations; it++) {
    const z = thinQr(csrTransposeTimes(a, q)).q;
    q = thinQr(csrTimes(a, z)).q;
  }
  // B = Qᵀ A is k × cols; B Bᵀ = Qᵀ A Aᵀ Q gives A's left singular vectors as Q times its eigenvectors.
  const bt = csrTransposeTimes(a, q); // [cols, k] = Bᵀ
  const bbt = mat(k, k);
  for (let r = 0; r < a.cols; r++) {
    for (let i = 0; i < k; i++) {
      const x = bt.data[r * k + i]!;
      if (x === 0) continue;
      for (let j = 0; j < k; j++) bbt.data[i * k + j]! += x * bt.data[r * k + j]!;
    }
  }
  const { values, vectors } = symmetricEigen(bbt);
  const r = Math.min(rank, k);
  const left = mat(a.rows, r);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += q.data[i * k + t]! * vectors.data[j * k + t]!;
      left.data[i * r + j] = s;
    }
  }
  return { values: values.slice(0, r).map((v) => Math.sqrt(Math.max(v, 0))), left };
}

/** Word vectors U_k Σ_k^½ of the PPMI matrix of `texts` (see PpmiOptions for the settings). */
export function buildPpmiVectors(texts: readonly string[], options: PpmiOptions = {}): WordVectors {
  const o = { ...PPMI_DEFAULTS, ...options };
  const { words, ppmi } = ppmiMatrix(texts, o);
  if (words.length < 2) throw new Error(`the corpus gives only ${words.length} words seen at least ${o.minCount} times: too little text for word vectors`);
  const { values, left } = truncatedSvd(ppmi, Math.min(o.dim, words.length - 1), o.seed);
  const dim = left.cols;
  const vectors = new Float32Array(words.length * dim);
  for (let i = 0; i < words.length; i++) for (let j = 0; j < dim; j++) vectors[i * dim + j] = left.data[i * dim + j]! * Math.sqrt(values[j]!);
  return new WordVectors(words, dim, vectors);
}
