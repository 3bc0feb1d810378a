/**
 * Figures of the causal analyses (paper Fig. 19 and Fig. 20) as ECharts options, rendered like the
 * heatmaps (render.ts `writeBuiltFigure`: SVG, PNG, self-contained HTML).
 */
import type { EChartsOption } from 'echarts';
import { chartFrame, DEFAULT_FONT as FONT, type HeatmapFigure } from './chart-style.js';

const BLUE = '#2f6fb0';
const RED = '#c0392b';

export interface AlignmentBox {
  layer: number;
  p5: number;
  p25: number;
  median: number;
  p75: number;
  p95: number;
}

/** Fig. 19 left: per layer, a box (quartiles, median) with whiskers at the 5th and 95th percentiles, and the chance level. */
export function alignmentBoxPlot(boxes: readonly AlignmentBox[], randomP5: number, title: string): HeatmapFigure {
  const width = Math.max(520, 140 + 48 * boxes.length);
  const height = 440;
  const option: EChartsOption = {
    ...chartFrame(title, `box: quartiles and median · whiskers: 5th / 95th percentiles\ndashed: chance level (5th percentile of random cosines, ${randomP5.toExponential(1)})`),
    grid: { left: 90, right: 30, top: 90, bottom: 50 },
    tooltip: { trigger: 'item' },
    xAxis: { type: 'category', name: 'layer', nameLocation: 'middle', nameGap: 28, data: boxes.map((b) => String(b.layer)) },
    yAxis: { type: 'value', name: 'cos(update, ∂L/∂h)', nameLocation: 'middle', nameGap: 62, scale: true, axisLabel: { formatter: (v: number) => v.toPrecision(2) } as never },
    series: [
      {
        name: 'cos(update, gradient)',
        type: 'boxplot',
        itemStyle: { color: '#dce8f5', borderColor: BLUE },
        data: boxes.map((b) => [b.p5, b.p25, b.median, b.p75, b.p95]),
        markLine: {
          symbol: 'none',
          silent: true,
          // ECharts rounds marker values to `precision` decimals (default 2) when placing them.
          precision: 12,
          label: { show: false },
          data: [
            { yAxis: 0, lineStyle: { color: '#888', type: 'solid', width: 1 } },
            { yAxis: randomP5, lineStyle: { color: RED, type: 'dashed', width: 1.5 } },
          ],
        },
      },
    ],
  };
  return { option, width, height };
}

/** Fig. 19 right: next-token cross-entropy with each block replaced by the identity; the intact model dashed. */
export function deletionBars(ceWithout: readonly number[], baselineCe: number, title: string): HeatmapFigure {
  const width = Math.max(520, 140 + 48 * ceWithout.length);
  const height = 440;
  const option: EChartsOption = {
    ...chartFrame(title, `bars: the layer replaced by the identity · dashed: all layers intact (${baselineCe.toFixed(3)} nats)`),
    grid: { left: 80, right: 30, top: 75, bottom: 50 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', name: 'deleted layer', nameLocation: 'middle', nameGap: 28, data: ceWithout.map((_, i) => String(i)) },
    yAxis: { type: 'value', name: 'cross-entropy (nats)', nameLocation: 'middle', nameGap: 50, min: 0 },
    series: [
      {
        name: 'layer replaced by identity',
        type: 'bar',
        data: [...ceWithout],
        itemStyle: { color: BLUE },
        barMaxWidth: 36,
        markLine: { symbol: 'none', silent: true, precision: 12, label: { show: false }, data: [{ yAxis: baselineCe, lineStyle: { color: RED, type: 'dashed', width: 2 } }] },
      },
    ],
  };
  return { option, width, height };
}

/** Tick labels of a log axis: 0.01, 0.1, 1, 10, and 1e-4 style below 0.001 (no float noise like 0.00009999). */
function logTick(v: number): string {
  const e = Math.round(Math.log10(v));
  return e < -3 || e > 4 ? `1e${e}` : String(Number((10 ** e).toFixed(Math.max(0, -e))));
}

export interface FidelityPanel {
  layer: number;
  lensInfluence: readonly number[];
  modelInfluence: readonly number[];
  spearman: number | null;
}

/** Fig. 20: one log-log scatter per layer (x = influence on the lens, y = on the model), ρ in the top-left corner. */
export function fidelityScatter(panels: readonly FidelityPanel[], title: string): HeatmapFigure {
  const cols = Math.min(4, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const pw = 240;
  const ph = 210;
  const left0 = 70;
  const top0 = 60;
  const gapX = 70;
  const gapY = 70;
  const width = left0 + cols * pw + (cols - 1) * gapX + 30;
  const height = top0 + rows * ph + (rows - 1) * gapY + 60;
  const positive = (xs: readonly number[]): number[] => xs.filter((x) => x > 0);
  const grid: NonNullable<EChartsOption['grid']> = [];
  const xAxis: NonNullable<EChartsOption['xAxis']> = [];
  const yAxis: NonNullable<EChartsOption['yAxis']> = [];
  const series: NonNullable<EChartsOption['series']> = [];
  const frame = chartFrame(title);
  const titles: NonNullable<EChartsOption['title']> = [frame.title as object];
  panels.forEach((p, i) => {
    const c = i % cols;
    const r = Math.floor(i / cols);
    const left = left0 + c * (pw + gapX);
    const top = top0 + r * (ph + gapY);
    (grid as object[]).push({ left, top, width: pw, height: ph });
    const xs = positive(p.lensInfluence);
    const ys = positive(p.modelInfluence);
    const bounds = (v: number[]): { min: number; max: number } | object => (v.length ? { min: 10 ** Math.floor(Math.log10(Math.min(...v))), max: 10 ** Math.ceil(Math.log10(Math.max(...v))) } : {});
    (xAxis as object[]).push({ type: 'log', gridIndex: i, name: i + cols >= panels.length ? 'influence on lens (nats)' : '', nameLocation: 'middle', nameGap: 26, ...bounds(xs), axisLabel: { fontSize: 10, formatter: logTick } });
    (yAxis as object[]).push({ type: 'log', gridIndex: i, name: c === 0 ? 'influence on model (nats)' : '', nameLocation: 'middle', nameGap: 48, ...bounds(ys), axisLabel: { fontSize: 10, formatter: logTick } });
    const pts = p.lensInfluence.map((x, j) => [x, p.modelInfluence[j]!]).filter(([x, y]) => x! > 0 && y! > 0);
    (series as object[]).push({ type: 'scatter', xAxisIndex: i, yAxisIndex: i, data: pts, symbolSize: 6, itemStyle: { color: BLUE, opacity: 0.75 } });
    (titles as object[]).push(
      { text: `layer ${p.layer}`, left: left + pw / 2, top: top - 22, textAlign: 'center', textStyle: { fontSize: 13, fontWeight: 'normal', fontFamily: FONT } },
      { text: `ρ = ${p.spearman === null ? 'n/a' : p.spearman.toFixed(2)}`, left: left + 8, top: top + 6, textStyle: { fontSize: 13, fontWeight: 'bold', fontFamily: FONT } },
    );
  });
  const option: EChartsOption = { ...frame, title: titles, grid, xAxis, yAxis, series, tooltip: { trigger: 'item' } };
  return { option, width, height };
}
