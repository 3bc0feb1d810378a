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
import { AXIS_TEXT, BLANK_CELL, DEFAULT_FONT, DEFAULT_MONO, TITLE_FONT_SIZE, TOOLTIP_BG, WINDOW_SLIDER_HEIGHT, type HeatmapChartOptions, type HeatmapFigure } from './chart-style.js';
import { buildColorScale } from './color-scale.js';
import { contrastTextColor, interpolateColor } from './colors.js';
import { validateHeatmapData, type HeatmapData } from './heatmap-data.js';
import { computeHeatmapLayout } from './heatmap-layout.js';
import { tooltipHtml } from './heatmap-tooltip.js';
import { escapeLabelTemplate, estimateTextWidth, fitLabel } from './text-fit.js';

export type { HeatmapChartOptions, HeatmapFigure } from './chart-style.js';
export { niceTicks } from './color-scale.js';
export { contrastTextColor, interpolateColor } from './colors.js';
export { computeHeatmapLayout, type HeatmapLayout } from './heatmap-layout.js';
export { estimateTextWidth, fitLabel } from './text-fit.js';


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

  // The cell's text fitted to its width: the full label, else the short one where given, else truncated.
  const cellText = (r: number, c: number): string => {
    if (!layout.showCellLabels) return '';
    const width = layout.cellWidth - 4;
    const full = data.cellLabels[r]![c]!;
    const short = data.cellLabelsShort?.[r]?.[c];
    const fits = estimateTextWidth(full, layout.cellFontSize, true) <= width;
    return fitLabel(fits || short === undefined ? full : short, width, layout.cellFontSize);
  };

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
        const text = cellText(r, c);
        blankItems.push({ value: [c, r, 0], tooltip, label: text === '' ? { show: false } : { formatter: escapeLabelTemplate(text), color: contrastTextColor(BLANK_CELL) } });
        continue;
      }
      const clamped = Math.min(scale.hi, Math.max(scale.lo, tv));
      const fill = interpolateColor(scale.stops, (clamped - scale.lo) / span);
      const text = cellText(r, c);
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
    // Always present and naming the statistic; wrapped to the figure width by the layout.
    title: {
      text: layout.titleLines.join('\n'),
      left: 'center',
      top: 10,
      textStyle: { fontSize: TITLE_FONT_SIZE, lineHeight: TITLE_FONT_SIZE + 5, fontWeight: 'normal', color: AXIS_TEXT, fontFamily: font },
    },
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
      // Every layer while rows are tall enough for their label, else every n-th (from the bottom).
      axisLabel: { interval: layout.yLabelInterval, color: AXIS_TEXT, fontSize, fontFamily: font, margin: 8 },
    },
    // A window of columns (see HeatmapChartOptions.minCellWidth): a slider under the axis moves it, and
    // shift + wheel over the grid does too. The window's size is locked so cells keep their width.
    ...(layout.visibleColumns < data.columnLabels.length
      ? {
          dataZoom: [
            {
              type: 'slider',
              xAxisIndex: xAxes.map((_, i) => i),
              filterMode: 'filter',
              startValue: 0,
              endValue: layout.visibleColumns - 1,
              zoomLock: true,
              brushSelect: false,
              showDetail: false,
              left: layout.grid.left,
              width: layout.grid.width,
              bottom: 8,
              height: WINDOW_SLIDER_HEIGHT - 12,
            },
            { type: 'inside', xAxisIndex: xAxes.map((_, i) => i), filterMode: 'filter', zoomLock: true, zoomOnMouseWheel: false, moveOnMouseMove: false, moveOnMouseWheel: 'shift' },
          ],
        }
      : {}),
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
        // Grey cells are explained under the colour bar, when there are any.
        ...(blankItems.length === 0
          ? []
          : [
              { type: 'rect', silent: true, shape: { x: cb.x, y: cb.y + cb.height + 10, width: cb.width, height: fontSize }, style: { fill: BLANK_CELL, stroke: '#444', lineWidth: 0.5 } },
              {
                type: 'text',
                silent: true,
                x: cb.x + cb.width + 7,
                y: cb.y + cb.height + 10 + fontSize / 2,
                style: { text: 'no value', fill: AXIS_TEXT, font: `${fontSize}px ${font}`, textAlign: 'left', textVerticalAlign: 'middle' },
              },
            ]),
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
  return { option: option as unknown as EChartsOption, width: layout.width, height: layout.height };
}
