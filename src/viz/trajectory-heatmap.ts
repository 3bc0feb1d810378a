/**
 * From a prediction trajectory to the figure data of one statistic (`HeatmapData`): values, labels,
 * tooltips and the colour range. The trajectory computes and labels; this file decides how it is drawn.
 *
 * Core code: no `node:*` imports.
 */
import type { PredictionTrajectory, StatisticName, TrajectoryStatistic } from '../trajectory/prediction-trajectory.js';
import type { ColorScaleName, HeatmapData } from './heatmap-data.js';

export interface ToHeatmapOptions {
  /** Figure title; none by default. */
  title?: string;
  /** Default 'rdbu_r', the reference's colour scale for every statistic. */
  colorScale?: ColorScaleName;
  /** Colour by log10 of the value. Default: true for `rank` (as the reference plots ranks), else false. */
  logScale?: boolean;
  /** Tokens listed per tooltip (default: every top-k token the trajectory kept). */
  topK?: number;
}

/**
 * The figure data for one statistic. Colour range: the statistic's natural `min`/`max` where it has
 * them (entropy and cross entropy [0, ln V], probabilities [0, 1], rank [1, V] on a log scale), the
 * data otherwise; log-prob differences get a range symmetric around 0, so that with the diverging
 * `rdbu_r` scale white means "no preference" and red/blue the two tokens.
 */
export function trajectoryHeatmap(traj: PredictionTrajectory, statistic: StatisticName, opts: ToHeatmapOptions = {}): HeatmapData {
  const stat = traj.statistic(statistic);
  const logScale = opts.logScale ?? statistic === 'rank';
  const out: HeatmapData = {
    statisticName: stat.name,
    units: stat.units,
    rowLabels: stat.rowLabels,
    columnLabels: traj.columnLabels(),
    values: stat.values,
    cellLabels: [],
    colorScale: opts.colorScale ?? 'rdbu_r',
    logScale,
  };
  if (opts.title) out.title = opts.title;
  if (stat.includesOutput) {
    out.cellLabels = traj.cellLabels();
    out.hover = traj.hover(opts.topK ?? traj.data.topK);
  } else {
    // Delta rows sit between two rows: no single top-1 token belongs to them (the reference shows none).
    out.cellLabels = stat.values.map((row) => row.map(() => ''));
  }
  const range = colorRange(stat, statistic, logScale);
  if (range) out.range = range;
  return out;
}

/** The [min, max] colour range of a statistic (see trajectoryHeatmap); undefined lets the renderer use the data. */
function colorRange(stat: TrajectoryStatistic, name: StatisticName, logScale: boolean): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  let absMax = 0;
  for (const row of stat.values) {
    for (const v of row) {
      if (v === null || !Number.isFinite(v) || (logScale && v <= 0)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      absMax = Math.max(absMax, Math.abs(v));
    }
  }
  if (name === 'log-prob-diff' || name === 'log-prob-diff-delta') return absMax > 0 ? [-absMax, absMax] : undefined;
  if (lo > hi && (stat.min === undefined || stat.max === undefined)) return undefined; // nothing finite to go by
  let min = stat.min ?? lo;
  const max = stat.max ?? Math.max(hi, min);
  if (logScale && !(min > 0)) {
    // A log axis cannot start at 0: fall back to the smallest positive value.
    if (!(lo > 0 && lo <= max)) return undefined;
    min = lo;
  }
  return [min, max];
}
