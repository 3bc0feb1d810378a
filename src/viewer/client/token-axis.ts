/**
 * The heatmap as the page draws it, for prompts of any length: cells keep a legible minimum width and
 * the grid shows a window of the columns that fit, moved by a slider (the layer axis and the colour bar
 * stay where they are); rows shrink for deep models and the layer axis then labels every n-th layer;
 * the top axis numbers the positions, so a token range is never typed blind. Panels of one view move
 * their windows together.
 */
import { buildHeatmapOption, type HeatmapFigure } from '../../viz/heatmap-chart.js';
import type { ViewPanel } from '../view-model.js';
import type { ECharts } from './echarts.js';

/** Narrowest cell the page draws: a 12 px label rotated by 45° or 90° still clears its neighbour. */
export const MIN_CELL_WIDTH = 24;
/** Row height bounds: the figure's usual 28 px, down to 10 px for deep models. */
const MAX_ROW_HEIGHT = 28;
const MIN_ROW_HEIGHT = 10;
const INDEX_FONT_SIZE = 10;

/** Which columns a panel shows: `count` consecutive display columns from `first`, of `total`. */
export interface ColumnWindow {
  first: number;
  count: number;
  total: number;
}

interface AxisOption {
  position?: string;
  [key: string]: unknown;
}

/** The smallest of 1, 2, 5, 10, 20, 50, … positions between index labels that keeps them apart. */
export function indexLabelStep(cellWidth: number, maxPosition: number): number {
  const labelWidth = String(maxPosition).length * INDEX_FONT_SIZE * 0.62 + 6;
  for (let decade = 1; ; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade * cellWidth >= labelWidth) return m * decade;
  }
}

/**
 * The figure of one panel for a container `maxWidth` px wide whose grid should stay within about
 * `maxGridHeight` px, showing columns from `first` (clamped so the window stays full), moved if need be
 * so that display column `showColumn` is shown.
 */
export function pageHeatmapFigure(panel: ViewPanel, maxWidth: number, maxGridHeight: number, first: number, showColumn?: number): { figure: HeatmapFigure; window: ColumnWindow } {
  const rows = panel.data.rowLabels.length;
  const cellHeight = Math.max(MIN_ROW_HEIGHT, Math.min(MAX_ROW_HEIGHT, Math.floor(maxGridHeight / rows)));
  const figure = buildHeatmapOption(panel.data, { maxWidth, minCellWidth: MIN_CELL_WIDTH, cellHeight });
  const option = figure.option as { grid: { width: number }; xAxis: AxisOption[]; dataZoom?: { startValue?: number; endValue?: number; xAxisIndex: number[] }[] };
  const total = panel.cols.length;
  const count = option.dataZoom ? option.dataZoom[0]!.endValue! + 1 : total;
  const cellWidth = option.grid.width / count;
  const clamped = Math.max(0, Math.min(total - count, Math.floor(first) || 0));
  const start = showColumn === undefined ? clamped : windowShowing({ first: clamped, count, total }, clamped, showColumn);

  // Position indices above the grid (in the gap the layout leaves for the colour bar's title), every
  // n-th where cells are narrow. A figure that already has a top axis keeps it and goes without.
  if (!option.xAxis.some((a) => a.position === 'top')) {
    const step = indexLabelStep(cellWidth, panel.cols[total - 1] ?? 0);
    option.xAxis.push({
      type: 'category',
      position: 'top',
      data: panel.cols.map(String),
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { interval: (_: number, value: string) => Number(value) % step === 0, color: '#5c6b7a', fontSize: INDEX_FONT_SIZE, margin: 4 },
    });
  }
  if (option.dataZoom) {
    for (const dz of option.dataZoom) dz.xAxisIndex = option.xAxis.map((_, i) => i);
    option.dataZoom[0]!.startValue = start;
    option.dataZoom[0]!.endValue = start + count - 1;
  }
  return { figure, window: { first: start, count, total } };
}

/** The first display column a chart's window shows now (after the user moved its slider). */
export function windowStart(chart: ECharts): number {
  const dz = (chart.getOption() as { dataZoom?: { startValue?: number }[] }).dataZoom?.[0];
  return typeof dz?.startValue === 'number' ? dz.startValue : 0;
}

/** Moves a chart's window to start at display column `first`, without echoing a datazoom event. */
export function moveWindow(chart: ECharts, w: ColumnWindow, first: number): void {
  const start = Math.max(0, Math.min(w.total - w.count, first));
  chart.dispatchAction({ type: 'dataZoom', dataZoomIndex: 0, startValue: start, endValue: start + w.count - 1 }, { silent: true });
}

/** A window start that shows display column `col`, keeping `current` when it already does. */
export function windowShowing(w: ColumnWindow, current: number, col: number): number {
  if (col < 0 || (col >= current && col < current + w.count)) return current;
  return Math.max(0, Math.min(w.total - w.count, col - Math.floor(w.count / 2)));
}
