/**
 * A plain line chart (ROC curves, accuracy per layer) as a JSON-only ECharts option, rendered like the
 * heatmaps: SVG by ECharts SSR, PNG by resvg (src/viz/render.ts). Core code: no Node imports.
 */
import type { EChartsOption } from 'echarts';
import { chartFrame, DEFAULT_FONT as FONT, type HeatmapFigure } from './chart-style.js';

export interface LineSeries {
  name: string;
  /** [x, y] points in drawing order. */
  points: [number, number][];
  dashed?: boolean;
  /** Draw steps (ROC curves) instead of straight segments between points. */
  step?: boolean;
  color?: string;
  /** Mark the points (default: only for short series drawn with straight segments). */
  symbols?: boolean;
}

export interface LineChartSpec {
  title: string;
  xName: string;
  yName: string;
  series: LineSeries[];
  xRange?: [number, number];
  yRange?: [number, number];
  /** Category labels for x = 0, 1, 2, … (e.g. layer names); numeric axis otherwise. */
  xLabels?: string[];
  width?: number;
  height?: number;
  /** Legend below the plot (default) or stacked inside its lower-right corner (where ROC curves leave room). */
  legend?: 'below' | 'inside-lower-right';
}

/** Colour-blind-safe palette (Okabe–Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

export function buildLineChart(spec: LineChartSpec): HeatmapFigure {
  const width = spec.width ?? 640;
  const height = spec.height ?? 480;
  const inside = spec.legend === 'inside-lower-right';
  const option: EChartsOption = {
    ...chartFrame(spec.title),
    legend: inside
      ? { orient: 'vertical', right: 40, bottom: 80, backgroundColor: 'rgba(255,255,255,0.9)', textStyle: { fontFamily: FONT } }
      : { bottom: 6, itemGap: 24, textStyle: { fontFamily: FONT } },
    grid: { left: 70, right: 30, top: 50, bottom: inside ? 60 : 90 },
    xAxis: spec.xLabels
      ? { type: 'category', data: spec.xLabels, boundaryGap: false, name: spec.xName, nameLocation: 'middle', nameGap: 28 }
      : {
          type: 'value',
          name: spec.xName,
          nameLocation: 'middle',
          nameGap: 28,
          ...(spec.xRange ? { min: spec.xRange[0], max: spec.xRange[1] } : { min: 'dataMin', max: 'dataMax' }),
        },
    yAxis: { type: 'value', name: spec.yName, nameLocation: 'middle', nameGap: 45, ...(spec.yRange ? { min: spec.yRange[0], max: spec.yRange[1] } : {}) },
    series: spec.series.map((s, i) => ({
      type: 'line',
      name: s.name,
      data: s.points,
      showSymbol: s.symbols ?? (!s.step && s.points.length <= 40),
      symbolSize: 6,
      ...(s.step ? { step: 'end' as const } : {}),
      lineStyle: { width: 2, type: s.dashed ? ('dashed' as const) : ('solid' as const), color: s.color ?? PALETTE[i % PALETTE.length] },
      itemStyle: { color: s.color ?? PALETTE[i % PALETTE.length] },
    })),
  };
  return { option, width, height };
}
