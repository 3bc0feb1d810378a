/**
 * The data contract between the trajectory computation and the figure renderers: plain arrays and
 * strings only (JSON-serialisable), so the same object can be rendered in Node (SVG/PNG/HTML) or shipped
 * to the browser viewer. It corresponds to the reference's `TrajectoryStatistic` + `TrajectoryLabels`
 * (spec §10.2) after formatting: every string here is already display-ready.
 *
 * Core code: no `node:*` imports.
 */

/**
 * Named colour scales. The names follow Plotly's (the reference passes `colorscale="rdbu_r"`), and the
 * colours are the ColorBrewer / matplotlib stops Plotly uses for those names. A `_r` suffix reverses.
 * `rdbu_r` (blue = low, red = high) is the reference default for every statistic.
 */
export type ColorScaleName = 'rdbu_r' | 'rdbu' | 'blues' | 'blues_r' | 'viridis' | 'viridis_r' | 'greens' | 'greens_r';

/** The top-k predictions of one cell, most probable first; both arrays have the same length. */
export interface HoverEntry {
  /** Formatted tokens (TokenFormatter output). */
  tokens: string[];
  /**
   * Probabilities in [0, 1] (shown as "12.34%"), or, when `HeatmapData.hoverValueKind` is 'delta',
   * probability differences in [-1, 1] (shown as "Δ-3.21%").
   */
  probs: number[];
}

export interface HeatmapData {
  /** Figure title, centred on top; omitted or "" for none. */
  title?: string;
  /** Statistic name as the reference spells it: "Entropy", "Cross Entropy", "Forward KL", "Rank", … */
  statisticName: string;
  /** Units shown in the colour-bar title "name (units)": "nats", "probs", or "" (then no parentheses). */
  units: string;
  /**
   * Layer labels, bottom → top: "0" … "L-1" then "output" (the model's own prediction, drawn on top as
   * in the reference). Length = number of rows. Strided trajectories simply list fewer labels.
   */
  rowLabels: string[];
  /** Formatted input tokens, left → right. Length = number of columns. Duplicates are fine. */
  columnLabels: string[];
  /**
   * Optional labels for a second x axis on top, one per column — e.g. the target (next) tokens, with
   * "*" marking where the model's top-1 was right, as in nostalgebraist's logit-lens plots.
   */
  columnTopLabels?: string[];
  /**
   * The statistic, `values[row][col]`, rows in the order of `rowLabels`. `null` (or a non-finite
   * number) leaves the cell blank, e.g. masked positions.
   */
  values: (number | null)[][];
  /**
   * Text printed (bold) in each cell, `[row][col]`: the formatted top-1 token, "*" where a batch
   * disagrees, the rank number for `rank(show_ranks=True)`, or "" for no text.
   */
  cellLabels: string[][];
  /**
   * Optional shorter cell text, `[row][col]`, printed where the full `cellLabels` entry does not fit the
   * cell (e.g. a comparison's "_She Δ+15.73%" becomes "_She"), before any truncation.
   */
  cellLabelsShort?: string[][];
  /** Optional top-k table per cell for the tooltip, `[row][col]`. Omitted → the tooltip shows the value only. */
  hover?: HoverEntry[][];
  /** How `hover[..].probs` are shown: 'probability' (default) or 'delta' (trajectory comparisons). */
  hoverValueKind?: 'probability' | 'delta';
  /** Colour scale; default 'rdbu_r'. */
  colorScale?: ColorScaleName;
  /**
   * Colour range [min, max] (the reference's zmin/zmax, from the statistic's `min`/`max`). Values outside
   * are clamped to the end colours. Omitted → the finite min/max of the data. Always in data units, also
   * with `logScale`.
   */
  range?: [number, number];
  /**
   * Colour by log10 of the value with "10ᵏ" colour-bar ticks (the reference's `log_scale=True`, used for
   * ranks). Non-positive values are left blank.
   */
  logScale?: boolean;
}

/** Colour stops, low → high, for each base scale name (reversed variants are derived). */
const BASE_SCALES: Readonly<Record<string, readonly string[]>> = {
  // ColorBrewer RdBu, as plotly.colors.diverging.RdBu (red = low); `rdbu_r` reverses it.
  rdbu: [
    '#67001f', '#b2182b', '#d6604d', '#f4a582', '#fddbc7', '#f7f7f7',
    '#d1e5f0', '#92c5de', '#4393c3', '#2166ac', '#053061',
  ],
  // ColorBrewer Blues (plotly.colors.sequential.Blues).
  blues: ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'],
  // ColorBrewer Greens (plotly.colors.sequential.Greens).
  greens: ['#f7fcf5', '#e5f5e0', '#c7e9c0', '#a1d99b', '#74c476', '#41ab5d', '#238b45', '#006d2c', '#00441b'],
  // matplotlib viridis (plotly.colors.sequential.Viridis).
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
};

/** The colour stops (hex, low → high, evenly spaced) of a named scale. */
export function colorScaleStops(name: ColorScaleName): string[] {
  const reversed = name.endsWith('_r');
  const base = BASE_SCALES[reversed ? name.slice(0, -2) : name];
  if (!base) throw new Error(`unknown colour scale "${name}"; known: ${Object.keys(BASE_SCALES).flatMap((n) => [n, `${n}_r`]).join(', ')}`);
  return reversed ? [...base].reverse() : [...base];
}

/**
 * Checks that every per-cell array matches `rowLabels` × `columnLabels`, so a shape bug upstream fails
 * here with a message naming the field, instead of as a silently misdrawn figure.
 */
export function validateHeatmapData(data: HeatmapData): void {
  const rows = data.rowLabels.length;
  const cols = data.columnLabels.length;
  if (rows === 0 || cols === 0) throw new Error(`HeatmapData: need at least one row and one column (got ${rows} × ${cols})`);
  const checkGrid = (field: string, grid: readonly (readonly unknown[])[]): void => {
    if (grid.length !== rows) throw new Error(`HeatmapData.${field}: ${grid.length} rows, but rowLabels has ${rows}`);
    grid.forEach((row, r) => {
      if (row.length !== cols) throw new Error(`HeatmapData.${field}[${r}]: ${row.length} columns, but columnLabels has ${cols}`);
    });
  };
  checkGrid('values', data.values);
  checkGrid('cellLabels', data.cellLabels);
  if (data.cellLabelsShort) checkGrid('cellLabelsShort', data.cellLabelsShort);
  if (data.hover) {
    checkGrid('hover', data.hover);
    data.hover.forEach((row, r) =>
      row.forEach((h, c) => {
        if (h.tokens.length !== h.probs.length) {
          throw new Error(`HeatmapData.hover[${r}][${c}]: ${h.tokens.length} tokens but ${h.probs.length} probabilities`);
        }
      }),
    );
  }
  if (data.columnTopLabels && data.columnTopLabels.length !== cols) {
    throw new Error(`HeatmapData.columnTopLabels: ${data.columnTopLabels.length} labels, but columnLabels has ${cols}`);
  }
  if (data.range) {
    const [lo, hi] = data.range;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) throw new Error(`HeatmapData.range: need finite min ≤ max, got [${lo}, ${hi}]`);
    if (data.logScale && lo <= 0) throw new Error(`HeatmapData.range: logScale needs a positive minimum, got ${lo}`);
  }
  if (data.colorScale) colorScaleStops(data.colorScale);
}
