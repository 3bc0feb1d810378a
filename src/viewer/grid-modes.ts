/**
 * The viewer's grid modes, from a trajectory response to heatmap panels:
 *
 * - 'lens': the lens rows as they are (view-model.ts's `buildPanels`);
 * - 'depth': each position's prediction depth (applications/prediction-depth.ts, paper Fig. 11): cells from
 *   the depth up are "settled" (the lens's top-1 is the model's final top-1 there and in every row above)
 *   and coloured by the depth, warm = deep; the depth is written over each column;
 * - 'delta': first-order layer differences, D(row r ‖ row r − 1) by the distance menu (KL, JS, TV), each cell
 *   labelled with the token whose probability rose most;
 * - 'sublayer': the lens rows interleaved with the logit lens on each block's residual after attention
 *   ("ℓ.attn", between row ℓ, the block's input, and row ℓ + 1, its output), with every statistic.
 *
 * Used by the page and by the server's export alike, so an exported file is the panel on screen.
 * Core code: no `node:*` imports.
 */
import { predictionDepth } from '../applications/prediction-depth.js';
import { PredictionTrajectory } from '../trajectory/prediction-trajectory.js';
import type { GridMode, GridPayload, LayerDeltaPayload, TrajectoryResponse, ViewSettings } from './protocol.js';
import {
  DISTANCE_LABELS,
  buildPanels,
  gridLensName,
  gridToTrajectoryData,
  labelInputRow,
  longTokenLabel,
  shortTokenLabel,
  titleOf,
  viewOf,
  vocabLabels,
  type TargetColouring,
  type ViewPanel,
} from './view-model.js';

/** Labels for the mode menu. */
export const GRID_MODE_LABELS: Readonly<Record<GridMode, string>> = {
  lens: 'lens rows',
  depth: 'prediction depth',
  delta: 'layer differences',
  sublayer: 'sub-layer reads',
};

/** Whether a response already carries what a mode needs (else the page asks the server again). */
export function hasModeData(resp: TrajectoryResponse, mode: GridMode): boolean {
  if (mode === 'delta') return resp.layerDeltas !== undefined;
  if (mode === 'sublayer') return resp.sublayerGrids !== undefined || resp.sublayerUnavailable !== undefined;
  return true;
}

/** The model's final top-1 and the lens's top-1 per row, from a grid's top-k (row R − 1 is the output). */
function top1(grid: GridPayload, row: number, pos: number): number {
  return grid.topIds[(row * grid.positions + pos) * grid.topK]!;
}

/** The prediction depth at every position of a grid: `predictionDepth` over its rows' top-1 tokens. */
export function gridDepths(grid: GridPayload): number[] {
  const L = grid.rows - 1;
  return Array.from({ length: grid.positions }, (_, t) =>
    predictionDepth(
      Array.from({ length: L }, (_, r) => top1(grid, r, t)),
      top1(grid, L, t),
    ),
  );
}

/**
 * A grid with sub-layer rows between its rows: row ℓ, then "ℓ.attn" (the logit lens after block ℓ's
 * attention), …, then the output. Every per-cell array keeps its [row][position](…[k]) layout.
 */
export function interleaveSublayer(grid: GridPayload, mid: GridPayload): GridPayload {
  if (mid.rows !== grid.rows || mid.positions !== grid.positions || mid.topK !== grid.topK) {
    throw new Error(`sub-layer rows (${mid.rows} × ${mid.positions}, top-${mid.topK}) do not match the grid (${grid.rows} × ${grid.positions}, top-${grid.topK})`);
  }
  const L = grid.rows - 1;
  // Source of each interleaved row: [grid, row].
  const order: [GridPayload, number][] = [];
  for (let l = 0; l < L; l++) order.push([grid, l], [mid, l]);
  order.push([grid, L]);
  const T = grid.positions;
  const pick = <V>(field: (g: GridPayload) => V[], inner = 1): V[] => order.flatMap(([g, r]) => field(g).slice(r * T * inner, (r + 1) * T * inner));
  return {
    ...grid,
    rows: order.length,
    rowLabels: order.map(([g, r]) => g.rowLabels[r]!),
    entropy: pick((g) => g.entropy),
    crossEntropy: pick((g) => g.crossEntropy),
    forwardKl: pick((g) => g.forwardKl),
    maxProb: pick((g) => g.maxProb),
    rank: pick((g) => g.rank),
    topIds: pick((g) => g.topIds, grid.topK),
    topProbs: pick((g) => g.topProbs, grid.topK),
  };
}

const interleaved = new WeakMap<TrajectoryResponse, TrajectoryResponse>();

/**
 * The response as a mode shows it: in 'sublayer' mode (when the model has a mid-block residual) every grid
 * interleaved with its sub-layer rows, without the lens-difference panel (its rows are block outputs only).
 * Other modes draw from the response as it is.
 */
export function modeResponse(resp: TrajectoryResponse, mode: GridMode | undefined): TrajectoryResponse {
  if (mode !== 'sublayer' || !resp.sublayerGrids) return resp;
  // The page asks on every hover: build once per response (also keeps view-model's label cache warm).
  let shown = interleaved.get(resp);
  if (!shown) {
    const mids = resp.sublayerGrids;
    shown = { ...resp, lens: resp.lens === 'diff' ? 'compare' : resp.lens, grids: resp.grids.map((g, gi) => interleaveSublayer(g, mids[gi]!)), distance: null };
    interleaved.set(resp, shown);
  }
  return shown;
}

function gridParts(resp: TrajectoryResponse, grid: GridPayload): string[] {
  const twoPrompts = resp.grids.some((g) => g.prompt === 1);
  return twoPrompts ? [gridLensName(resp, grid), `prompt ${grid.prompt === 0 ? 'A' : 'B'}`] : [gridLensName(resp, grid)];
}

function depthPanel(resp: TrajectoryResponse, gi: number, view: ViewSettings): ViewPanel {
  const grid = resp.grids[gi]!;
  const L = grid.rows - 1;
  const depth = gridDepths(grid);
  const { traj, rows, cols } = viewOf(PredictionTrajectory.fromData(gridToTrajectoryData(grid), vocabLabels(resp)), view);
  const title = titleOf(resp, ...gridParts(resp, grid), 'prediction depth');
  // The top-1 labels and top-k tooltips of the lens rows stay; only the colours say "settled from here on".
  const data = traj.toHeatmap('max-prob', { title });
  data.values = rows.map((r) => cols.map((t) => (r >= depth[t]! ? depth[t]! : null)));
  data.statisticName = `Prediction depth (of ${L})`;
  data.units = '';
  data.colorScale = 'rdbu_r'; // blue = shallow, red (warm) = deep, as Fig. 11
  data.range = [0, L];
  data.logScale = false;
  data.columnTopLabels = cols.map((t) => String(depth[t]));
  const note = (row: number, pos: number): string | null => {
    const d = depth[pos];
    if (d === undefined) return null;
    const final = longTokenLabel(resp.pieces, top1(grid, L, pos));
    const from = d === L ? 'only the model output has it' : `from layer ${d} on, every lens row agrees`;
    const here = row >= d ? 'settled here' : `not yet settled at this row (its top-1: ${longTokenLabel(resp.pieces, top1(grid, row, pos))})`;
    return `Prediction depth ${d} of ${L} (${grid.label}): the model's final top-1 is ${final}; ${from}. This cell: ${here}.`;
  };
  return { key: `depth-${gi}`, title, data: labelInputRow(data, rows), rows, cols, grids: [gi], note };
}

function deltaPanel(resp: TrajectoryResponse, gi: number, delta: LayerDeltaPayload, view: ViewSettings): ViewPanel {
  const grid = resp.grids[gi]!;
  const T = grid.positions;
  const K = delta.topK;
  const meta = DISTANCE_LABELS[view.distance];
  const { traj, rows, cols } = viewOf(PredictionTrajectory.fromData(gridToTrajectoryData(grid), vocabLabels(resp)), view);
  const title = titleOf(resp, ...gridParts(resp, grid), `layer differences, ${meta.label}`);
  const data = traj.toHeatmap('entropy', { title });
  const values = delta[view.distance];
  data.values = rows.map((r) => cols.map((t) => values[r * T + t] ?? null));
  const risers = (r: number, t: number): { id: number; rise: number }[] =>
    r === 0 ? [] : Array.from({ length: K }, (_, k) => ({ id: delta.riseIds[(r * T + t) * K + k]!, rise: delta.rise[(r * T + t) * K + k] ?? NaN })).filter((x) => x.id >= 0);
  data.cellLabels = rows.map((r) => cols.map((t) => (r === 0 ? '' : shortTokenLabel(resp.pieces, risers(r, t)[0]?.id ?? -1))));
  data.hover = rows.map((r) => cols.map((t) => ({ tokens: risers(r, t).map((x) => shortTokenLabel(resp.pieces, x.id)), probs: risers(r, t).map((x) => x.rise) })));
  data.hoverValueKind = 'delta';
  data.statisticName = `${meta.short}(row | row below)`;
  data.units = view.distance === 'tv' ? 'probs' : 'nats';
  data.colorScale = 'blues';
  data.logScale = false;
  const finite = data.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  data.range = view.distance === 'tv' ? [0, 1] : [0, Math.max(1e-3, ...finite)];
  const note = (row: number, pos: number): string | null => {
    if (row === 0) return `Layer differences (${grid.label}): the input row has no row below it.`;
    const i = row * T + pos;
    const f = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
    const below = row === 1 ? 'input' : `layer ${grid.rowLabels[row - 1]}`;
    const here = row === grid.rows - 1 ? 'output' : `layer ${grid.rowLabels[row]}`;
    const rose = risers(row, pos).map((x) => `${longTokenLabel(resp.pieces, x.id)} ${x.rise >= 0 ? '+' : ''}${(x.rise * 100).toFixed(2)}%`).join(', ');
    return `From ${below} to ${here} (${grid.label}): KL ${f(delta.kl[i])} nats, JS ${f(delta.js[i])} nats, TV ${f(delta.tv[i])}. Rose most: ${rose}.`;
  };
  return { key: `delta-${gi}`, title, data: labelInputRow(data, rows), rows, cols, grids: [gi], note };
}

/**
 * The panels of a view in its grid mode (view.mode, default 'lens'), in page order: one per grid for the
 * depth and difference modes, the lens panels on the interleaved grids for sub-layer reads. A tracked
 * target colours the lens rows only; the other modes have colours of their own. A mode whose data the
 * response lacks (not yet computed, or no mid-block residual) shows the lens rows.
 */
export function buildViewPanels(resp: TrajectoryResponse, view: ViewSettings, target: TargetColouring | null = null): ViewPanel[] {
  const mode = view.mode ?? 'lens';
  if (mode === 'depth') return resp.grids.map((_, gi) => depthPanel(resp, gi, view));
  if (mode === 'delta' && resp.layerDeltas) return resp.grids.map((_, gi) => deltaPanel(resp, gi, resp.layerDeltas![gi]!, view));
  if (mode === 'sublayer' && resp.sublayerGrids) {
    const shown = modeResponse(resp, mode);
    const tuned = resp.grids.some((g) => g.lens === 'tuned');
    return buildPanels(shown, view, null).map((p) => {
      const grid = shown.grids[p.grids[0]!]!;
      const note = (row: number): string | null => {
        const label = grid.rowLabels[row] ?? '';
        const m = /^(\d+)\.attn$/.exec(label);
        if (!m) return null;
        const lens = grid.lens === 'tuned' ? ' (tuned-lens translators exist only for block outputs, so this row and its top-k are the logit lens)' : '';
        return `Row ${label}: the logit lens on the residual after block ${m[1]}'s attention, before its MLP${lens}.`;
      };
      if (!p.key.startsWith('grid-') || grid.lens !== 'tuned' || !tuned) return { ...p, note };
      // Translators exist only for block outputs: say on the figure which rows are which lens.
      const title = `${p.title} · .attn rows: logit lens`;
      return { ...p, title, data: { ...p.data, title }, note };
    });
  }
  return buildPanels(resp, view, target);
}

/** What the page should say about the mode (shown with the view's other notices), or null. */
export function gridModeNotice(resp: TrajectoryResponse, view: ViewSettings, targetTyped: boolean): string | null {
  const mode = view.mode ?? 'lens';
  const notes: string[] = [];
  if (mode === 'sublayer') {
    if (resp.sublayerUnavailable) notes.push(`${resp.sublayerUnavailable} Showing the lens rows.`);
    else if (resp.grids.some((g) => g.lens === 'tuned')) {
      notes.push('Sub-layer reads: tuned-lens translators exist only for block outputs, so the "ℓ.attn" rows (the residual after block ℓ\'s attention, before its MLP) use the logit lens; the other rows are the tuned lens.');
    } else notes.push('Sub-layer reads: row "ℓ.attn" is the logit lens on the residual after block ℓ\'s attention, before its MLP (between row ℓ, the block\'s input, and row ℓ + 1, its output).');
    if (resp.lens === 'diff' && resp.sublayerGrids) notes.push('The tuned-vs-logit difference covers block outputs only: both lenses are shown side by side instead.');
  }
  if (mode === 'depth') notes.push('Prediction depth: the first layer from which the lens\'s top-1 stays the model\'s final top-1 (number over each column; coloured cells are settled, red = deep).');
  if (mode === 'delta') notes.push('Layer differences: each cell compares a row with the row below it (distance menu); its label is the token whose probability rose most.');
  if (mode !== 'lens' && targetTyped) notes.push('Colouring by a target applies to the lens rows only (grid mode "lens rows").');
  return notes.length > 0 ? notes.join(' ') : null;
}
