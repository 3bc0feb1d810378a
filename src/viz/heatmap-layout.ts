/**
 * The heatmap's geometry in pixels: cell size from the labels (the reference sizes its figure per token), the
 * margins for axes, title and colour bar, and label rotation for long prompts.
 */
import { COLORBAR_GAP, COLORBAR_WIDTH, TITLE_FONT_SIZE, WINDOW_SLIDER_HEIGHT, type HeatmapChartOptions } from './chart-style.js';
import { estimateTextWidth, wrapText } from './text-fit.js';
import type { HeatmapData } from './heatmap-data.js';


export interface HeatmapLayout {
  width: number;
  height: number;
  /** The heatmap area (cells only) in px from the top-left corner. */
  grid: { left: number; top: number; width: number; height: number };
  cellWidth: number;
  cellHeight: number;
  /**
   * Columns the grid shows at once: all of them, or (with `minCellWidth`) a window of this many that a
   * slider under the x axis moves.
   */
  visibleColumns: number;
  /** ECharts' axis-label interval for the layer axis: 0 labels every row, n labels every (n+1)-th when rows are too short for their text. */
  yLabelInterval: number;
  /** Rotation of the bottom (and top) x-axis labels in degrees: 0, 45 or 90. */
  xLabelRotate: number;
  xNameGap: number;
  yNameGap: number;
  showCellLabels: boolean;
  cellFontSize: number;
  colorbar: { x: number; y: number; width: number; height: number; titleY: number };
  /** The figure title (see `figureTitle`) broken into lines that fit the figure width. */
  titleLines: string[];
}

/** Height in px that x-axis labels of width `w` take when rotated by `rot` degrees. */
function rotatedHeight(w: number, fontSize: number, rot: number): number {
  const r = (rot * Math.PI) / 180;
  return w * Math.sin(r) + fontSize * Math.cos(r);
}

/** The title shown: the given one, naming the statistic when it does not already; else the statistic alone. */
export function figureTitle(data: HeatmapData): string {
  const stat = data.statisticName;
  const title = data.title?.trim() ?? '';
  if (title === '') return stat;
  return title.toLowerCase().includes(stat.toLowerCase()) ? title : `${stat} — ${title}`;
}

/**
 * Places everything from the grid outwards: cells first (the figure is sized from them, as the
 * reference sizes its figure from `token_width` per token), then axes, title and colour bar around them.
 */
export function computeHeatmapLayout(data: HeatmapData, opts: HeatmapChartOptions = {}): HeatmapLayout {
  const fontSize = opts.fontSize ?? 12;
  const rows = data.rowLabels.length;
  const cols = data.columnLabels.length;
  const maxWidth = (labels: readonly string[], bold = false): number =>
    labels.reduce((m, s) => Math.max(m, estimateTextWidth(s, fontSize, bold)), 0);

  const colLabelW = Math.max(maxWidth(data.columnLabels), data.columnTopLabels ? maxWidth(data.columnTopLabels) : 0);
  const cellLabelW = data.cellLabels.reduce((m, r) => Math.max(m, maxWidth(r, true)), 0);
  const rowLabelW = maxWidth(data.rowLabels);

  // Colour-bar column on the right: bar, tick labels, and its title above it (which may be wider).
  const unitsPart = data.units ? ` (${data.units})` : '';
  const cbTitle = `${data.statisticName}${unitsPart}`;
  const tickLabelW = 8 * fontSize * 0.62; // up to ~8 characters ("10⁵", "0.25", "-12.5")
  const rightMargin = COLORBAR_GAP + Math.max(COLORBAR_WIDTH + 10 + tickLabelW, estimateTextWidth(cbTitle, fontSize)) + 16;

  // Left: y labels ("output" is the widest usual one) plus the rotated "Layer" title.
  const yNameGap = Math.ceil(rowLabelW + 8 + 12);
  let leftMargin = yNameGap + fontSize + 14;

  // Cell size: from explicit figure size, else from the content.
  const defaultCellW = Math.min(96, Math.max(36, Math.ceil(Math.max(cellLabelW, colLabelW) + 14)));
  let cellWidth = opts.cellWidth ?? defaultCellW;
  const cellHeight0 = opts.cellHeight ?? 28;

  // x-label rotation depends on the cell width, which may depend on the width: decide with the estimate.
  const pickRotation = (cw: number): number => (colLabelW + 6 <= cw ? 0 : cw >= fontSize * 1.6 ? 45 : 90);
  const minCell = opts.width === undefined && opts.minCellWidth !== undefined ? Math.max(8, opts.minCellWidth) : 8;
  if (opts.width !== undefined) cellWidth = Math.max(1, (opts.width - leftMargin - rightMargin) / cols);
  else if (opts.maxWidth !== undefined && leftMargin + cellWidth * cols + rightMargin > opts.maxWidth) {
    cellWidth = Math.max(minCell, Math.floor((opts.maxWidth - leftMargin - rightMargin) / cols));
  }
  let xLabelRotate = pickRotation(cellWidth);
  // 45° labels hang to the left of their tick; keep the first one inside the figure.
  if (xLabelRotate === 45 && opts.width === undefined) {
    leftMargin = Math.max(leftMargin, Math.ceil(colLabelW * Math.SQRT1_2 - cellWidth / 2 + 8));
    // The wider margin may have pushed the figure past maxWidth again: give it back from the cells.
    if (opts.maxWidth !== undefined && leftMargin + cellWidth * cols + rightMargin > opts.maxWidth) {
      cellWidth = Math.max(minCell, Math.floor((opts.maxWidth - leftMargin - rightMargin) / cols));
      xLabelRotate = pickRotation(cellWidth);
    }
  }
  // Cells held at their minimum width: show the columns that fit, and a slider for the rest.
  let visibleColumns = cols;
  if (opts.width === undefined && opts.minCellWidth !== undefined && opts.maxWidth !== undefined) {
    const room = opts.maxWidth - leftMargin - rightMargin;
    if (cellWidth * cols > room) visibleColumns = Math.max(1, Math.floor(room / cellWidth));
  }

  const xLabelH = rotatedHeight(colLabelW, fontSize, xLabelRotate);
  const xNameGap = Math.ceil(8 + xLabelH + 12);
  const bottomMargin = xNameGap + fontSize + 12 + (visibleColumns < cols ? WINDOW_SLIDER_HEIGHT : 0);
  // The title wraps to the figure's width (a narrow figure would otherwise clip it on both sides).
  const widthForTitle = opts.width ?? Math.ceil(leftMargin + cellWidth * visibleColumns + rightMargin);
  const titleLines = wrapText(figureTitle(data), Math.max(40, widthForTitle - 20), TITLE_FONT_SIZE);
  const titleBlock = titleLines.length * (TITLE_FONT_SIZE + 5) + 19;
  const topLabelsH = data.columnTopLabels ? Math.ceil(8 + rotatedHeight(colLabelW, fontSize, xLabelRotate)) : 0;
  const cbTitleH = fontSize + 12;
  const topMargin = Math.ceil(titleBlock + Math.max(topLabelsH, cbTitleH));

  let cellHeight = cellHeight0;
  if (opts.height !== undefined) cellHeight = Math.max(1, (opts.height - topMargin - bottomMargin) / rows);

  const gridW = cellWidth * visibleColumns;
  const gridH = cellHeight * rows;
  // Rows shorter than their label text: label every n-th layer so the labels never overlap.
  const yLabelInterval = cellHeight >= fontSize + 2 ? 0 : Math.ceil((fontSize + 2) / cellHeight) - 1;
  const width = opts.width ?? Math.ceil(leftMargin + gridW + rightMargin);
  const height = opts.height ?? Math.ceil(topMargin + gridH + bottomMargin);
  if (width < 1 || height < 1) throw new Error(`heatmap figure size must be positive, got ${width} × ${height}`);

  // Cell text: shrink a little in short rows; hide when no character would fit legibly.
  const cellFontSize = Math.min(fontSize, Math.max(8, Math.floor(cellHeight - 8)));
  const showCellLabels = (opts.showCellLabels ?? true) && cellWidth >= cellFontSize * 1.6 && cellHeight >= cellFontSize + 2;

  const cbX = leftMargin + gridW + COLORBAR_GAP;
  return {
    width,
    height,
    grid: { left: leftMargin, top: topMargin, width: gridW, height: gridH },
    cellWidth,
    cellHeight,
    visibleColumns,
    yLabelInterval,
    xLabelRotate,
    xNameGap,
    yNameGap,
    showCellLabels,
    cellFontSize,
    colorbar: { x: cbX, y: topMargin, width: COLORBAR_WIDTH, height: gridH, titleY: topMargin - 8 },
    titleLines,
  };
}

