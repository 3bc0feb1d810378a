/**
 * The heatmap's layout for long prompts and deep models as the page asks for it: with `minCellWidth`
 * the cells keep that width and the grid shows a window of columns moved by a slider (dataZoom), the
 * figure staying within `maxWidth`; rows shorter than their label text label every n-th layer. Checked
 * against the geometry computed by hand, and the rendered SVG's label positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHeatmapOption, computeHeatmapLayout } from '../../src/viz/heatmap-chart.js';
import type { HeatmapData } from '../../src/viz/heatmap-data.js';
import { indexLabelStep } from '../../src/viewer/client/token-axis.js';

function grid(rows: number, cols: number): HeatmapData {
  const rowLabels = [...Array.from({ length: rows - 1 }, (_, r) => String(r)), 'output'];
  return {
    statisticName: 'Entropy',
    units: 'nats',
    rowLabels,
    columnLabels: Array.from({ length: cols }, (_, c) => `_tok${c}`),
    values: rowLabels.map((_, r) => Array.from({ length: cols }, (_, c) => (r + c) % 5)),
    cellLabels: rowLabels.map(() => Array.from({ length: cols }, () => 'ab')),
  };
}

type Zoom = { type: string; startValue?: number; endValue?: number; zoomLock?: boolean };

test('98 columns in 900 px with a 24 px minimum: a window of 24 px cells and a slider, within the width', () => {
  const d = grid(6, 98);
  const l = computeHeatmapLayout(d, { maxWidth: 900, minCellWidth: 24 });
  assert.equal(l.cellWidth, 24);
  assert.ok(l.visibleColumns < 98 && l.visibleColumns > 10, `${l.visibleColumns} columns shown`);
  assert.equal(l.grid.width, 24 * l.visibleColumns);
  assert.ok(l.width <= 900, `figure ${l.width} px`);
  // One more column would not fit.
  assert.ok(l.width + 24 > 900);
  const option = buildHeatmapOption(d, { maxWidth: 900, minCellWidth: 24 }).option as { dataZoom?: Zoom[] };
  const slider = option.dataZoom?.find((z) => z.type === 'slider');
  assert.ok(slider, 'a slider moves the window');
  assert.deepEqual([slider.startValue, slider.endValue, slider.zoomLock], [0, l.visibleColumns - 1, true]);
  // Without the minimum (the static figures), all columns squeeze in and there is no slider.
  const squeezed = computeHeatmapLayout(d, { maxWidth: 900 });
  assert.equal(squeezed.visibleColumns, 98);
  assert.equal((buildHeatmapOption(d, { maxWidth: 900 }).option as { dataZoom?: Zoom[] }).dataZoom, undefined);
  // A prompt that fits is drawn whole, slider-free, even with the minimum.
  assert.equal(computeHeatmapLayout(grid(6, 12), { maxWidth: 900, minCellWidth: 24 }).visibleColumns, 12);
});

test('49 rows of 10 px: every second layer is labelled, 14 px apart or more; 28 px rows label every layer', () => {
  const deep = computeHeatmapLayout(grid(49, 8), { cellHeight: 10 });
  assert.equal(deep.yLabelInterval, 1);
  assert.ok((deep.yLabelInterval + 1) * deep.cellHeight >= 12 + 2);
  assert.equal((buildHeatmapOption(grid(49, 8), { cellHeight: 10 }).option as { yAxis: { axisLabel: { interval: number } } }).yAxis.axisLabel.interval, 1);
  assert.equal(computeHeatmapLayout(grid(49, 8), { cellHeight: 4 }).yLabelInterval, 3);
  assert.equal(computeHeatmapLayout(grid(6, 8)).yLabelInterval, 0);
});

test('position indices are spaced so their labels never touch', () => {
  assert.equal(indexLabelStep(24, 97), 1);
  assert.equal(indexLabelStep(10, 97), 2);
  assert.equal(indexLabelStep(8, 1999), 5);
  for (const [cw, max] of [[24, 97], [10, 97], [3, 500], [8, 1999]] as const) {
    const step = indexLabelStep(cw, max);
    assert.ok(step * cw >= String(max).length * 6.2 + 6, `step ${step} at ${cw} px`);
  }
});
