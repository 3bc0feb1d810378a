/**
 * Turns a trajectory response plus the page's view settings (statistic, layer stride, token range)
 * into heatmap panels through `PredictionTrajectory`, the same class the CLI figures use, so the page
 * looks like the static figure. Runs in the browser (the page draws the panels) and on the server
 * (exports), so an exported file is exactly the figure on screen.
 *
 * Core code: no `node:*` imports.
 */
import type { TrajectoryData } from '../trajectory/compute.js';
import { PredictionTrajectory, strideKeepLast, type StatisticName } from '../trajectory/prediction-trajectory.js';
import { normalizePiece } from '../trajectory/token-display.js';
import { TokenFormatter } from '../trajectory/token-formatter.js';
import type { HeatmapData } from '../viz/heatmap-data.js';
import { resolveScale } from './colour-scales.js';
import type { BaseStatistic, DistancePayload, DistanceStatistic, GridPayload, TrajectoryResponse, ViewSettings } from './protocol.js';

/** Cell and axis labels: the reference formatter defaults (7 characters), as in the static figures. */
const shortFormatter = new TokenFormatter();
/** Side-panel lists have room for whole tokens. */
const longFormatter = new TokenFormatter({ maxStringLen: 40 });

/** Labels for the statistic menu; the figure itself uses the reference names from PredictionTrajectory. */
export const BASE_STATISTIC_LABELS: Readonly<Record<BaseStatistic, string>> = {
  entropy: 'Entropy',
  ce: 'Cross entropy (next token)',
  kl: 'Forward KL (to the output)',
  'max-prob': 'Max probability',
  rank: 'Rank of the next token',
};

export const DISTANCE_LABELS: Readonly<Record<DistanceStatistic, { label: string; short: string; statistic: StatisticName }>> = {
  kl: { label: 'KL divergence', short: 'KL', statistic: 'kl-other' },
  js: { label: 'Jensen–Shannon divergence', short: 'JS', statistic: 'js-other' },
  tv: { label: 'Total variation', short: 'TV', statistic: 'tv-other' },
};

/** A heatmap of the page, with the maps from its display cells back to trajectory cells. */
export interface ViewPanel {
  key: string;
  title: string;
  data: HeatmapData;
  /** Display row i (bottom → top) → trajectory row. */
  rows: number[];
  /** Display column j → position. */
  cols: number[];
  /** Grids whose top-k the side panel lists for a cell of this panel (the first is the one drawn). */
  grids: number[];
  /** What a grid mode adds to the side panel about a cell (its prediction depth, its change from the row below). */
  note?: (row: number, pos: number) => string | null;
}

/** The formatted label of a token id for cells and axes (7 characters, "_" for a space). */
export function shortTokenLabel(pieces: Readonly<Record<string, string>>, id: number): string {
  const p = pieces[id];
  return p === undefined ? `<${id}>` : shortFormatter.format(normalizePiece(p));
}

/** The label of a token id for lists: the whole token, spaces and newlines made visible. */
export function longTokenLabel(pieces: Readonly<Record<string, string>>, id: number): string {
  const p = pieces[id];
  return p === undefined ? `<${id}>` : longFormatter.format(normalizePiece(p));
}

/** Positions [from, to) of the token range, clamped to the input so that at least one column remains. */
export function clampRange(positions: number, from: number, to: number | null): [number, number] {
  const a = Math.min(Math.max(0, Math.floor(from) || 0), positions - 1);
  const b = Math.max(a + 1, Math.min(positions, to === null ? positions : Math.floor(to)));
  return [a, b];
}

/**
 * Vocabulary labels indexed by id, as `PredictionTrajectory.fromData` wants them. The response carries
 * pieces only for the ids that occur (a 50k-token vocabulary would be most of the payload otherwise),
 * so the array is sparse; the class prints "<id>" for a hole, which never occurs in practice.
 */
const labelCache = new WeakMap<TrajectoryResponse, string[]>();
export function vocabLabels(resp: TrajectoryResponse): string[] {
  let labels = labelCache.get(resp);
  if (!labels) {
    labels = new Array<string>(resp.model.vocabSize);
    for (const id of Object.keys(resp.pieces)) labels[Number(id)] = shortTokenLabel(resp.pieces, Number(id));
    labelCache.set(resp, labels);
  }
  return labels;
}

const nan = (v: number | null): number => (v === null ? NaN : v);

/** The first `positions` positions of a grid as TrajectoryData (batch of one), optionally with distances. */
export function gridToTrajectoryData(grid: GridPayload, positions = grid.positions, comparison: DistancePayload | null = null): TrajectoryData {
  const R = grid.rows;
  const T = grid.positions;
  const K = grid.topK;
  const cells = (a: (number | null)[], inner = 1, width = T): Float32Array => {
    const out = new Float32Array(R * positions * inner);
    for (let r = 0; r < R; r++) for (let i = 0; i < positions * inner; i++) out[r * positions * inner + i] = nan(a[r * width * inner + i] ?? null);
    return out;
  };
  return {
    lensKind: grid.lens,
    inputIds: [grid.inputIds.slice(0, positions)],
    targets: [grid.targets.slice(0, positions)],
    antiTargets: null,
    rowLabels: [...grid.rowLabels],
    rows: R,
    batch: 1,
    positions,
    topK: K,
    entropy: cells(grid.entropy),
    maxProb: cells(grid.maxProb),
    forwardKl: cells(grid.forwardKl),
    crossEntropy: cells(grid.crossEntropy),
    rank: cells(grid.rank),
    logProbDiff: null,
    topIds: Int32Array.from(cells(grid.topIds, K)),
    topProbs: cells(grid.topProbs, K),
    comparison: comparison
      ? { kl: cells(comparison.kl, 1, comparison.positions), js: cells(comparison.js, 1, comparison.positions), tv: cells(comparison.tv, 1, comparison.positions) }
      : null,
  };
}

/** Display name of a grid's lens, e.g. "tuned lens (gpt2)". */
export function gridLensName(resp: TrajectoryResponse, grid: GridPayload): string {
  return grid.lens === 'tuned' ? `tuned lens${resp.tunedLensName ? ` (${resp.tunedLensName})` : ''}` : 'logit lens';
}

export function titleOf(resp: TrajectoryResponse, ...parts: string[]): string {
  return [resp.model.name, ...parts].join(' · ');
}

/** The trajectory cut to the view's stride and token range, with display → trajectory row and column maps. */
export function viewOf(traj: PredictionTrajectory, view: ViewSettings): { traj: PredictionTrajectory; rows: number[]; cols: number[] } {
  const stride = Math.max(1, Math.floor(view.stride) || 1);
  const [a, b] = clampRange(traj.positions, view.from, view.to);
  return {
    traj: traj.stride(stride).slice(a, b),
    rows: strideKeepLast(traj.rows, stride),
    cols: Array.from({ length: b - a }, (_, i) => a + i),
  };
}

function gridPanel(resp: TrajectoryResponse, gi: number, view: ViewSettings, twoPrompts: boolean, target: TargetColouring | null): ViewPanel {
  const grid = resp.grids[gi]!;
  const full = PredictionTrajectory.fromData(gridToTrajectoryData(grid), vocabLabels(resp));
  const { traj, rows, cols } = viewOf(full, view);
  const parts = twoPrompts ? [gridLensName(resp, grid), `prompt ${grid.prompt === 0 ? 'A' : 'B'}`] : [gridLensName(resp, grid)];
  const prob = target?.prob[gi];
  if (!target || !prob) {
    const title = titleOf(resp, ...parts, traj.statistic(view.statistic).name);
    const { scale, log } = resolveScale(view.scales, view.statistic);
    return { key: `grid-${gi}`, title, data: labelInputRow(traj.toHeatmap(view.statistic, { title, colorScale: scale, logScale: log }), rows), rows, cols, grids: [gi] };
  }
  // Coloured by the target: the cells keep their top-1 labels and top-k tooltips, only the colour changes.
  const meta = TARGET_MEASURES[target.measure];
  const name = meta.name(target.label, target.antiLabel);
  const title = titleOf(resp, ...parts, name);
  const data = traj.toHeatmap(view.statistic, { title });
  const values = targetValues(prob, target.anti?.[gi] ?? null, target.measure);
  data.values = rows.map((r) => cols.map((t) => values[r * grid.positions + t] ?? null));
  data.statisticName = name;
  data.units = meta.units;
  const { scale, log } = resolveScale(view.scales, `target-${target.measure}`);
  data.colorScale = scale;
  data.logScale = log;
  data.range = targetRange(data.values, target.measure, log);
  return { key: `grid-${gi}`, title, data: labelInputRow(data, rows), rows, cols, grids: [gi] };
}

/** Row 0 decodes the embeddings (before any block): the axis calls it "input" rather than "0". */
export function labelInputRow(data: HeatmapData, rows: number[]): HeatmapData {
  if (rows[0] === 0 && data.rowLabels.length > 1) data.rowLabels[0] = 'input';
  return data;
}

/** What the grid is coloured by when a target is tracked. */
export type TargetMeasure = 'prob' | 'log-prob' | 'log-prob-diff';
/** Their colour scales are in colour-scales.ts (`target-prob`, …), with every other statistic's. */
export const TARGET_MEASURES: Readonly<Record<TargetMeasure, { label: string; units: string; name(t: string, anti?: string): string }>> = {
  prob: { label: 'probability', units: 'probs', name: (t) => `P(${t})` },
  'log-prob': { label: 'log-probability', units: 'nats', name: (t) => `log P(${t})` },
  'log-prob-diff': { label: 'log-prob difference vs anti-target', units: 'nats', name: (t, a) => `log P(${t}) − log P(${a ?? '?'})` },
};

/**
 * A tracked target: the summed probability of a group of tokens in every cell of every grid (the pins
 * of its tokens added up), and optionally an anti-target group for the log-prob difference.
 */
export interface TargetColouring {
  measure: TargetMeasure;
  /** Display name of the group, e.g. "_Lily+_Tim". */
  label: string;
  antiLabel?: string;
  /** Per grid (response order), flat `[row][position]`. */
  prob: (number | null)[][];
  anti: (number | null)[][] | null;
}

/** Elementwise sum of several tokens' probabilities (a token group), null where any is undefined. */
export function sumProbs(series: readonly (readonly (number | null)[])[]): (number | null)[] {
  const n = series[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (const a of series) {
      const v = a[i];
      if (v === null || v === undefined) return null;
      s += v;
    }
    return Math.min(1, s);
  });
}

/** The colour value of each cell: p, ln p, or ln p − ln p_anti (null where undefined or p = 0). */
export function targetValues(prob: readonly (number | null)[], anti: readonly (number | null)[] | null, measure: TargetMeasure): (number | null)[] {
  const ln = (p: number | null | undefined): number | null => (p === null || p === undefined || !(p > 0) ? null : Math.log(p));
  return prob.map((p, i) => {
    if (measure === 'prob') return p;
    const a = ln(p);
    if (measure === 'log-prob' || a === null) return a;
    const b = ln(anti?.[i]);
    return b === null ? null : a - b;
  });
}

function targetRange(values: (number | null)[][], measure: TargetMeasure, log = false): [number, number] {
  const finite = values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  if (measure === 'prob') {
    // A log axis starts at the smallest positive probability shown (zeros are left blank).
    const positive = finite.filter((v) => v > 0);
    return log ? [positive.reduce((m, v) => Math.min(m, v), 1), 1] : [0, 1];
  }
  if (finite.length === 0) return measure === 'log-prob' ? [-1, 0] : [-1, 1];
  if (measure === 'log-prob') return [Math.min(-1e-3, ...finite), 0];
  // A difference has a meaningful zero (target and anti-target equally likely): keep it white.
  const m = Math.max(1e-3, ...finite.map(Math.abs));
  return [-m, m];
}

function distancePanel(resp: TrajectoryResponse, dist: DistancePayload, view: ViewSettings): ViewPanel {
  const self = resp.grids[dist.self]!;
  const other = resp.grids[dist.other]!;
  const meta = DISTANCE_LABELS[view.distance];
  const full = PredictionTrajectory.fromData(gridToTrajectoryData(self, dist.positions, dist), vocabLabels(resp));
  const { traj, rows, cols } = viewOf(full, view);
  const lensCompare = dist.kind === 'lens';
  const title = titleOf(resp, ...(lensCompare ? ['tuned vs logit lens'] : [gridLensName(resp, self), 'prompt A vs B']), meta.label);
  const { scale, log } = resolveScale(view.scales, `dist-${view.distance}`);
  const data = traj.toHeatmap(meta.statistic, { title, colorScale: scale, logScale: log });
  // The reference calls the sides "Self" and "Other"; here we know which is which, so say it.
  data.statisticName = lensCompare ? `${meta.short}(tuned | logit)` : `${meta.short}(A | B)`;
  // Each cell names the token whose probability changed most ("_She Δ+12.34%", as the reference labels
  // comparisons); the tooltip lists the top-k changes.
  const changes = rows.map((r) => cols.map((t) => cellChanges(resp, r, t)));
  // No label where nothing changed (the output row of a lens comparison: both lenses end in the model).
  const top = changes.map((row) => row.map((c) => (c[0] && Number((c[0].change * 100).toFixed(2)) !== 0 ? c[0] : null)));
  data.cellLabels = top.map((row) => row.map((c) => (c ? `${shortTokenLabel(resp.pieces, c.id)} ${formatChange(c.change)}` : '')));
  data.cellLabelsShort = top.map((row) => row.map((c) => (c ? shortTokenLabel(resp.pieces, c.id) : '')));
  data.hover = changes.map((row) => row.map((c) => ({ tokens: c.map((x) => shortTokenLabel(resp.pieces, x.id)), probs: c.map((x) => x.change) })));
  data.hoverValueKind = 'delta';
  if (!lensCompare) {
    // Where the prompts differ the column shows both tokens ("Ring/Model"), so the substitution is visible.
    data.columnLabels = cols.map((t) => {
      const a = shortTokenLabel(resp.pieces, self.inputIds[t]!);
      const b = shortTokenLabel(resp.pieces, other.inputIds[t]!);
      return a === b ? a : `${a}/${b}`;
    });
  }
  return { key: 'distance', title, data: labelInputRow(data, rows), rows, cols, grids: [dist.self, dist.other] };
}

/** A probability change as the reference prints it: "Δ+12.34%", "Δ-0.50%". */
export function formatChange(change: number): string {
  const pct = Number((change * 100).toFixed(2));
  return `Δ${pct > 0 ? '+' : ''}${pct === 0 ? '0.00' : pct.toFixed(2)}%`;
}

/** One token of a cell's largest changes between the two compared grids. */
export interface TokenChange {
  id: number;
  label: string;
  /** p_self − p_other (tuned − logit, or prompt A − prompt B). */
  change: number;
}

/** The tokens whose probability changed most in one cell of the view's distance, largest |change| first. */
export function cellChanges(resp: TrajectoryResponse, row: number, pos: number): TokenChange[] {
  const d = resp.distance;
  if (!d || row >= d.rows || pos >= d.positions) return [];
  const base = (row * d.positions + pos) * d.changeK;
  return Array.from({ length: d.changeK }, (_, k) => {
    const id = d.changeIds[base + k]!;
    return { id, label: longTokenLabel(resp.pieces, id), change: d.changes[base + k]! };
  });
}

/**
 * The panels of a view, in page order:
 * - logit / tuned: the statistic of that lens;
 * - compare: the logit and the tuned lens side by side, on one colour range so colours compare;
 * - diff: the distance between the tuned and the logit lens in every cell;
 * - two prompts: prompt A, prompt B (one colour range), and their distance position by position.
 * With a `target`, the lens panels are coloured by the target's probability (or log-prob, or log-prob
 * difference to the anti-target) instead of the statistic.
 */
export function buildPanels(resp: TrajectoryResponse, view: ViewSettings, target: TargetColouring | null = null): ViewPanel[] {
  const twoPrompts = resp.grids.some((g) => g.prompt === 1);
  const panels: ViewPanel[] = [];
  if (resp.lens !== 'diff') resp.grids.forEach((_, gi) => panels.push(gridPanel(resp, gi, view, twoPrompts, target)));
  if (resp.distance && (resp.lens === 'diff' || twoPrompts)) panels.push(distancePanel(resp, resp.distance, view));

  // Panels of one statistic share a colour range; the natural ranges (entropy [0, ln V], …) already
  // agree, data-derived ones (forward KL) are widened to their union.
  const gridPanels = panels.filter((p) => p.key.startsWith('grid-'));
  const ranges = gridPanels.map((p) => p.data.range).filter((r): r is [number, number] => r !== undefined);
  if (gridPanels.length > 1 && ranges.length > 0) {
    const union: [number, number] = [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))];
    for (const p of gridPanels) p.data.range = union;
  }
  return panels;
}

/** One entry of a side-panel list: a token the user can pin. */
export interface TopToken {
  id: number;
  label: string;
  prob: number;
}

/** The top-k of one cell of a grid, most probable first, with whole-token labels. */
export function cellTopTokens(resp: TrajectoryResponse, gi: number, row: number, pos: number): TopToken[] {
  const g = resp.grids[gi]!;
  if (pos >= g.positions) return [];
  const base = (row * g.positions + pos) * g.topK;
  return Array.from({ length: g.topK }, (_, k) => {
    const id = g.topIds[base + k]!;
    return { id, label: longTokenLabel(resp.pieces, id), prob: g.topProbs[base + k]! };
  });
}
