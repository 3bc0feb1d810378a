/**
 * What the causal basis panel shows for an ablation (protocol `AblationResponse`): the ablated trajectory's
 * grid, the distance D(original ‖ ablated) in every cell, per-row summaries, and the cells whose top-1
 * token changed. Runs in the browser; pure, so Node tests can check it.
 *
 * Core code: no `node:*` imports.
 */
import { PredictionTrajectory, strideKeepLast } from '../trajectory/prediction-trajectory.js';
import type { AblationResponse, BaseStatistic, DistanceStatistic, ViewSettings } from './protocol.js';
import { DISTANCE_LABELS, clampRange, gridToTrajectoryData, longTokenLabel, shortTokenLabel, type ViewPanel } from './view-model.js';

/** Vocabulary labels (sparse: only the ids the response names), as PredictionTrajectory wants them. */
function labelsOf(resp: AblationResponse): string[] {
  const labels = new Array<string>(resp.model.vocabSize);
  for (const id of Object.keys(resp.pieces)) labels[Number(id)] = shortTokenLabel(resp.pieces, Number(id));
  return labels;
}

function rowName(label: string): string {
  return label === '0' ? 'input' : label;
}

/** The two panels: the ablated trajectory (the page's statistic) and D(original ‖ ablated) (the page's distance). */
export function ablationPanels(resp: AblationResponse, view: ViewSettings): ViewPanel[] {
  const [, ablated] = resp.grids;
  const dist = resp.distance!;
  const labels = labelsOf(resp);
  const stride = Math.max(1, Math.floor(view.stride) || 1);
  const [a, b] = clampRange(ablated!.positions, view.from, view.to);
  const rows = strideKeepLast(ablated!.rows, stride);
  const cols = Array.from({ length: b - a }, (_, i) => a + i);
  const traj = PredictionTrajectory.fromData(gridToTrajectoryData(ablated!, dist.positions, dist), labels).stride(stride).slice(a, b);
  const what = `L${resp.ablation.layer} direction ${resp.ablation.direction} ablated`;
  const head = `${resp.model.name} · ${resp.lens} lens · ${what}`;
  const statistic: BaseStatistic = view.statistic;
  const meta = DISTANCE_LABELS[view.distance as DistanceStatistic];
  const grid = traj.toHeatmap(statistic, { title: `${head} · ${traj.statistic(statistic).name}` });
  const change = traj.toHeatmap(meta.statistic, { title: `${head} · change from the original` });
  change.statisticName = `${meta.short}(original | ablated)`;
  for (const data of [grid, change]) data.rowLabels = data.rowLabels.map(rowName);
  return [
    { key: 'ablated', title: grid.title ?? head, data: grid, rows, cols, grids: [1, 0] },
    { key: 'ablation-distance', title: change.title ?? head, data: change, rows, cols, grids: [1, 0] },
  ];
}

export interface RowChange {
  /** Trajectory row: lens layer, or the output (last row). */
  row: number;
  label: string;
  /** Mean and max of D(original ‖ ablated) over the positions. */
  meanKl: number;
  maxKl: number;
  /** Positions whose top-1 token changed. */
  changed: number;
}

export interface Top1Change {
  row: number;
  label: string;
  pos: number;
  before: string;
  after: string;
}

/** Per row: how much the ablation moved the prediction (KL) and how many top-1 tokens changed. */
export function ablationSummary(resp: AblationResponse): { rows: RowChange[]; changes: Top1Change[] } {
  const [orig, abl] = resp.grids as [AblationResponse['grids'][0], AblationResponse['grids'][0]];
  const kl = resp.distance!.kl;
  const T = orig.positions;
  const K = orig.topK;
  const rows: RowChange[] = [];
  const changes: Top1Change[] = [];
  for (let r = orig.rows - 1; r >= 0; r--) {
    const label = rowName(orig.rowLabels[r]!);
    let sum = 0;
    let n = 0;
    let max = 0;
    let changed = 0;
    for (let t = 0; t < T; t++) {
      const v = kl[r * T + t];
      if (v !== null && v !== undefined) {
        sum += v;
        n++;
        max = Math.max(max, v);
      }
      const before = orig.topIds[(r * T + t) * K]!;
      const after = abl.topIds[(r * T + t) * K]!;
      if (before !== after) {
        changed++;
        changes.push({ row: r, label, pos: t, before: longTokenLabel(resp.pieces, before), after: longTokenLabel(resp.pieces, after) });
      }
    }
    rows.push({ row: r, label, meanKl: n > 0 ? sum / n : NaN, maxKl: max, changed });
  }
  return { rows, changes };
}
