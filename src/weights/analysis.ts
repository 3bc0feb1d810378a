/**
 * Static analysis of weights through a lens (App. E.1, Table 3, Fig. 21): every source vector of every
 * block, real and random, decoded through the logit lens and the tuned lens, each top-k list scored
 * with word vectors. Vectors a block reads use translator ℓ (hidden_states[ℓ] is its input); vectors it
 * writes use translator ℓ + 1, and the last block's the output head alone.
 */
import { LogitLens, type TunedLens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { decodeDirections } from './decode.js';
import { SeededRandom } from './random.js';
import { interpretabilityScore } from './score.js';
import { layerSources, randomLayerSources, SOURCE_SIDE, type SourceGroup, type SourceName } from './sources.js';
import type { WordVectors } from './word-vectors.js';

export const TABLE_ROWS = ['logit_real', 'logit_random', 'tuned_real', 'tuned_random'] as const;
export type TableRow = (typeof TABLE_ROWS)[number];

export interface DecodedVector {
  lens: 'logit' | 'tuned';
  matrix: 'real' | 'random';
  layer: number;
  source: SourceName;
  head: number | null;
  /** Singular-vector or neuron index. */
  index: number;
  sign: 1 | -1;
  singular_value: number | null;
  /** Top-k token ids and their vocabulary pieces, best first. */
  ids: number[];
  tokens: string[];
  score: number | null;
  /** Tokens without a word vector. */
  skipped: number;
}

export interface WeightAnalysisOptions {
  k?: number;
  seed?: number;
  /** Restrict to these sources (default: all the model has). */
  sources?: readonly SourceName[];
  /** Restrict to these blocks (default: all). */
  layers?: readonly number[];
  /** Called with every decoded vector (e.g. to stream vectors.jsonl). */
  onVector?: (v: DecodedVector) => void | Promise<void>;
  onLayer?: (done: number, total: number) => void;
}

export interface ScoreSummary {
  mean: number | null;
  /** Vectors with a score (at least two distinct words with vectors). */
  scored: number;
  /** Vectors whose top-k list had fewer than two words with vectors. */
  unscored: number;
}

export interface WeightAnalysis {
  k: number;
  seed: number;
  /** Table 3: row → source → mean score over every vector of every layer. */
  rows: Record<TableRow, Partial<Record<SourceName, number | null>>>;
  /** Counts behind each table cell. */
  counts: Record<TableRow, Partial<Record<SourceName, ScoreSummary>>>;
  /** Fig. 21: row → source → per-layer scores (every scored vector). */
  perLayer: Record<TableRow, Partial<Record<SourceName, number[][]>>>;
  /** Tokens skipped for lack of a word vector / tokens decoded, over everything. */
  skippedTokens: number;
  decodedTokens: number;
  sources: SourceName[];
  layers: number[];
}

function emptyRows<T>(): Record<TableRow, Partial<Record<SourceName, T>>> {
  return { logit_real: {}, logit_random: {}, tuned_real: {}, tuned_random: {} };
}

/** Which translator decodes a source of block `layer` of an L-block model (null: the output head alone). */
export function translatorFor(nLayers: number, source: SourceName, layer: number): number | null {
  const t = SOURCE_SIDE[source] === 'read' ? layer : layer + 1;
  return t < nLayers ? t : null;
}

export async function analyzeWeights(model: LanguageModel, lens: TunedLens | null, words: WordVectors, options: WeightAnalysisOptions = {}): Promise<WeightAnalysis> {
  const k = options.k ?? 10;
  const seed = options.seed ?? 0;
  const L = model.nLayers;
  const layers = options.layers ? [...options.layers] : Array.from({ length: L }, (_, i) => i);
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= L) throw new Error(`layer ${l} is outside 0..${L - 1}`);
  if (!Number.isInteger(k) || k < 2 || k > model.config.vocabSize) throw new Error(`k must be an integer in 2..${model.config.vocabSize}, got ${k}`);
  const only = options.sources ? new Set(options.sources) : undefined;
  const rng = new SeededRandom(seed);
  const logit = new LogitLens(model);
  const perLayer = emptyRows<number[][]>();
  const unscored = emptyRows<number>();
  const seenSources = new Set<SourceName>();
  let skippedTokens = 0;
  let decodedTokens = 0;

  const run = async (group: SourceGroup, matrix: 'real' | 'random', lensKind: 'logit' | 'tuned'): Promise<void> => {
    const row: TableRow = `${lensKind}_${matrix}`;
    const n = group.info.length;
    const ids = lensKind === 'tuned' ? await decodeDirections(model, lens!, translatorFor(L, group.source, group.layer), group.vectors, n, k) : await decodeDirections(model, logit, null, group.vectors, n, k);
    const byLayer = (perLayer[row][group.source] ??= layers.map(() => []));
    const scores = byLayer[layers.indexOf(group.layer)]!;
    for (let i = 0; i < n; i++) {
      const top = Array.from(ids.subarray(i * k, (i + 1) * k));
      const tokens = top.map((id) => model.tokenizer.idToPiece(id));
      const s = interpretabilityScore(tokens, words);
      skippedTokens += s.skipped;
      decodedTokens += k;
      if (s.score === null) unscored[row][group.source] = (unscored[row][group.source] ?? 0) + 1;
      else scores.push(s.score);
      const info = group.info[i]!;
      await options.onVector?.({ lens: lensKind, matrix, layer: group.layer, source: group.source, head: info.head, index: info.component, sign: info.sign, singular_value: info.singularValue, ids: top, tokens, score: s.score, skipped: s.skipped });
    }
  };

  for (const [li, layer] of layers.entries()) {
    const real = layerSources(model.config, model.weights, layer, only);
    const random = randomLayerSources(model.config, model.weights, layer, rng, only);
    for (const [matrix, groups] of [['real', real], ['random', random]] as const) {
      for (const group of groups) {
        seenSources.add(group.source);
        await run(group, matrix, 'logit');
        if (lens) await run(group, matrix, 'tuned');
      }
    }
    options.onLayer?.(li + 1, layers.length);
  }

  const rows = emptyRows<number | null>();
  const counts = emptyRows<ScoreSummary>();
  for (const row of Object.keys(rows) as TableRow[]) {
    if (row.startsWith('tuned') && !lens) continue;
    for (const source of seenSources) {
      const all = (perLayer[row][source] ?? []).flat();
      const mean = all.length ? all.reduce((a, b) => a + b, 0) / all.length : null;
      rows[row][source] = mean;
      counts[row][source] = { mean, scored: all.length, unscored: unscored[row][source] ?? 0 };
    }
  }
  return { k, seed, rows, counts, perLayer, skippedTokens, decodedTokens, sources: [...seenSources], layers };
}

/** Five-number summary (min, quartiles, max) and mean of one layer's scores, for box plots. */
export function boxStats(xs: readonly number[]): { min: number; q1: number; median: number; q3: number; max: number; mean: number; n: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
  };
  return { min: s[0]!, q1: q(0.25), median: q(0.5), q3: q(0.75), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length, n: s.length };
}
