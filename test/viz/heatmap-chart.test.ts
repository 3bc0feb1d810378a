import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildHeatmapOption,
  computeHeatmapLayout,
  contrastTextColor,
  fitLabel,
  interpolateColor,
  niceTicks,
} from '../../src/viz/heatmap-chart.js';
import { colorScaleStops, validateHeatmapData, type HeatmapData } from '../../src/viz/heatmap-data.js';
import { sampleTrajectory } from './sample-data.js';

/** The option is typed loosely by ECharts; tests poke at it as plain JSON. */
type Json = any;

function tiny(overrides: Partial<HeatmapData> = {}): HeatmapData {
  return {
    statisticName: 'Entropy',
    units: 'nats',
    rowLabels: ['0', '1', 'output'],
    columnLabels: ['The', '_cat', '_sat'],
    values: [
      [0, 5, 10],
      [2, null, 8],
      [10, 1, 0.5],
    ],
    cellLabels: [
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
      ['g', '', 'i'],
    ],
    ...overrides,
  };
}

test('colour scales: rdbu_r runs blue (low) → red (high), reversing ColorBrewer RdBu', () => {
  const stops = colorScaleStops('rdbu_r');
  assert.equal(stops[0], '#053061');
  assert.equal(stops[stops.length - 1], '#67001f');
  assert.deepEqual(colorScaleStops('rdbu'), [...stops].reverse());
  assert.throws(() => colorScaleStops('jet' as never), /unknown colour scale/);
});

test('interpolateColor hits the stops and blends between them', () => {
  const stops = ['#000000', '#ffffff'];
  assert.equal(interpolateColor(stops, 0), '#000000');
  assert.equal(interpolateColor(stops, 1), '#ffffff');
  assert.equal(interpolateColor(stops, 0.5), '#808080');
  assert.equal(interpolateColor(stops, 7), '#ffffff'); // clamped
});

test('contrastTextColor: white on dark cells, dark on light cells', () => {
  assert.equal(contrastTextColor('#053061'), '#ffffff');
  assert.equal(contrastTextColor('#67001f'), '#ffffff');
  assert.equal(contrastTextColor('#f7f7f7'), '#111111');
  assert.equal(contrastTextColor('#fddbc7'), '#111111');
});

test('niceTicks picks round steps inside the range', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.4, 8.9, 5), [2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
});

test('fitLabel keeps labels that fit, shortens with … or hides those that do not', () => {
  assert.equal(fitLabel('_the', 60, 12), '_the');
  const short = fitLabel('_follows', 40, 12);
  assert.ok(short.endsWith('…') && short.length < '_follows'.length, short);
  assert.equal(fitLabel('_follows', 10, 12), '');
});

test('validateHeatmapData names the mismatching field', () => {
  assert.throws(() => validateHeatmapData(tiny({ values: [[1, 2, 3]] })), /values: 1 rows, but rowLabels has 3/);
  assert.throws(() => validateHeatmapData(tiny({ cellLabels: [['a'], ['b'], ['c']] })), /cellLabels\[0\]: 1 columns/);
  assert.throws(
    () => validateHeatmapData(tiny({ hover: [[{ tokens: ['a'], probs: [] }, { tokens: [], probs: [] }, { tokens: [], probs: [] }], [], []] })),
    /hover\[0\]\[0\]: 1 tokens but 0 probabilities|hover\[1\]/,
  );
  assert.throws(() => validateHeatmapData(tiny({ range: [3, 1] })), /range/);
  assert.throws(() => validateHeatmapData(tiny({ columnTopLabels: ['x'] })), /columnTopLabels/);
  validateHeatmapData(sampleTrajectory());
});

test('the option is plain JSON (it is inlined into the HTML file as is)', () => {
  const { option } = buildHeatmapOption(sampleTrajectory());
  assert.deepEqual(JSON.parse(JSON.stringify(option)), option);
});

test('axes follow the reference: x = Input tokens, y = Layer with output on top', () => {
  const d = sampleTrajectory();
  const { option } = buildHeatmapOption(d) as { option: Json };
  assert.equal(option.xAxis[0].name, 'Input');
  assert.deepEqual(option.xAxis[0].data, d.columnLabels);
  assert.equal(option.xAxis[0].axisLabel.interval, 0, 'every token label must be drawn');
  assert.equal(option.yAxis.name, 'Layer');
  // ECharts draws category 0 at the bottom, so the last label ("output") is the top row.
  assert.deepEqual(option.yAxis.data, ['0', '1', '2', '3', '4', 'output']);
  assert.equal(option.title.text, `Entropy — ${d.title}`, 'the title names the statistic');
  assert.equal(option.title.left, 'center');
});

test('cells: clamped colour value, bold top-1 label with a contrasting colour, blank for null', () => {
  const { option } = buildHeatmapOption(tiny({ range: [1, 9] })) as { option: Json };
  const series = option.series[0];
  assert.equal(series.type, 'heatmap');
  assert.equal(series.label.fontWeight, 'bold');
  const items: Json[] = series.data;
  assert.equal(items.length, 9);
  const at = (r: number, c: number): Json => items.find((it) => it.value[0] === c && it.value[1] === r);
  assert.deepEqual(at(0, 0).value, [0, 0, 1], 'below range → clamped to min');
  assert.deepEqual(at(0, 2).value, [2, 0, 9], 'above range → clamped to max');
  assert.equal(at(1, 1).value[2], '-', 'null → empty cell');
  // …which still shows its top-1 token, in the grey second series.
  const blank = (option.series[1].data as Json[]).find((it) => it.value[0] === 1 && it.value[1] === 1);
  assert.ok(blank, 'the blank cell is drawn by the grey series');
  assert.equal(at(0, 1).label.formatter, 'b');
  assert.equal(at(2, 1).label.show, false, 'empty label → no text');
  // Min of rdbu_r is dark blue → white text; the middle is near-white → dark text.
  assert.equal(at(0, 0).label.color, '#ffffff');
  assert.equal(at(0, 1).label.color, '#111111');
  assert.equal(option.visualMap[0].min, 1);
  assert.equal(option.visualMap[0].max, 9);
  assert.equal(option.visualMap[0].inRange.color[0], '#053061');
});

test('range defaults to the data; a constant statistic still gets a usable range', () => {
  const { option } = buildHeatmapOption(tiny()) as { option: Json };
  assert.equal(option.visualMap[0].min, 0);
  assert.equal(option.visualMap[0].max, 10);
  const flat = buildHeatmapOption(tiny({ values: [[3, 3, 3], [3, 3, 3], [3, 3, 3]] })).option as Json;
  assert.ok(flat.visualMap[0].max > flat.visualMap[0].min);
});

test('colour bar is titled "name (units)" and has numeric ticks', () => {
  const { option } = buildHeatmapOption(tiny()) as { option: Json };
  const texts: string[] = option.graphic.elements.filter((e: Json) => e.type === 'text').map((e: Json) => e.style.text);
  assert.ok(texts.includes('Entropy (nats)'), texts.join('|'));
  assert.ok(texts.includes('0') && texts.includes('10'), texts.join('|'));
  const noUnits = buildHeatmapOption(tiny({ statisticName: 'Rank', units: '' })).option as Json;
  assert.ok(noUnits.graphic.elements.some((e: Json) => e.style?.text === 'Rank'));
});

test('log scale (ranks) colours by log10 and labels ticks 10ᵏ', () => {
  const d = tiny({ statisticName: 'Rank', units: '', logScale: true, range: [1, 50257], values: [[1, 10, 100], [1000, 5, 0], [50257, 2, 1]] });
  const { option } = buildHeatmapOption(d) as { option: Json };
  assert.equal(option.visualMap[0].min, 0);
  assert.ok(Math.abs(option.visualMap[0].max - Math.log10(50257)) < 1e-9);
  const texts: string[] = option.graphic.elements.filter((e: Json) => e.type === 'text').map((e: Json) => e.style.text);
  assert.ok(texts.includes('10⁰') && texts.includes('10⁴'), texts.join('|'));
  const item = option.series[0].data.find((it: Json) => it.value[0] === 2 && it.value[1] === 0);
  assert.equal(item.value[2], 2); // log10(100)
  const zero = option.series[0].data.find((it: Json) => it.value[0] === 2 && it.value[1] === 1);
  assert.equal(zero.value[2], '-', 'rank 0 cannot be shown on a log scale');
});

test('tooltip: dark box with the top-k tokens and probabilities, HTML-escaped', () => {
  const d = tiny({
    hover: [0, 1, 2].map(() =>
      [0, 1, 2].map(() => ({ tokens: ['_the', '<b>', '{c}'], probs: [0.5, 0.25, 0.001234] })),
    ),
  });
  const { option } = buildHeatmapOption(d) as { option: Json };
  assert.equal(option.tooltip.trigger, 'item');
  assert.equal(option.tooltip.backgroundColor, 'rgb(42,42,50)');
  const html: string = option.series[0].data[0].tooltip.formatter;
  assert.match(html, /_the/);
  assert.match(html, /50\.00%/);
  assert.match(html, /25\.00%/);
  assert.match(html, /0\.12%/);
  assert.match(html, /&#60;b&#62;/, 'tokens are HTML-escaped');
  assert.doesNotMatch(html, /\{c\}/, 'braces are escaped so ECharts does not treat them as a template');
  assert.match(html, /Entropy: 0 nats/);
  const delta = buildHeatmapOption({ ...d, hoverValueKind: 'delta' }).option as Json;
  assert.match(delta.series[0].data[0].tooltip.formatter, /Δ\+50\.00%/);
});

test('cell labels that look like ECharts templates print literally', () => {
  const { option } = buildHeatmapOption(tiny({ cellLabels: [['{c}', '{@x}', 'ok'], ['d', 'e', 'f'], ['g', 'h', 'i']] })) as { option: Json };
  const f0: string = option.series[0].data[0].label.formatter;
  assert.notEqual(f0, '{c}');
  assert.equal(f0.replace(/\u200b/g, ''), '{c}');
});

test('figure size follows the grid, like the reference (fixed width per token)', () => {
  const d = sampleTrajectory();
  const l = computeHeatmapLayout(d);
  assert.equal(l.grid.width, l.cellWidth * d.columnLabels.length);
  assert.equal(l.grid.height, l.cellHeight * d.rowLabels.length);
  assert.ok(l.width >= l.grid.left + l.grid.width + 60, 'room for the colour bar');
  assert.ok(l.height > l.grid.top + l.grid.height);
  assert.equal(l.xLabelRotate, 0, '7-character tokens fit horizontally by default');
  assert.ok(l.showCellLabels);
  // Twice the tokens → the grid is twice as wide, margins unchanged.
  const dd = { ...d, columnLabels: [...d.columnLabels, ...d.columnLabels], values: d.values.map((r) => [...r, ...r]), cellLabels: d.cellLabels.map((r) => [...r, ...r]) };
  const l2 = computeHeatmapLayout(dd);
  assert.equal(l2.width - l.width, l.grid.width);
});

test('explicit width/height are honoured exactly; narrow cells rotate labels and hide cell text', () => {
  const d = sampleTrajectory();
  const fig = buildHeatmapOption(d, { width: 800, height: 400 });
  assert.equal(fig.width, 800);
  assert.equal(fig.height, 400);
  const narrow = computeHeatmapLayout(d, { cellWidth: 30 });
  assert.equal(narrow.xLabelRotate, 45);
  const tinyCells = computeHeatmapLayout(d, { cellWidth: 12 });
  assert.equal(tinyCells.xLabelRotate, 90);
  assert.equal(tinyCells.showCellLabels, false);
  const capped = computeHeatmapLayout(d, { maxWidth: 600 });
  assert.ok(capped.width <= 600, String(capped.width));
});

test('optional top axis shows target tokens', () => {
  const d = tiny({ columnTopLabels: ['_cat*', '_sat', '<eos>'] });
  const { option } = buildHeatmapOption(d) as { option: Json };
  assert.equal(option.xAxis.length, 2);
  assert.equal(option.xAxis[1].position, 'top');
  assert.deepEqual(option.xAxis[1].data, ['_cat*', '_sat', '<eos>']);
});
