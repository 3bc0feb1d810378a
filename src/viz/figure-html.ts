/**
 * The self-contained HTML page of a built figure: the ECharts browser bundle and the option inlined, so it
 * opens offline (no CDN script, no web fonts) with working tooltips. Portable: the caller brings the
 * bundle's text (render.ts reads it from the installed package; the static web build fetches the copy it
 * serves), so `tuned-lens plot … --out f.html` and the web viewer's HTML export write the same page.
 */
import type { HeatmapFigure } from './chart-style.js';

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

export function figureHtmlPage(figure: HeatmapFigure, title: string, echartsBundle: string): string {
  // The bundle never contains "</script" today; guard anyway, since a future version might, and an
  // early close tag would silently break the page. "<\/" means the same inside JS strings and regexes.
  const bundle = echartsBundle.replace(/<\/script/gi, '<\\/script');
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
