/**
 * Node-side figure output: the trajectory heatmap as SVG (ECharts server-side rendering), PNG (that
 * SVG rasterised by resvg with the system fonts) or a self-contained interactive HTML page (the
 * ECharts browser bundle and the option inlined, so it works offline and from an e-mail attachment).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import * as echarts from 'echarts';
import { Resvg } from '@resvg/resvg-js';
import type { FileSystem } from '../io/file-system.js';
import { nodeFileSystem } from '../node/file-system.js';
import { buildHeatmapOption, type HeatmapChartOptions, type HeatmapFigure } from './heatmap-chart.js';
import type { HeatmapData } from './heatmap-data.js';

export interface PngOptions {
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

/** Where Debian/Ubuntu put DejaVu; passed explicitly in case fontconfig-style discovery misses it. */
const DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';

/** Renders an already built figure to an SVG string. Exposed so callers can tweak the option first. */
export function renderFigureSvg(figure: HeatmapFigure): string {
  // `null` container + ssr: ECharts renders into a virtual SVG tree, no DOM needed.
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: figure.width, height: figure.height });
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

/** The heatmap as PNG bytes. */
export function renderPng(data: HeatmapData, opts: RenderOptions = {}): Uint8Array {
  return svgToPng(renderSvg(data, opts), opts);
}

/** Rasterises an SVG string (e.g. from renderSvg) to PNG bytes with resvg. */
export function svgToPng(svg: string, opts: PngOptions = {}): Uint8Array {
  const scale = opts.scale ?? 1;
  if (!(scale > 0)) throw new Error(`renderPng: scale must be positive, got ${scale}`);
  const resvg = new Resvg(svg, {
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
    const require = createRequire(import.meta.url);
    echartsBundle = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsBundle;
}

/**
 * JSON that is safe inside an inline <script>: `<` is escaped so a token like "</script>" in the data
 * cannot close the element, and U+2028/2029 (valid JSON, but line breaks in older JS) are escaped too.
 */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtmlText(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
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
  // The bundle never contains "</script" today; guard anyway, since a future version might, and an
  // early close tag would silently break the page. "<\/" means the same inside JS strings and regexes.
  const bundle = echartsBrowserBundle().replace(/<\/script/gi, '<\\/script');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtmlText(title)}</title>`,
    '<style>html,body{margin:0;padding:0;background:#fff}#chart{margin:0}</style>',
    '</head>',
    '<body>',
    // Fixed pixel size: the layout (cell size, colour bar position) was computed for exactly this size.
    `<div id="chart" style="width:${figure.width}px;height:${figure.height}px"></div>`,
    `<script>${bundle}</script>`,
    `<script type="application/json" id="tuned-lens-option">${scriptSafeJson(figure.option)}</script>`,
    '<script>',
    '(function () {',
    "  var option = JSON.parse(document.getElementById('tuned-lens-option').textContent);",
    "  var chart = echarts.init(document.getElementById('chart'), null, { renderer: 'svg' });",
    '  chart.setOption(option);',
    '})();',
    '</script>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
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
