/**
 * Builds the Apache ECharts option for the prediction-trajectory heatmap, following the reference
 * figure (`TrajectoryStatistic.figure`, spec §10.2): x = input tokens ("Input"), y = layers with
 * "output" on top ("Layer"), colour = the statistic with a colour bar titled "name (units)", the bold
 * top-1 token in every cell, and a dark monospace tooltip with the top-k tokens.
 *
 * The option is plain JSON (no functions) on purpose: the same object is rendered server-side to
 * SVG/PNG and inlined into the offline HTML file, where a function could not survive serialisation.
 * Hence per-cell colours, label colours and tooltip HTML are all precomputed here.
 *
 * Core code: no `node:*` imports (type-only import from echarts), so the browser viewer can reuse it.
 */
import type { EChartsOption } from 'echarts';

/** Fill of cells without a value (neutral grey, distinct from the light ends/middles of every scale). */
const BLANK_CELL = '#cfcfcf';
import { colorScaleStops, validateHeatmapData, type HeatmapData, type HoverEntry } from './heatmap-data.js';

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
const DEFAULT_FONT = "'DejaVu Sans', Verdana, 'Helvetica Neue', Arial, sans-serif";
const DEFAULT_MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
/** The reference's hover box colour (`hoverlabel.bgcolor = rgb(42, 42, 50)`). */
const TOOLTIP_BG = 'rgb(42,42,50)';
const AXIS_TEXT = '#2a3f5f'; // Plotly's default axis/title text colour, so figures look familiar.
const DARK_TEXT = '#111111';
const LIGHT_TEXT = '#ffffff';
const TITLE_FONT_SIZE = 17;
const COLORBAR_WIDTH = 16;
const COLORBAR_GAP = 20;

// ---------------------------------------------------------------------------------------------------
// Colour helpers

type Rgb = [number, number, number];

function parseHex(hex: string): Rgb {
  const h = hex.replace('#', '');
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

function toHex([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
}

/**
 * Colour at `t` ∈ [0, 1] along evenly spaced stops, interpolated linearly in RGB — the same rule
 * ECharts' continuous visualMap uses, so the text colour we pick matches the fill ECharts paints.
 */
export function interpolateColor(stops: readonly string[], t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = parseHex(stops[i]!);
  const b = parseHex(stops[i + 1]!);
  return toHex([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
}

/** WCAG relative luminance of an sRGB hex colour. */
function luminance(hex: string): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = parseHex(hex);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** White or near-black, whichever has the higher WCAG contrast ratio against `background`. */
export function contrastTextColor(background: string): string {
  const l = luminance(background);
  const withWhite = 1.05 / (l + 0.05);
  const withDark = (l + 0.05) / (luminance(DARK_TEXT) + 0.05);
  return withWhite >= withDark ? LIGHT_TEXT : DARK_TEXT;
}

// ---------------------------------------------------------------------------------------------------
// Text measurement. ECharts' server-side renderer has no canvas to measure text, and the layout
// (margins, cell width) must be known before rendering, so we estimate DejaVu Sans advance widths.

const NARROW = new Set([..."iljI.,:;'!|`()[]{}ft "]);
/** Zero-width characters (e.g. the U+200C the reference appends to de-duplicate labels). */
const ZERO_WIDTH = new Set(['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff']);
const WIDE = new Set([...'mwMW@%…']);

/** Approximate rendered width in px of `text` in DejaVu Sans (a wide font, so this errs large elsewhere). */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ZERO_WIDTH.has(ch)) continue;
    if (NARROW.has(ch)) em += 0.34;
    else if (WIDE.has(ch)) em += 0.95;
    else if (cp >= 0x1100) em += 1.0; // CJK and other full-width scripts
    else if (ch >= 'A' && ch <= 'Z') em += 0.7;
    else em += 0.62;
  }
  return em * fontSize * (bold ? 1.1 : 1);
}

// ---------------------------------------------------------------------------------------------------
// Value scale and colour-bar ticks

interface ColorScale {
  stops: string[];
  /** Data value → colour-space value (identity or log10); null where it cannot be coloured. */
  transform: (v: number | null) => number | null;
  /** Colour-space range. */
  lo: number;
  hi: number;
  ticks: { at: number; label: string }[];
}

const SUPERSCRIPT: Readonly<Record<string, string>> = {
  '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻',
};

/** "10³": the reference labels log-scale ticks `10^k`. */
function powerOfTen(k: number): string {
  return '10' + [...String(k)].map((c) => SUPERSCRIPT[c] ?? c).join('');
}

/** Evenly spaced "nice" ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) inside [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Small epsilon so floating-point error does not drop a tick that sits on the range ends.
  const eps = step * 1e-9;
  // Multiply rather than accumulate, so 0.1-steps do not drift to 0.30000000000000004.
  for (let k = Math.ceil((lo - eps) / step); k * step <= hi + eps; k++) out.push(k === 0 ? 0 : k * step);
  return out;
}

/** Short, trailing-zero-free label for a tick given the tick step (0.5, 1, 1.5 — as Plotly prints them). */
function formatTick(v: number, step: number): string {
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)) + (Math.abs(mantissa - 2.5) < 1e-9 ? 1 : 0);
  return String(Number(v.toFixed(Math.min(decimals, 10))));
}

function finiteValues(data: HeatmapData): number[] {
  const out: number[] = [];
  for (const row of data.values) for (const v of row) if (v !== null && Number.isFinite(v) && (!data.logScale || v > 0)) out.push(v);
  return out;
}

function buildColorScale(data: HeatmapData, barHeight: number, fontSize: number): ColorScale {
  const stops = colorScaleStops(data.colorScale ?? 'rdbu_r');
  const log = data.logScale === true;
  const transform = (v: number | null): number | null => {
    if (v === null || !Number.isFinite(v)) return null;
    if (!log) return v;
    return v > 0 ? Math.log10(v) : null;
  };
  let lo: number;
  let hi: number;
  if (data.range) {
    [lo, hi] = data.range;
  } else {
    // A loop, not Math.min(...vals): long prompts × many layers can exceed the argument-count limit.
    lo = Infinity;
    hi = -Infinity;
    for (const v of finiteValues(data)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) [lo, hi] = [0, 1]; // nothing finite: any range will do, every cell is blank
  }
  let tlo = transform(lo) ?? 0;
  let thi = transform(hi) ?? 1;
  // A constant statistic (e.g. all ranks 1) still needs a non-empty range to map colours.
  if (!(thi > tlo)) {
    const pad = tlo === 0 ? 1 : Math.abs(tlo) * 0.5;
    tlo -= log ? 0 : pad;
    thi += pad;
  }
  // Roughly one tick per 30 px of bar: enough to read values off, never crowded.
  const target = Math.max(3, Math.min(10, Math.floor(barHeight / Math.max(30, fontSize * 2.5))));
  let ticks: { at: number; label: string }[];
  const ints: number[] = [];
  if (log) for (let k = Math.ceil(tlo); k <= Math.floor(thi); k++) ints.push(k);
  if (log && ints.length >= 2) {
    // Thin out decades on tall ranges (rank over a 50k vocabulary spans ~5 decades: fine; 20 is not).
    const every = Math.ceil(ints.length / target);
    ticks = ints.filter((k) => k % every === 0).map((k) => ({ at: k, label: powerOfTen(k) }));
  } else {
    const t = niceTicks(tlo, thi, target);
    const step = t.length > 1 ? t[1]! - t[0]! : Math.abs(thi - tlo) || 1;
    ticks = t.map((v) => ({ at: v, label: log ? String(Number((10 ** v).toPrecision(2))) : formatTick(v, step) }));
  }
  return { stops, transform, lo: tlo, hi: thi, ticks };
}

// ---------------------------------------------------------------------------------------------------
// Text escaping

/** Escapes HTML, and also braces: ECharts treats `{b}`, `{c}`, `{@x}` in string formatters as templates. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"'{}]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Cell labels go through ECharts' string-formatter templating, which replaces `{a}`…`{e}`, `{a0}` and
 * `{@dim}`. A token such as "{c}" must print literally, so a zero-width space is slipped after the
 * brace — invisible, and it breaks the template match.
 */
function escapeLabelTemplate(s: string): string {
  return s.replace(/\{(?=[a-e]\d*\}|@)/g, '{\u200b');
}

/**
 * The cell text that fits in `width` px: the whole label, else its longest prefix (≥ 2 characters)
 * plus "…", else "" (hidden). Doing this ourselves, rather than ECharts' `overflow: 'truncate'`, avoids
 * cells that show nothing but "…", and uses our DejaVu-based widths, which match the PNG fonts.
 */
export function fitLabel(text: string, width: number, fontSize: number, bold = true): string {
  if (estimateTextWidth(text, fontSize, bold) <= width) return text;
  const cps = Array.from(text);
  for (let n = cps.length - 1; n >= 2; n--) {
    const candidate = cps.slice(0, n).join('') + '…';
    if (estimateTextWidth(candidate, fontSize, bold) <= width) return candidate;
  }
  return '';
}

/** Statistic value for the tooltip: integers as is (ranks), otherwise 4 significant digits. */
function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

function formatProb(p: number, kind: 'probability' | 'delta'): string {
  const pct = (p * 100).toFixed(2) + '%';
  return kind === 'delta' ? `Δ${p > 0 ? '+' : ''}${pct}` : pct;
}

function tooltipHtml(
  data: HeatmapData,
  row: number,
  col: number,
  value: number | null,
  hover: HoverEntry | undefined,
  mono: string,
): string {
  const rowLabel = data.rowLabels[row]!;
  const layer = /^\d+$/.test(rowLabel) ? `layer ${rowLabel}` : rowLabel;
  const units = data.units ? ` ${data.units}` : '';
  const valueText = value === null || !Number.isFinite(value) ? '—' : formatValue(value) + units;
  // Input tokens are shown with a position so repeated tokens ("the" … "the") can be told apart.
  const parts = [
    `<div style="font-family:${escapeHtml(mono)};font-size:12px;line-height:1.4">`,
    `<div style="font-weight:bold;white-space:pre">${escapeHtml(layer)} · #${col} ${escapeHtml(data.columnLabels[col]!)}</div>`,
    `<div style="white-space:pre">${escapeHtml(data.statisticName)}: ${escapeHtml(valueText)}</div>`,
  ];
  if (hover && hover.tokens.length > 0) {
    const kind = data.hoverValueKind ?? 'probability';
    parts.push('<table style="border-collapse:collapse;margin-top:4px">');
    hover.tokens.forEach((tok, i) => {
      parts.push(
        `<tr><td style="white-space:pre;padding:0 14px 0 0">${escapeHtml(tok)}</td>` +
          `<td style="text-align:right;padding:0">${escapeHtml(formatProb(hover.probs[i]!, kind))}</td></tr>`,
      );
    });
    parts.push('</table>');
  }
  parts.push('</div>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------
// Layout

export interface HeatmapLayout {
  width: number;
  height: number;
  /** The heatmap area (cells only) in px from the top-left corner. */
  grid: { left: number; top: number; width: number; height: number };
  cellWidth: number;
  cellHeight: number;
  /** Rotation of the bottom (and top) x-axis labels in degrees: 0, 45 or 90. */
  xLabelRotate: number;
  xNameGap: number;
  yNameGap: number;
  showCellLabels: boolean;
  cellFontSize: number;
  colorbar: { x: number; y: number; width: number; height: number; titleY: number };
}

/** Height in px that x-axis labels of width `w` take when rotated by `rot` degrees. */
function rotatedHeight(w: number, fontSize: number, rot: number): number {
  const r = (rot * Math.PI) / 180;
  return w * Math.sin(r) + fontSize * Math.cos(r);
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
  if (opts.width !== undefined) cellWidth = Math.max(1, (opts.width - leftMargin - rightMargin) / cols);
  else if (opts.maxWidth !== undefined && leftMargin + cellWidth * cols + rightMargin > opts.maxWidth) {
    cellWidth = Math.max(8, Math.floor((opts.maxWidth - leftMargin - rightMargin) / cols));
  }
  let xLabelRotate = pickRotation(cellWidth);
  // 45° labels hang to the left of their tick; keep the first one inside the figure.
  if (xLabelRotate === 45 && opts.width === undefined) {
    leftMargin = Math.max(leftMargin, Math.ceil(colLabelW * Math.SQRT1_2 - cellWidth / 2 + 8));
    // The wider margin may have pushed the figure past maxWidth again: give it back from the cells.
    if (opts.maxWidth !== undefined && leftMargin + cellWidth * cols + rightMargin > opts.maxWidth) {
      cellWidth = Math.max(8, Math.floor((opts.maxWidth - leftMargin - rightMargin) / cols));
      xLabelRotate = pickRotation(cellWidth);
    }
  }

  const xLabelH = rotatedHeight(colLabelW, fontSize, xLabelRotate);
  const xNameGap = Math.ceil(8 + xLabelH + 12);
  const bottomMargin = xNameGap + fontSize + 12;
  const titleBlock = data.title ? TITLE_FONT_SIZE + 24 : 8;
  const topLabelsH = data.columnTopLabels ? Math.ceil(8 + rotatedHeight(colLabelW, fontSize, xLabelRotate)) : 0;
  const cbTitleH = fontSize + 12;
  const topMargin = Math.ceil(titleBlock + Math.max(topLabelsH, cbTitleH));

  let cellHeight = cellHeight0;
  if (opts.height !== undefined) cellHeight = Math.max(1, (opts.height - topMargin - bottomMargin) / rows);

  const gridW = cellWidth * cols;
  const gridH = cellHeight * rows;
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
    xLabelRotate,
    xNameGap,
    yNameGap,
    showCellLabels,
    cellFontSize,
    colorbar: { x: cbX, y: topMargin, width: COLORBAR_WIDTH, height: gridH, titleY: topMargin - 8 },
  };
}

// ---------------------------------------------------------------------------------------------------
// The option

/**
 * The ECharts option (plain JSON) and the pixel size to render it at. Throws if the data's arrays do
 * not match its labels.
 */
export function buildHeatmapOption(data: HeatmapData, opts: HeatmapChartOptions = {}): HeatmapFigure {
  validateHeatmapData(data);
  const layout = computeHeatmapLayout(data, opts);
  const fontSize = opts.fontSize ?? 12;
  const font = opts.fontFamily ?? DEFAULT_FONT;
  const mono = opts.monoFontFamily ?? DEFAULT_MONO;
  const scale = buildColorScale(data, layout.colorbar.height, fontSize);
  const span = scale.hi - scale.lo;

  // One item per cell: [col, row, colour value clamped to the range]. Clamping here (rather than via
  // visualMap's out-of-range styling) reproduces Plotly's zmin/zmax behaviour: extremes saturate.
  const items: unknown[] = [];
  // Cells without a value (e.g. the last position has no next-token target) still show their top-1
  // token: it is what the row predicts there. They go in a second, grey series outside the colour map.
  const blankItems: unknown[] = [];
  for (let r = 0; r < data.rowLabels.length; r++) {
    for (let c = 0; c < data.columnLabels.length; c++) {
      const raw = data.values[r]![c]!;
      const tv = scale.transform(raw);
      const tooltip = { formatter: tooltipHtml(data, r, c, raw, data.hover?.[r]?.[c], mono) };
      if (tv === null) {
        // '-' is ECharts' "empty" value: no rectangle is drawn, the background shows through.
        items.push({ value: [c, r, '-'], tooltip, label: { show: false } });
        const text = layout.showCellLabels ? fitLabel(data.cellLabels[r]![c]!, layout.cellWidth - 4, layout.cellFontSize) : '';
        blankItems.push({ value: [c, r, 0], tooltip, label: text === '' ? { show: false } : { formatter: escapeLabelTemplate(text), color: contrastTextColor(BLANK_CELL) } });
        continue;
      }
      const clamped = Math.min(scale.hi, Math.max(scale.lo, tv));
      const fill = interpolateColor(scale.stops, (clamped - scale.lo) / span);
      const text = layout.showCellLabels ? fitLabel(data.cellLabels[r]![c]!, layout.cellWidth - 4, layout.cellFontSize) : '';
      items.push({
        value: [c, r, clamped],
        tooltip,
        label: text === '' ? { show: false } : { formatter: escapeLabelTemplate(text), color: contrastTextColor(fill) },
      });
    }
  }

  const axisLabel = {
    interval: 0, // every token must be shown; ECharts would otherwise skip labels it thinks overlap
    rotate: layout.xLabelRotate,
    color: AXIS_TEXT,
    fontSize,
    fontFamily: font,
    margin: 8,
  };
  const xAxes: Record<string, unknown>[] = [
    {
      type: 'category',
      data: data.columnLabels,
      name: 'Input',
      nameLocation: 'middle',
      nameGap: layout.xNameGap,
      nameTextStyle: { color: AXIS_TEXT, fontSize: fontSize + 1, fontFamily: font },
      axisTick: { show: false },
      axisLine: { show: false },
      splitArea: { show: false },
      axisLabel,
    },
  ];
  if (data.columnTopLabels) {
    xAxes.push({
      type: 'category',
      position: 'top',
      data: data.columnTopLabels,
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { ...axisLabel, rotate: layout.xLabelRotate === 0 ? 0 : -layout.xLabelRotate },
    });
  }

  const { colorbar: cb } = layout;
  const gradientStops = scale.stops.map((color, i) => ({ offset: i / (scale.stops.length - 1), color }));
  const tickElements = scale.ticks.flatMap(({ at, label }) => {
    const y = cb.y + cb.height * (1 - (at - scale.lo) / span);
    return [
      { type: 'line', silent: true, shape: { x1: cb.x + cb.width, y1: y, x2: cb.x + cb.width + 4, y2: y }, style: { stroke: '#444', lineWidth: 1 } },
      {
        type: 'text',
        silent: true,
        x: cb.x + cb.width + 7,
        y,
        style: { text: label, fill: AXIS_TEXT, font: `${fontSize}px ${font}`, textAlign: 'left', textVerticalAlign: 'middle' },
      },
    ];
  });
  const unitsPart = data.units ? ` (${data.units})` : '';

  const option = {
    // Rendering is static server-side and a figure should appear at once in the browser.
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: font },
    title: data.title
      ? { text: data.title, left: 'center', top: 10, textStyle: { fontSize: TITLE_FONT_SIZE, fontWeight: 'normal', color: AXIS_TEXT, fontFamily: font } }
      : undefined,
    grid: {
      left: layout.grid.left,
      top: layout.grid.top,
      width: layout.grid.width,
      height: layout.grid.height,
      // Our geometry is exact; do not let ECharts 6 shrink the grid to fit labels it measured roughly.
      outerBoundsMode: 'none',
      // Blank (null) cells show this neutral grey, distinct from the light ends/middles of every scale.
      show: true,
      backgroundColor: BLANK_CELL,
      borderWidth: 0,
    },
    tooltip: {
      trigger: 'item',
      confine: true,
      backgroundColor: TOOLTIP_BG,
      borderColor: TOOLTIP_BG,
      padding: [6, 10],
      textStyle: { color: '#f0f0f0', fontFamily: mono, fontSize: 12 },
    },
    xAxis: xAxes,
    yAxis: {
      type: 'category',
      data: data.rowLabels, // category 0 is drawn at the bottom, so "output" (last) lands on top
      name: 'Layer',
      nameLocation: 'middle',
      nameGap: layout.yNameGap,
      nameRotate: 90,
      nameTextStyle: { color: AXIS_TEXT, fontSize: fontSize + 1, fontFamily: font },
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { interval: 0, color: AXIS_TEXT, fontSize, fontFamily: font, margin: 8 },
    },
    // Heatmaps need a visualMap to be coloured; ours is hidden because the colour bar below has ticks,
    // which visualMap cannot draw. Same stops and range, so its fills match interpolateColor().
    visualMap: [
      {
        type: 'continuous',
        show: false,
        seriesIndex: 0,
        dimension: 2,
        min: scale.lo,
        max: scale.hi,
        inRange: { color: scale.stops },
      },
      // The blank-cell series is one flat grey.
      { type: 'continuous', show: false, seriesIndex: 1, dimension: 2, min: 0, max: 1, inRange: { color: [BLANK_CELL, BLANK_CELL] } },
    ],
    series: [
      {
        type: 'heatmap',
        xAxisIndex: 0,
        yAxisIndex: 0,
        data: items,
        progressive: 0, // draw every cell in one pass: SSR has no later frames
        label: {
          show: layout.showCellLabels,
          fontWeight: 'bold',
          fontSize: layout.cellFontSize,
          fontFamily: font,
          // Labels are pre-fitted by fitLabel(); this only catches a browser whose fallback font is wider.
          overflow: 'truncate',
          width: Math.max(1, layout.cellWidth - 4),
        },
        itemStyle: { borderColor: 'rgba(255,255,255,0.35)', borderWidth: 0.5 },
        emphasis: { itemStyle: { borderColor: '#222', borderWidth: 1.5 } },
      },
      {
        type: 'heatmap',
        xAxisIndex: 0,
        yAxisIndex: 0,
        data: blankItems,
        progressive: 0,
        label: { show: layout.showCellLabels, fontWeight: 'bold', fontSize: layout.cellFontSize, fontFamily: font, overflow: 'truncate', width: Math.max(1, layout.cellWidth - 4) },
        itemStyle: { color: BLANK_CELL, borderColor: 'rgba(255,255,255,0.35)', borderWidth: 0.5 },
        emphasis: { itemStyle: { borderColor: '#222', borderWidth: 1.5 } },
      },
    ],
    graphic: {
      elements: [
        {
          type: 'rect',
          silent: true,
          shape: { x: cb.x, y: cb.y, width: cb.width, height: cb.height },
          style: {
            // Bottom → top, low → high, like the cells.
            fill: { type: 'linear', x: 0, y: 1, x2: 0, y2: 0, colorStops: gradientStops },
            stroke: '#444',
            lineWidth: 0.5,
          },
        },
        ...tickElements,
        {
          type: 'text',
          silent: true,
          x: cb.x,
          y: cb.titleY,
          style: {
            text: `${data.statisticName}${unitsPart}`,
            fill: AXIS_TEXT,
            font: `${fontSize}px ${font}`,
            textAlign: 'left',
            textVerticalAlign: 'bottom',
          },
        },
      ],
    },
  };
  if (option.title === undefined) delete (option as { title?: unknown }).title;
  return { option: option as unknown as EChartsOption, width: layout.width, height: layout.height };
}
