/**
 * Figure fixes (issue 7 item 12): titles wrap instead of clipping and name the statistic, a colour bar that clips
 * says so, grey cells are explained, and long prompts wrap into strips so the PNG width stays capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHeatmapOption, computeHeatmapLayout, estimateTextWidth } from '../../src/viz/heatmap-chart.js';
import type { HeatmapData } from '../../src/viz/heatmap-data.js';
import { renderPng, wrapColumns } from '../../src/viz/render.js';

function grid(cols: number, value: (r: number, c: number) => number | null, extra: Partial<HeatmapData> = {}): HeatmapData {
  const rows = ['0', '1', 'output'];
  return {
    statisticName: 'Cross Entropy',
    units: 'nats',
    rowLabels: rows,
    columnLabels: Array.from({ length: cols }, (_, c) => `t${c}`),
    values: rows.map((_, r) => Array.from({ length: cols }, (_, c) => value(r, c))),
    cellLabels: rows.map(() => Array.from({ length: cols }, () => 'x')),
    ...extra,
  };
}

type Graphic = { type: string; style?: { text?: string } };
const texts = (data: HeatmapData): string[] =>
  ((buildHeatmapOption(data).option as { graphic: { elements: Graphic[] } }).graphic.elements).filter((e) => e.type === 'text').map((e) => e.style!.text!);

test('a long title on a narrow figure wraps into lines that fit, and names the statistic', () => {
  const d = grid(2, () => 1, { title: 'stories260K with the tuned lens trained on the TinyStories sample, prompt one' });
  const layout = computeHeatmapLayout(d);
  assert.ok(layout.titleLines.length > 1, `${layout.titleLines.length} lines`);
  for (const line of layout.titleLines) assert.ok(estimateTextWidth(line, 17) <= layout.width - 20, `"${line}" fits ${layout.width} px`);
  assert.match(layout.titleLines.join(' '), /^Cross Entropy — stories260K/);
  assert.equal((buildHeatmapOption(grid(3, () => 1)).option as { title: { text: string } }).title.text, 'Cross Entropy', 'untitled figures are titled by the statistic');
});

test('a colour bar whose range clips the data marks the clipped end', () => {
  const clipped = grid(4, (r, c) => (r === 0 && c === 0 ? 23 : 2), { range: [0, 6] });
  assert.ok(texts(clipped).includes('≥ 6'), texts(clipped).join(' | '));
  const within = grid(4, () => 2, { range: [0, 6] });
  assert.ok(!texts(within).some((t) => t.startsWith('≥') || t.startsWith('≤')));
  const low = grid(4, (r) => (r === 0 ? -1 : 2), { range: [0, 6] });
  assert.ok(texts(low).includes('≤ 0'), texts(low).join(' | '));
});

test('grey cells are explained under the colour bar only when there are some', () => {
  assert.ok(texts(grid(4, (_r, c) => (c === 3 ? null : 1))).includes('no value'));
  assert.ok(!texts(grid(4, () => 1)).includes('no value'));
});

test('a long prompt wraps into strips within the PNG width cap, with one colour range', () => {
  const d = grid(600, (r, c) => r + c / 600);
  const strips = wrapColumns(d, {}, 1200);
  assert.ok(strips.length > 1);
  assert.deepEqual(strips.flatMap((s) => s.columnLabels), d.columnLabels, 'every token, in order');
  assert.ok(strips.every((s) => s.range && s.range[0] === 0 && s.range[1] === 2 + 599 / 600));
  assert.match(strips[1]!.title!, /tokens \d+–\d+ of 600/);
  const png = renderPng(d, { maxPngWidth: 1200 });
  const width = new DataView(png.buffer, png.byteOffset + 16, 8).getUint32(0);
  const height = new DataView(png.buffer, png.byteOffset + 20, 4).getUint32(0);
  assert.ok(width <= 1200, `PNG width ${width}`);
  assert.ok(height > computeHeatmapLayout(strips[0]!).height, `strips are stacked: height ${height}`);
});
