/**
 * Node-side figure output: the trajectory heatmap as SVG (ECharts server-side rendering), PNG (that
 * SVG rasterised by resvg with the system fonts) or a self-contained interactive HTML page (the
 * ECharts browser bundle and the option inlined, so it works offline and from an e-mail attachment).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import type * as EChartsModule from 'echarts';
import type * as ResvgModule from '@resvg/resvg-js';
import type { FileSystem } from '../io/file-system.js';
import { nodeFileSystem } from '../node/file-system.js';
import { buildHeatmapOption, computeHeatmapLayout, type HeatmapChartOptions, type HeatmapFigure } from './heatmap-chart.js';
import type { HeatmapData } from './heatmap-data.js';
import { figureHtmlPage } from './figure-html.js';

export interface PngOptions {
  /** Widest PNG in px (before `scale`); a longer prompt is wrapped into strips stacked top to bottom. Default 4096. */
  maxPngWidth?: number;
  /** Pixel density: 2 gives a crisp image for slides/retina at twice the width and height. Default 1. */
  scale?: number;
  /** Extra font directories for resvg; system fonts (and DejaVu, if installed) are always loaded. */
  fontDirs?: string[];
}

export interface HtmlOptions {
  /** Page title; defaults to the figure title or "name — tuned lens". */
  pageTitle?: string;
}

export type RenderOptions = HeatmapChartOptions & PngOptions & HtmlOptions;

// ECharts and resvg load on first use, not when this module is imported: importing ECharts' ES modules
// costs about 1.2 s of CPU, which every CLI command paid at start because some commands import this
// file (measured: `tuned-lens --help` 1.46 s CPU before, see docs/benchmarks.md "Startup"). Their
// CommonJS entries (ECharts' one-file build: a third of the ES modules' load time) keep these functions synchronous.
const requireCjs = createRequire(import.meta.url);
let echartsModule: typeof EChartsModule | undefined;
let resvgModule: typeof ResvgModule | undefined;
const echartsLib = (): typeof EChartsModule => (echartsModule ??= requireCjs('echarts') as typeof EChartsModule);
const resvgLib = (): typeof ResvgModule => (resvgModule ??= requireCjs('@resvg/resvg-js') as typeof ResvgModule);

/** Where Debian/Ubuntu put DejaVu; passed explicitly in case fontconfig-style discovery misses it. */
const DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';

/** Renders an already built figure to an SVG string. Exposed so callers can tweak the option first. */
export function renderFigureSvg(figure: HeatmapFigure): string {
  // `null` container + ssr: ECharts renders into a virtual SVG tree, no DOM needed.
  const chart = echartsLib().init(null, null, { renderer: 'svg', ssr: true, width: figure.width, height: figure.height });
  try {
    chart.setOption(figure.option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The heatmap as an SVG document string, `width`×`height` as laid out (or as requested in `opts`). */
export function renderSvg(data: HeatmapData, opts: RenderOptions = {}): string {
  return renderFigureSvg(buildHeatmapOption(data, opts));
}

/** The heatmap as PNG bytes; wider than `maxPngWidth` → wrapped into strips of columns (see `wrapColumns`). */
export function renderPng(data: HeatmapData, opts: RenderOptions = {}): Uint8Array {
  const maxPng = opts.maxPngWidth ?? DEFAULT_MAX_PNG_WIDTH;
  const strips = wrapColumns(data, opts, maxPng);
  if (strips.length === 1) return svgToPng(renderSvg(data, opts), opts);
  const figures = strips.map((d) => buildHeatmapOption(d, { ...opts, maxWidth: Math.min(opts.maxWidth ?? Infinity, maxPng) }));
  const width = Math.max(...figures.map((f) => f.width));
  let y = 0;
  const parts = figures.map((f) => {
    // Each strip is a complete SVG document; nested <svg x y> elements place them one below the other.
    const inner = renderFigureSvg(f).replace(/^<\?xml[^>]*>\s*/, '').replace(/^<svg /, `<svg x="0" y="${y}" `);
    y += f.height;
    return inner;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">${parts.join('')}</svg>`;
  return svgToPng(svg, opts);
}

const DEFAULT_MAX_PNG_WIDTH = 4096;
/** Narrowest cell a wrapped strip may use (its labels are hidden below ~20 px), and the most strips before cells shrink. */
const MIN_STRIP_CELL = 8;
const MAX_STRIPS = 16;

/**
 * Splits a heatmap whose figure would be wider than `maxWidth` into strips of consecutive columns, each within
 * it: cells keep their natural width while at most MAX_STRIPS strips result, else they narrow (to MIN_STRIP_CELL).
 * Every strip keeps the whole colour range, so colours mean the same in all of them; titles say which tokens.
 */
export function wrapColumns(data: HeatmapData, opts: HeatmapChartOptions, maxWidth: number): HeatmapData[] {
  const full = computeHeatmapLayout(data, opts);
  if (opts.width !== undefined || full.width <= maxWidth) return [data];
  const cols = data.columnLabels.length;
  const margins = full.width - full.grid.width + 60; // room for wider rotated-label margins in a strip
  let cell = full.cellWidth;
  let perStrip = Math.max(1, Math.floor((maxWidth - margins) / cell));
  if (Math.ceil(cols / perStrip) > MAX_STRIPS) {
    cell = Math.max(MIN_STRIP_CELL, Math.floor(((maxWidth - margins) * MAX_STRIPS) / cols));
    perStrip = Math.max(1, Math.floor((maxWidth - margins) / cell));
  }
  const range = data.range ?? finiteRange(data);
  const strips: HeatmapData[] = [];
  for (let a = 0; a < cols; a += perStrip) {
    const b = Math.min(cols, a + perStrip);
    const slice = <T>(rows: readonly (readonly T[])[]): T[][] => rows.map((r) => r.slice(a, b));
    strips.push({
      ...data,
      title: `${data.title ? `${data.title} ` : ''}(tokens ${a}–${b - 1} of ${cols})`,
      columnLabels: data.columnLabels.slice(a, b),
      ...(data.columnTopLabels ? { columnTopLabels: data.columnTopLabels.slice(a, b) } : {}),
      values: slice(data.values),
      cellLabels: slice(data.cellLabels),
      ...(data.hover ? { hover: slice(data.hover) } : {}),
      ...(range ? { range } : {}),
    });
  }
  // Cells narrower than natural are applied by laying each strip out with maxWidth (see renderPng).
  return strips;
}

function finiteRange(data: HeatmapData): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of data.values) for (const v of row) if (v !== null && Number.isFinite(v) && (!data.logScale || v > 0)) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Rasterises an SVG string (e.g. from renderSvg) to PNG bytes with resvg. */
export function svgToPng(svg: string, opts: PngOptions = {}): Uint8Array {
  const scale = opts.scale ?? 1;
  if (!(scale > 0)) throw new Error(`renderPng: scale must be positive, got ${scale}`);
  const resvg = new (resvgLib().Resvg)(svg, {
    // Without a white background the PNG would be transparent where ECharts draws nothing.
    background: 'white',
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: true,
      fontDirs: [DEJAVU_DIR, ...(opts.fontDirs ?? [])],
      // Used when none of the CSS families in the SVG is installed, so text never silently vanishes.
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
      monospaceFamily: 'DejaVu Sans Mono',
    },
  });
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

let echartsBundle: string | undefined;

/** The minified ECharts browser bundle, read once from the installed package. */
function echartsBrowserBundle(): string {
  if (echartsBundle === undefined) {
    echartsBundle = readFileSync(requireCjs.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsBundle;
}

/**
 * A self-contained HTML page: no network access at all (no CDN script, no web fonts), so it opens
 * offline with working tooltips. About 1.1 MB, almost all of it the ECharts bundle.
 */
export function renderHtml(data: HeatmapData, opts: RenderOptions = {}): string {
  return renderFigureHtml(buildHeatmapOption(data, opts), opts.pageTitle ?? (data.title || `${data.statisticName} — tuned lens`));
}

/** The self-contained HTML page of any built figure (heatmaps, causal-analysis charts). */
export function renderFigureHtml(figure: HeatmapFigure, title: string): string {
  return figureHtmlPage(figure, title, echartsBrowserBundle());
}

/** Output formats `writeFigure` understands, by file extension. */
export const FIGURE_FORMATS = ['.svg', '.png', '.html'] as const;

/**
 * Writes the figure to `path`, choosing the format from the extension (.svg, .png, .html/.htm). The
 * write is atomic (temporary file + rename), so a viewer or a crash never leaves half a file behind.
 */
export async function writeFigure(path: string, data: HeatmapData, opts: RenderOptions = {}, fs: FileSystem = nodeFileSystem): Promise<void> {
  const title = opts.pageTitle ?? (data.title || `${data.statisticName} — tuned lens`);
  await writeBuiltFigure(path, () => buildHeatmapOption(data, opts), title, opts, fs);
}

/** `writeFigure` for any built figure (the figure is built only once the extension is known to be valid). */
export async function writeBuiltFigure(path: string, build: () => HeatmapFigure, title: string, opts: PngOptions = {}, fs: FileSystem = nodeFileSystem): Promise<void> {
  const ext = nodePath.extname(path).toLowerCase();
  let content: string | Uint8Array;
  switch (ext) {
    case '.svg':
      content = renderFigureSvg(build());
      break;
    case '.png':
      content = svgToPng(renderFigureSvg(build()), opts);
      break;
    case '.html':
    case '.htm':
      content = renderFigureHtml(build(), title);
      break;
    default:
      throw new Error(
        `writeFigure: cannot tell the figure format from "${path}" (extension "${ext || 'none'}"); use one of ${FIGURE_FORMATS.join(', ')}`,
      );
  }
  await fs.writeAtomic(path, content);
}
