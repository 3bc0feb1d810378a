/**
 * `PredictionTrajectory`: what every lens layer (and the model itself, the "output" row) predicts at every
 * input position, with display labels — the port of the reference's `tuned_lens.plotting.PredictionTrajectory`
 * + `TrajectoryStatistic` (spec §10.1–10.2): statistics and labels, for the figure code
 * (viz/trajectory-heatmap.ts) and the web viewer.
 *
 * Unlike the reference, which keeps the full `(layers+1, seq, vocab)` log-probabilities in memory, this
 * class wraps a `TrajectoryData` whose statistics were already reduced inside the compute graph
 * (compute.ts): only per-cell scalars and the top-k tokens are kept, so long prompts on large
 * vocabularies stay small. Everything the figure needs can be derived from those.
 *
 * Deliberate differences from the reference (spec §13 items 5–6):
 * - `js-other` is the true Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2, and `tv-other`
 *   the true total variation distance ½Σ|p−q|. The reference's `js_divergence` actually computes the
 *   symmetrised KL ½KL(p‖q) + ½KL(q‖p), and its `total_variation` the max-abs (L∞) difference, under
 *   those names. The statistic names are kept ("JS(Self | Other)", "TV(Self | Other)") so figures read
 *   the same, but the numbers differ from the reference's wherever p ≠ q.
 * - There is no `min_prob` label filter, so the reference bug where one low-probability cell blanks
 *   every label cannot occur.
 * - Batch averages skip NaN cells (positions without a target), where the reference's `mean` would make
 *   the whole cell NaN.
 *
 * Core code: no `node:*` imports, so the browser viewer can use it unchanged.
 */
import type { Lens } from '../lens/lens.js';
import type { Batch } from '../models/position-inputs.js';
import type { HeatmapData, HoverEntry } from '../viz/heatmap-data.js';
import { trajectoryHeatmap, type ToHeatmapOptions } from '../viz/trajectory-heatmap.js';
import { computeTrajectory, type TrajectoryData, type TrajectoryOptions } from './compute.js';
import { tokenLabels } from './token-display.js';

export type { ToHeatmapOptions };

/** Statistics a trajectory can show; the names are the CLI's `--statistic` values. */
export type StatisticName =
  | 'entropy'
  | 'ce'
  | 'kl'
  | 'max-prob'
  | 'rank'
  | 'log-prob-diff'
  | 'log-prob-diff-delta'
  | 'kl-other'
  | 'js-other'
  | 'tv-other';

export const STATISTIC_NAMES: readonly StatisticName[] = [
  'entropy',
  'ce',
  'kl',
  'max-prob',
  'rank',
  'log-prob-diff',
  'log-prob-diff-delta',
  'kl-other',
  'js-other',
  'tv-other',
];

/** One statistic of a trajectory, averaged over the batch: the reference's `TrajectoryStatistic` without labels. */
export interface TrajectoryStatistic {
  /** Reference spelling: "Entropy", "Cross Entropy", "Forward KL", "Max Probability", "Rank", … */
  name: string;
  /** "nats", "probs" or "" (rank). */
  units: string;
  /**
   * `values[row][position]`, rows in the order of `rowLabels` (layer 0 first, "output" last), averaged
   * over the batch ignoring NaN cells; `null` where every batch item is NaN (e.g. a position without a
   * target). Infinite averages (a target with probability 0) are kept as ±Infinity.
   */
  values: (number | null)[][];
  rowLabels: string[];
  /** Natural lower end of the colour range, when the statistic has one (e.g. 0 for entropy). */
  min?: number;
  /** Natural upper end of the colour range, when the statistic has one (e.g. 1 for probabilities). */
  max?: number;
  /** False only for `log-prob-diff-delta`, whose rows are changes between consecutive rows. */
  includesOutput: boolean;
}

interface StatisticSpec {
  name: string;
  units: string;
  min?: number;
  max?: number;
}

/** Names, units and natural ranges; `maxIsLogVocab` / `maxIsVocab` bounds come from the vocabulary size V. */
const SPECS: Readonly<Record<StatisticName, StatisticSpec & { maxIsLogVocab?: boolean; maxIsVocab?: boolean }>> = {
  // Entropy and cross entropy share the legacy `plot_lens` scale [0, ln V]: ln V is the entropy of the
  // uniform distribution, so colours mean the same thing across statistics and prompts. Cross entropies
  // above ln V (worse than uniform) are clamped to the top colour.
  entropy: { name: 'Entropy', units: 'nats', min: 0, maxIsLogVocab: true },
  ce: { name: 'Cross Entropy', units: 'nats', min: 0, maxIsLogVocab: true },
  // Forward KL has no useful upper bound (logit-lens layer 0 can be tens of nats off), so the top comes from the data.
  kl: { name: 'Forward KL', units: 'nats', min: 0 },
  'max-prob': { name: 'Max Probability', units: 'probs', min: 0, max: 1 },
  rank: { name: 'Rank', units: '', min: 1, maxIsVocab: true },
  'log-prob-diff': { name: 'Log Prob Difference', units: 'nats' },
  'log-prob-diff-delta': { name: 'Δ Log Prob Difference', units: 'nats' },
  'kl-other': { name: 'KL(Self | Other)', units: 'nats', min: 0 },
  'js-other': { name: 'JS(Self | Other)', units: 'nats', min: 0 },
  'tv-other': { name: 'TV(Self | Other)', units: 'probs', min: 0, max: 1 },
};

/** Row indices kept by `stride(k)`: the reference's `x[:-1:k]` plus the last (output) row. */
export function strideKeepLast(rows: number, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows - 1; r += k) out.push(r);
  out.push(rows - 1);
  return out;
}

/**
 * Resolves a Python-style [start, end) position range against `length`: negative indices count from the
 * end. Unlike Python slicing, an out-of-range or empty range is an error rather than silently clamped,
 * because a figure of nothing (or of other positions than asked for) is never what the user wanted.
 */
export function resolveRange(start: number, end: number, length: number): [number, number] {
  if (!Number.isInteger(start) || !Number.isInteger(end)) throw new Error(`position range must be integers, got ${start}:${end}`);
  const s = start < 0 ? start + length : start;
  const e = end < 0 ? end + length : end;
  if (s < 0 || s >= length || e < 0 || e > length) {
    throw new Error(`position range ${start}:${end} is outside the ${length} input positions (valid indices 0..${length - 1}, or -${length}..-1 from the end)`);
  }
  if (e <= s) throw new Error(`position range ${start}:${end} is empty (it resolves to ${s}:${e} of ${length} positions)`);
  return [s, e];
}

/** Picks rows and positions out of a C-order [R][B][T](·inner) array. */
function pick<A extends Float32Array | Int32Array>(src: A, d: TrajectoryData, rows: readonly number[], pos: readonly number[], inner = 1): A {
  const { batch: B, positions: T } = d;
  const out = new (src.constructor as new (n: number) => A)(rows.length * B * pos.length * inner);
  let o = 0;
  for (const r of rows) {
    for (let b = 0; b < B; b++) {
      for (const t of pos) {
        const i = ((r * B + b) * T + t) * inner;
        for (let k = 0; k < inner; k++) out[o++] = src[i + k]!;
      }
    }
  }
  return out;
}

/** A new TrajectoryData with only the given rows (indices into data.rows) and positions. */
function selectData(d: TrajectoryData, rows: readonly number[], pos: readonly number[]): TrajectoryData {
  const p = <A extends Float32Array | Int32Array>(a: A, inner = 1): A => pick(a, d, rows, pos, inner);
  const cols = (m: number[][]): number[][] => m.map((row) => pos.map((t) => row[t]!));
  return {
    lensKind: d.lensKind,
    inputIds: cols(d.inputIds),
    targets: cols(d.targets),
    antiTargets: d.antiTargets ? cols(d.antiTargets) : null,
    rowLabels: rows.map((r) => d.rowLabels[r]!),
    rows: rows.length,
    batch: d.batch,
    positions: pos.length,
    topK: d.topK,
    entropy: p(d.entropy),
    maxProb: p(d.maxProb),
    forwardKl: p(d.forwardKl),
    crossEntropy: p(d.crossEntropy),
    rank: p(d.rank),
    logProbDiff: d.logProbDiff ? p(d.logProbDiff) : null,
    topIds: p(d.topIds, d.topK),
    topProbs: p(d.topProbs, d.topK),
    comparison: d.comparison ? { kl: p(d.comparison.kl), js: p(d.comparison.js), tv: p(d.comparison.tv) } : null,
  };
}

/** Checks the array sizes against the declared shape, so a malformed object fails here and not as a misdrawn figure. */
function validateData(d: TrajectoryData, vocabLabels: readonly string[]): void {
  const { rows: R, batch: B, positions: T, topK: K } = d;
  if (!(R >= 1 && B >= 1 && T >= 1)) throw new Error(`TrajectoryData: need at least one row, batch item and position (got ${R} × ${B} × ${T})`);
  if (!(Number.isInteger(K) && K >= 1)) throw new Error(`TrajectoryData: topK must be a positive integer, got ${K}`);
  if (d.rowLabels.length !== R) throw new Error(`TrajectoryData: ${d.rowLabels.length} row labels for ${R} rows`);
  const n = R * B * T;
  const check = (field: string, a: ArrayLike<number> | null, size: number): void => {
    if (a && a.length !== size) throw new Error(`TrajectoryData.${field}: ${a.length} values, expected ${size} (${R} rows × ${B} × ${T}${size === n ? '' : ` × ${K}`})`);
  };
  check('entropy', d.entropy, n);
  check('maxProb', d.maxProb, n);
  check('forwardKl', d.forwardKl, n);
  check('crossEntropy', d.crossEntropy, n);
  check('rank', d.rank, n);
  check('logProbDiff', d.logProbDiff, n);
  check('topIds', d.topIds, n * K);
  check('topProbs', d.topProbs, n * K);
  if (d.comparison) for (const k of ['kl', 'js', 'tv'] as const) check(`comparison.${k}`, d.comparison[k], n);
  for (const [field, m] of [['inputIds', d.inputIds], ['targets', d.targets], ['antiTargets', d.antiTargets]] as const) {
    if (m && (m.length !== B || m.some((row) => row.length !== T))) throw new Error(`TrajectoryData.${field} must be [${B}][${T}]`);
  }
  for (const row of d.inputIds) {
    for (const id of row) if (!(id >= 0 && id < vocabLabels.length)) throw new Error(`TrajectoryData: input id ${id} has no label (${vocabLabels.length} vocabulary labels)`);
  }
}

/** `labels` if all equal, else "*" (the reference's marker for batch-heterogeneous cells). */
function consolidate(labels: readonly string[]): string {
  const first = labels[0]!;
  return labels.every((l) => l === first) ? first : '*';
}

export class PredictionTrajectory {
  private constructor(
    /** The underlying numbers; treat as read-only (stride/slice return new trajectories). */
    readonly data: TrajectoryData,
    /** Display label of every vocabulary id (TokenFormatter output), indexed by id. */
    readonly vocabLabels: readonly string[],
  ) {}

  /**
   * Runs the model once and computes the trajectory of `lens` on `batch` (see `computeTrajectory` for
   * the options: targets, anti-targets, top-k, input masking, a second lens to compare with). Labels
   * come from the model's tokenizer with the reference TokenFormatter defaults.
   */
  static async compute(lens: Lens, batch: Batch, options: TrajectoryOptions = {}): Promise<PredictionTrajectory> {
    const data = await computeTrajectory(lens, batch, options);
    const model = lens.model;
    return PredictionTrajectory.fromData(data, tokenLabels(model.tokenizer, model.config.vocabSize));
  }

  /**
   * Wraps already computed data (e.g. deserialised in the browser). `vocabLabels[id]` is the display
   * label of token `id`, normally `tokenLabels(tokenizer)`; its length is taken as the vocabulary size
   * (the upper end of the rank colour scale).
   */
  static fromData(data: TrajectoryData, vocabLabels: string[]): PredictionTrajectory {
    validateData(data, vocabLabels);
    return new PredictionTrajectory(data, vocabLabels);
  }

  get rows(): number {
    return this.data.rows;
  }

  get positions(): number {
    return this.data.positions;
  }

  get batch(): number {
    return this.data.batch;
  }

  get vocabSize(): number {
    return this.vocabLabels.length;
  }

  /** "0".."L-1", "output" (fewer after `stride`). */
  get rowLabels(): string[] {
    return [...this.data.rowLabels];
  }

  /** Whether `kl-other`, `js-other` and `tv-other` are available (computed with `compareWith`). */
  get hasComparison(): boolean {
    return this.data.comparison !== null;
  }

  /**
   * Keeps every k-th row below the output — rows 0, k, 2k, … — plus always the output row (the
   * reference's `x[:-1:k]` + last), so deep models fit on screen without losing the model's own answer.
   */
  stride(k: number): PredictionTrajectory {
    if (!Number.isInteger(k) || k < 1) throw new Error(`stride must be a positive integer, got ${k}`);
    if (k === 1) return this;
    const all = Array.from({ length: this.positions }, (_, t) => t);
    return new PredictionTrajectory(selectData(this.data, strideKeepLast(this.rows, k), all), this.vocabLabels);
  }

  /**
   * Positions [start, end), Python-style negative indices allowed (`slice(-5)` = the last five). Throws
   * with the valid range when the result would be empty or reaches outside the input. The statistics are
   * those of the full-context run: slicing only chooses what to show.
   */
  slice(start: number, end: number = this.positions): PredictionTrajectory {
    const [s, e] = resolveRange(start, end, this.positions);
    if (s === 0 && e === this.positions) return this;
    const rows = Array.from({ length: this.rows }, (_, r) => r);
    const pos = Array.from({ length: e - s }, (_, i) => s + i);
    return new PredictionTrajectory(selectData(this.data, rows, pos), this.vocabLabels);
  }

  /** One statistic averaged over the batch (NaN cells skipped). */
  statistic(name: StatisticName): TrajectoryStatistic {
    const spec = SPECS[name];
    if (!spec) throw new Error(`unknown statistic "${String(name)}"; known: ${STATISTIC_NAMES.join(', ')}`);
    const d = this.data;
    const stat: TrajectoryStatistic = { name: spec.name, units: spec.units, values: [], rowLabels: [...d.rowLabels], includesOutput: true };
    if (spec.min !== undefined) stat.min = spec.min;
    if (spec.max !== undefined) stat.max = spec.max;
    if (spec.maxIsLogVocab) stat.max = Math.log(this.vocabSize);
    if (spec.maxIsVocab) stat.max = this.vocabSize;

    if (name === 'log-prob-diff-delta') {
      // Row i is the change from row i to row i+1 of *this* trajectory (after any stride), computed per
      // batch item before averaging. The reference labels delta rows "0".."n-1"; "a→b" says which rows.
      const lpd = this.requireLogProbDiff();
      const R = d.rows;
      const B = d.batch;
      const T = d.positions;
      const delta = new Float64Array((R - 1) * B * T);
      for (let r = 0; r + 1 < R; r++) {
        for (let i = 0; i < B * T; i++) delta[r * B * T + i] = lpd[(r + 1) * B * T + i]! - lpd[r * B * T + i]!;
      }
      stat.values = this.batchMean(delta, R - 1);
      stat.rowLabels = Array.from({ length: R - 1 }, (_, r) => `${d.rowLabels[r]}→${d.rowLabels[r + 1]}`);
      stat.includesOutput = false;
      return stat;
    }
    stat.values = this.batchMean(this.cellArray(name), d.rows);
    return stat;
  }

  /** The formatted top-1 token of every cell, `[row][position]`; "*" where batch items disagree. */
  cellLabels(): string[][] {
    const { rows: R, batch: B, positions: T, topK: K, topIds } = this.data;
    return Array.from({ length: R }, (_, r) =>
      Array.from({ length: T }, (_, t) => consolidate(Array.from({ length: B }, (_, b) => this.label(topIds[((r * B + b) * T + t) * K]!)))),
    );
  }

  /**
   * The tooltip table of every cell, `[row][position]`: the top-`topK` tokens (at most the trajectory's
   * own top-k) and their probabilities, for batch item 0. Batch items are not merged: the graph keeps
   * only each item's own top-k, so an average over items would be missing the probabilities of tokens
   * outside some item's top-k. (The reference shows up to 3 items side by side instead.)
   */
  hover(topK = 10): HoverEntry[][] {
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`hover: topK must be a positive integer, got ${topK}`);
    const { rows: R, batch: B, positions: T, topK: K, topIds, topProbs } = this.data;
    const k = Math.min(topK, K);
    return Array.from({ length: R }, (_, r) =>
      Array.from({ length: T }, (_, t) => {
        const base = (r * B * T + t) * K; // batch item 0
        return {
          tokens: Array.from({ length: k }, (_, j) => this.label(topIds[base + j]!)),
          probs: Array.from({ length: k }, (_, j) => topProbs[base + j]!),
        };
      }),
    );
  }

  /** The formatted input token of every position; "*" where batch items have different tokens. */
  columnLabels(): string[] {
    const ids = this.data.inputIds;
    return Array.from({ length: this.positions }, (_, t) => consolidate(ids.map((row) => this.label(row[t]!))));
  }

  /** The figure data for one statistic (see `trajectoryHeatmap` in viz/trajectory-heatmap.ts). */
  toHeatmap(statistic: StatisticName, opts: ToHeatmapOptions = {}): HeatmapData {
    return trajectoryHeatmap(this, statistic, opts);
  }

  private label(id: number): string {
    return this.vocabLabels[id] ?? `<${id}>`;
  }

  private requireLogProbDiff(): Float32Array {
    if (!this.data.logProbDiff) throw new Error('the log-prob difference needs anti-targets: compute the trajectory with the antiTargets option (CLI: --anti-target)');
    return this.data.logProbDiff;
  }

  /** The per-cell [R][B][T] array behind a statistic (all but the delta). */
  private cellArray(name: Exclude<StatisticName, 'log-prob-diff-delta'>): Float32Array {
    const d = this.data;
    switch (name) {
      case 'entropy':
        return d.entropy;
      case 'ce':
        return d.crossEntropy;
      case 'kl':
        return d.forwardKl;
      case 'max-prob':
        return d.maxProb;
      case 'rank':
        return d.rank;
      case 'log-prob-diff':
        return this.requireLogProbDiff();
      case 'kl-other':
      case 'js-other':
      case 'tv-other': {
        if (!d.comparison) throw new Error(`the "${name}" statistic compares two lenses: compute the trajectory with the compareWith option`);
        return d.comparison[name === 'kl-other' ? 'kl' : name === 'js-other' ? 'js' : 'tv'];
      }
    }
  }

  /** Mean over the batch of a C-order [rows][B][T] array, skipping NaN; null where all are NaN. */
  private batchMean(src: ArrayLike<number>, rows: number): (number | null)[][] {
    const { batch: B, positions: T } = this.data;
    return Array.from({ length: rows }, (_, r) =>
      Array.from({ length: T }, (_, t) => {
        let sum = 0;
        let n = 0;
        for (let b = 0; b < B; b++) {
          const v = src[(r * B + b) * T + t]!;
          if (Number.isNaN(v)) continue;
          sum += v;
          n++;
        }
        return n === 0 ? null : sum / n;
      }),
    );
  }
}
