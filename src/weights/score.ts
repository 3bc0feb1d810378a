/**
 * The interpretability score of a top-k token list (App. E.3): the mean cosine similarity of the
 * tokens' words under a word embedding. Sub-word pieces lose their space marker and are lower-cased;
 * repeated words count once; tokens without a vector are skipped and counted.
 */
import type { WordVectors } from './word-vectors.js';

/** SentencePiece "▁", GPT-2 byte-level "Ġ" (space) and ordinary spaces mark a word start. */
const SPACE_MARKERS = /^[\u2581\u0120\s]+/;

/** The word a vocabulary piece stands for ("▁Lily" → "lily", "Ġthe" → "the"), or null for empty/byte pieces. */
export function pieceToWord(piece: string): string | null {
  if (/^<0x[0-9A-Fa-f]{2}>$/.test(piece)) return null;
  const w = piece.replace(SPACE_MARKERS, '').replace(/[\u2581\u0120]+$/, '').trim().toLowerCase();
  return w === '' ? null : w;
}

export interface ScoredList {
  /** Mean cosine over the distinct pairs of distinct words with a vector; null when fewer than two. */
  score: number | null;
  /** Distinct words that had a vector. */
  used: number;
  /** Tokens skipped because their word has no vector (or the piece is no word). */
  skipped: number;
}

/**
 * Score = (1 / #pairs) Σ_{i<j} cos(E(w_i), E(w_j)) over the distinct words w of the list. Unlike the
 * paper's Σ_{i,j}/k², the diagonal (always 1) is left out, so a score of 0 means unrelated words.
 */
export function interpretabilityScore(pieces: readonly string[], vectors: WordVectors): ScoredList {
  const seen = new Set<string>();
  const found: Float32Array[] = [];
  let skipped = 0;
  for (const piece of pieces) {
    const w = pieceToWord(piece);
    const v = w === null ? null : vectors.get(w);
    if (!v) {
      skipped++;
      continue;
    }
    if (seen.has(w!)) continue;
    seen.add(w!);
    found.push(v);
  }
  if (found.length < 2) return { score: null, used: found.length, skipped };
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < found.length; i++) {
    for (let j = i + 1; j < found.length; j++) {
      const a = found[i]!;
      const b = found[j]!;
      let dot = 0;
      for (let t = 0; t < a.length; t++) dot += a[t]! * b[t]!;
      sum += dot;
      pairs++;
    }
  }
  return { score: sum / pairs, used: found.length, skipped };
}
