/**
 * The look every figure shares: fonts, colours, fixed sizes, the option/figure types, and the frame of
 * the static charts (line charts, causal and weight figures). Core code: no `node:*` imports.
 */
import type { EChartsOption } from 'echarts';

/** Fill of cells without a value (neutral grey, distinct from the light ends/middles of every scale). */
export const BLANK_CELL = '#cfcfcf';

export interface HeatmapChartOptions {
  /** Total figure width in px. Omitted → derived from the grid (cell width × columns + margins). */
  width?: number;
  /** Total figure height in px. Omitted → derived from the grid (cell height × rows + margins). */
  height?: number;
  /** Cell width in px when `width` is not given. Default: fits the longest label, between 36 and 96. */
  cellWidth?: number;
  /**
   * Upper bound on the derived width (ignored when `width` is given): long prompts get narrower cells,
   * rotated x labels and shortened cell text instead of an ever wider figure. Default: none, like the
   * reference, whose figure grows by a fixed width per token.
   */
  maxWidth?: number;
  /**
   * With `maxWidth`: cells never get narrower than this. When the columns do not fit at this width, the
   * grid shows a window of as many columns as fit, with a slider (ECharts dataZoom) to move it — the
   * interactive page uses this so long prompts stay legible instead of shrinking to 8 px cells.
   */
  minCellWidth?: number;
  /** Cell height in px when `height` is not given. Default 28. */
  cellHeight?: number;
  /** Base font size in px for axis labels, cell text and colour bar. Default 12 (Plotly's). */
  fontSize?: number;
  /** CSS font-family list. Default prefers DejaVu Sans, which the PNG rasteriser is given. */
  fontFamily?: string;
  /** Monospace font-family list for the tooltip table. */
  monoFontFamily?: string;
  /** Print the top-1 token in each cell. Default true (hidden anyway when cells are too small to read). */
  showCellLabels?: boolean;
}

/** The option plus the pixel size it was laid out for; renderers must use exactly this size. */
export interface HeatmapFigure {
  option: EChartsOption;
  width: number;
  height: number;
}

// Single quotes inside: ECharts' SVG output puts font lists into double-quoted style attributes unescaped.
export const DEFAULT_FONT = "'DejaVu Sans', Verdana, 'Helvetica Neue', Arial, sans-serif";
export const DEFAULT_MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
/** The reference's hover box colour (`hoverlabel.bgcolor = rgb(42, 42, 50)`). */
export const TOOLTIP_BG = 'rgb(42,42,50)';
export const AXIS_TEXT = '#2a3f5f'; // Plotly's default axis/title text colour, so figures look familiar.
export const DARK_TEXT = '#111111';
export const LIGHT_TEXT = '#ffffff';
export const TITLE_FONT_SIZE = 17;
export const COLORBAR_WIDTH = 16;
export const COLORBAR_GAP = 20;
/** Height of the column-window slider under the x axis (see `minCellWidth`), including its gap. */
export const WINDOW_SLIDER_HEIGHT = 30;

/** Title size of the static charts (line charts, causal and weight figures). */
export const CHART_TITLE_SIZE = 15;

/**
 * What every static chart starts from: no animation (SSR renders one frame), a white page, the default
 * font, a centred title and an optional grey subtitle. Charts add their grid, axes and series.
 */
export function chartFrame(title: string, subtext?: string): EChartsOption {
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: DEFAULT_FONT },
    title: {
      text: title,
      left: 'center',
      top: 8,
      textStyle: { fontSize: CHART_TITLE_SIZE, fontFamily: DEFAULT_FONT },
      ...(subtext ? { subtext, subtextStyle: { fontSize: 11, color: '#555', fontFamily: DEFAULT_FONT } } : {}),
    },
  };
}
