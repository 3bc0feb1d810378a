/**
 * Figures of the weight analysis as ECharts options (rendered by src/viz): Table 3 as grouped bars
 * (source × lens/matrix), and Fig. 21-style per-layer box plots of the scores, real against random,
 * logit lens and tuned lens side by side.
 */
import type { EChartsOption } from 'echarts';
import { chartFrame, type HeatmapFigure } from '../viz/chart-style.js';
import { boxStats, TABLE_ROWS, type TableRow, type WeightAnalysis } from './analysis.js';
import { SOURCE_TITLES, type SourceName } from './sources.js';

/** A chart option with the pixel size it was laid out for (the figure type of every chart, src/viz). */
export type Figure = HeatmapFigure;

const ROW_LABELS: Record<TableRow, string> = {
  logit_real: 'Logit lens (real)',
  logit_random: 'Logit lens (random)',
  tuned_real: 'Tuned lens (real)',
  tuned_random: 'Tuned lens (random)',
};
const ROW_COLORS: Record<TableRow, string> = { logit_real: '#1f77b4', logit_random: '#aec7e8', tuned_real: '#d62728', tuned_random: '#ff9896' };

/** Table 3 as grouped bars: one group per source, one bar per row (lens × real/random). */
export function tableFigure(a: WeightAnalysis, title: string): Figure {
  const width = Math.max(700, 110 * a.sources.length + 160);
  const height = 420;
  const rows = TABLE_ROWS.filter((r) => a.sources.some((s) => a.rows[r][s] !== undefined));
  return {
    width,
    height,
    option: {
      ...chartFrame(title),
      legend: { top: 34, data: rows.map((r) => ROW_LABELS[r]) },
      grid: { left: 70, right: 20, top: 80, bottom: 90 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: a.sources.map((s) => SOURCE_TITLES[s]), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: 'value', name: 'mean interpretability score', nameLocation: 'middle', nameGap: 50 },
      series: rows.map((r) => ({
        name: ROW_LABELS[r],
        type: 'bar',
        itemStyle: { color: ROW_COLORS[r] },
        data: a.sources.map((s) => a.rows[r][s] ?? null),
      })),
    },
  };
}

/**
 * Fig. 21 for one source: per layer, box plots (min, quartiles, max) of the scores of real and random
 * vectors; left panel logit lens, right panel tuned lens (when present).
 */
export function layerDistributionFigure(a: WeightAnalysis, source: SourceName, title: string): Figure {
  const lenses = (['logit', 'tuned'] as const).filter((l) => a.perLayer[`${l}_real`][source]);
  const panelWidth = Math.max(360, 60 * a.layers.length + 120);
  const width = panelWidth * lenses.length + 40;
  const height = 440;
  const categories = a.layers.map(String);
  const grids = lenses.map((_, i) => ({ left: 60 + i * panelWidth, width: panelWidth - 90, top: 90, bottom: 60 }));
  const series: NonNullable<EChartsOption['series']> = [];
  lenses.forEach((lens, i) => {
    for (const matrix of ['real', 'random'] as const) {
      const row: TableRow = `${lens}_${matrix}`;
      const perLayer = a.perLayer[row][source] ?? [];
      series.push({
        name: matrix === 'real' ? 'real' : 'random',
        type: 'boxplot',
        xAxisIndex: i,
        yAxisIndex: i,
        itemStyle: { color: matrix === 'real' ? '#c6dbef' : '#f0f0f0', borderColor: matrix === 'real' ? '#1f77b4' : '#7f7f7f' },
        data: perLayer.map((xs) => {
          const b = boxStats(xs);
          return b ? [b.min, b.q1, b.median, b.q3, b.max] : [];
        }),
      });
    }
  });
  const frame = chartFrame(title);
  return {
    width,
    height,
    option: {
      ...frame,
      title: [
        frame.title as object,
        ...lenses.map((l, i) => ({ text: `${l === 'logit' ? 'logit lens' : 'tuned lens'}`, left: 60 + i * panelWidth + (panelWidth - 90) / 2, top: 60, textAlign: 'center' as const, textStyle: { fontSize: 13, fontWeight: 'normal' as const } })),
      ],
      legend: { top: 34, data: ['real', 'random'] },
      tooltip: { trigger: 'item' },
      grid: grids,
      xAxis: lenses.map((_, i) => ({ type: 'category' as const, gridIndex: i, data: categories, name: 'layer', nameLocation: 'middle' as const, nameGap: 28 })),
      yAxis: lenses.map((_, i) => ({ type: 'value' as const, gridIndex: i, name: i === 0 ? 'interpretability score' : '', nameLocation: 'middle' as const, nameGap: 42, scale: true })),
      series,
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A self-contained page to browse the decoded vectors: filter by lens, matrix, layer and source, sorted
 * by score. `records` are the vectors.jsonl lines (only the fields shown are kept).
 */
export function vectorBrowserHtml(title: string, records: readonly { lens: string; matrix: string; layer: number; source: string; head: number | null; index: number; sign: number; singular_value: number | null; tokens: string[]; score: number | null }[]): string {
  const rows = records.map((r) => [r.lens, r.matrix, r.layer, r.source, r.head, r.index, r.sign, r.singular_value === null ? null : Number(r.singular_value.toPrecision(4)), r.score === null ? null : Number(r.score.toFixed(4)), r.tokens]);
  const data = JSON.stringify(rows).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:16px}table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}td.t{font-family:'DejaVu Sans Mono',monospace;white-space:pre}select{margin-right:12px}</style>
</head><body><h2>${escapeHtml(title)}</h2>
<div>lens <select id="lens"></select> matrix <select id="matrix"></select> layer <select id="layer"></select> source <select id="source"></select> <span id="count"></span></div>
<table><thead><tr><th>layer</th><th>source</th><th>head</th><th>index</th><th>sign</th><th>σ</th><th>score</th><th>top tokens</th></tr></thead><tbody id="rows"></tbody></table>
<script type="application/json" id="data">${data}</script>
<script>
(function () {
  var rows = JSON.parse(document.getElementById('data').textContent);
  var cols = { lens: 0, matrix: 1, layer: 2, source: 3 };
  Object.keys(cols).forEach(function (k) {
    var sel = document.getElementById(k);
    var vals = Array.from(new Set(rows.map(function (r) { return r[cols[k]]; })));
    ['(all)'].concat(vals).forEach(function (v) { var o = document.createElement('option'); o.textContent = String(v); sel.appendChild(o); });
    if (k === 'matrix' && vals.indexOf('real') >= 0) sel.value = 'real';
    if (k === 'lens' && vals.indexOf('tuned') >= 0) sel.value = 'tuned';
    sel.onchange = draw;
  });
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function draw() {
    var f = {};
    Object.keys(cols).forEach(function (k) { f[k] = document.getElementById(k).value; });
    var shown = rows.filter(function (r) { return Object.keys(cols).every(function (k) { return f[k] === '(all)' || String(r[cols[k]]) === f[k]; }); });
    shown.sort(function (a, b) { return (b[8] === null ? -9 : b[8]) - (a[8] === null ? -9 : a[8]); });
    document.getElementById('count').textContent = shown.length + ' vectors' + (shown.length > 2000 ? ' (first 2000 shown)' : '');
    document.getElementById('rows').innerHTML = shown.slice(0, 2000).map(function (r) {
      return '<tr><td>' + r[2] + '</td><td>' + esc(r[3]) + '</td><td>' + (r[4] === null ? '' : r[4]) + '</td><td>' + r[5] + '</td><td>' + (r[6] > 0 ? '+' : '−') + '</td><td>' + (r[7] === null ? '' : r[7]) + '</td><td>' + (r[8] === null ? '' : r[8]) + '</td><td class="t">' + r[9].map(esc).join('  ') + '</td></tr>';
    }).join('');
  }
  draw();
})();
</script></body></html>
`;
}
