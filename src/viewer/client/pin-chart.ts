/**
 * Pinned tokens: a chip per token (click × to remove) and a line chart of each token's probability
 * (top) and rank (bottom, log scale, rank 1 on top) across layers at the selected position. When the
 * view has two trajectories (side by side, difference, two prompts) each token gets a solid line for
 * the first and a dashed one for the second. The chips are the legend (same colours; a key under them
 * names the line styles), so the chart keeps its whole height for the lines. A token hovered in the
 * top-k list is previewed as a grey dotted line before it is pinned. The chart follows its box's size
 * (the side panel's split can be dragged).
 */
import type { PinResponse } from '../protocol.js';
import { echartsLib, type ECharts } from './echarts.js';

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** WCAG relative luminance of "#rrggbb". */
function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
}

/** Black or white, whichever reads better on `bg` (white on the yellow would be 1.3:1). */
function chipText(bg: string): string {
  const l = luminance(bg);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000' : '#fff';
}

export interface Pin {
  tokenId: number;
  label: string;
  data: PinResponse | null;
  error: string | null;
}

const formatProb = (v: unknown): string => (typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '—');
const formatRank = (v: unknown): string => (typeof v === 'number' ? `rank ${v}` : '—');

/** Colour of the previewed (hovered, not yet pinned) token's line. */
const PREVIEW_COLOR = '#6b6b6b';

export interface PinViewExtras {
  /** A token hovered in the top-k list, drawn as a preview line. */
  preview?: Pin | null;
  /** Whether a trajectory is on screen: the chart's box then stays (with a hint) even without pins. */
  active?: boolean;
  /** Says where the position comes from, e.g. "hovered". */
  positionNote?: string;
}

export class PinView {
  private chart: ECharts | null = null;

  constructor(
    private readonly chips: HTMLElement,
    private readonly chartEl: HTMLElement,
    private readonly onRemove: (tokenId: number) => void,
    private readonly key: HTMLElement | null = null,
  ) {
    new ResizeObserver(() => this.chart?.resize()).observe(chartEl);
  }

  render(pins: readonly Pin[], pos: number, positionLabel: string, rowLabels: readonly string[], extras: PinViewExtras = {}): void {
    this.chips.replaceChildren();
    if (pins.length === 0) {
      const none = document.createElement('span');
      none.className = 'muted';
      none.textContent = 'None yet.';
      this.chips.append(none);
    }
    pins.forEach((pin, i) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.dataset.tokenId = String(pin.tokenId);
      chip.style.background = COLORS[i % COLORS.length]!;
      chip.style.color = chipText(COLORS[i % COLORS.length]!);
      chip.append(pin.label + (pin.error ? ' (failed)' : pin.data ? '' : ' …'));
      if (pin.error) chip.title = pin.error;
      const x = document.createElement('button');
      x.type = 'button';
      x.textContent = '×';
      x.title = `Unpin ${pin.label}`;
      x.setAttribute('aria-label', `Unpin ${pin.label}`);
      x.addEventListener('click', () => this.onRemove(pin.tokenId));
      chip.append(x);
      this.chips.append(chip);
    });

    const preview = extras.preview?.data && !pins.some((p) => p.tokenId === extras.preview!.tokenId) ? extras.preview : null;
    const ready = pins.filter((p) => p.data);
    // The chart's box stays while a trajectory is shown, so hovering the list never moves it.
    this.chartEl.hidden = ready.length === 0 && !preview && !extras.active;
    const twoLines = [...ready, ...(preview ? [preview] : [])].find((p) => p.data!.series.length > 1);
    if (this.key) {
      const parts = twoLines ? [`solid: ${twoLines.data!.series[0]!.label}`, `dashed: ${twoLines.data!.series[1]!.label}`] : [];
      if (preview) parts.push(`grey dotted: ${preview.label} (hovered; click it to pin)`);
      this.key.hidden = parts.length === 0;
      this.key.textContent = parts.join(' · ');
    }
    if (ready.length === 0 && !preview) {
      this.chart?.dispose();
      this.chart = null;
      const hint = document.createElement('div');
      hint.className = 'pin-chart-empty';
      hint.textContent = 'Hover a token in the top-k list to preview its probability and rank across layers here; click it to pin it.';
      this.chartEl.replaceChildren(hint);
      return;
    }
    this.chartEl.querySelector('.pin-chart-empty')?.remove();
    const ec = echartsLib();
    if (!this.chart) this.chart = ec.init(this.chartEl, null, { renderer: 'svg' });
    else this.chart.resize();

    const series: Record<string, unknown>[] = [];
    const lines = pins.map((pin, i) => ({ pin, color: COLORS[i % COLORS.length]!, preview: false }));
    if (preview) lines.push({ pin: preview, color: PREVIEW_COLOR, preview: true });
    lines.forEach(({ pin, color, preview: isPreview }) => {
      if (!pin.data) return;
      const many = pin.data.series.length > 1;
      pin.data.series.forEach((s, si) => {
        const at = (a: (number | null)[]): (number | null)[] => Array.from({ length: s.rows }, (_, r) => (pos < s.positions ? (a[r * s.positions + pos] ?? null) : null));
        const name = `${isPreview ? 'preview ' : ''}${many ? `${pin.label} · ${s.label}` : pin.label}`;
        const line = { color, type: isPreview ? 'dotted' : si === 0 ? 'solid' : 'dashed', width: 2 };
        const common = { name, type: 'line', lineStyle: line, itemStyle: { color }, symbolSize: 6, connectNulls: false };
        series.push({ ...common, xAxisIndex: 0, yAxisIndex: 0, data: at(s.prob), tooltip: { valueFormatter: formatProb } });
        series.push({ ...common, xAxisIndex: 1, yAxisIndex: 1, data: at(s.rank), tooltip: { valueFormatter: formatRank } });
      });
    });
    const axisText = { color: '#2a3f5f', fontSize: 11 };
    this.chart.setOption(
      {
        animation: false,
        title: { text: `Position #${pos} ${JSON.stringify(positionLabel)}${extras.positionNote ? ` (${extras.positionNote})` : ''} across layers`, left: 'center', top: 0, textStyle: { fontSize: 12, fontWeight: 'normal', color: '#2a3f5f' } },
        // Confined: the side panel scrolls and would clip a tooltip that sticks out of the chart.
        tooltip: { trigger: 'axis', confine: true },
        // Two stacked charts sharing the box's height, whatever it is.
        grid: [
          { left: 62, right: 24, top: 26, bottom: '58%' },
          { left: 62, right: 24, top: '50%', bottom: 38 },
        ],
        xAxis: [
          { type: 'category', gridIndex: 0, data: [...rowLabels], axisLabel: { ...axisText, show: false }, boundaryGap: false },
          // Every layer named while they fit (ECharts would drop some, even with room); deep models: its own choice.
          { type: 'category', gridIndex: 1, data: [...rowLabels], axisLabel: { ...axisText, interval: rowLabels.length <= 8 ? 0 : 'auto' }, name: 'Layer', nameLocation: 'middle', nameGap: 24, nameTextStyle: axisText, boundaryGap: false },
        ],
        yAxis: [
          // Axis names run along the axes, so the charts keep their height for the lines.
          { type: 'value', gridIndex: 0, min: 0, max: 1, splitNumber: 2, name: 'probability', nameLocation: 'middle', nameRotate: 90, nameGap: 44, nameTextStyle: axisText, axisLabel: { ...axisText, formatter: (v: number) => `${Math.round(v * 100)}%` } },
          // Rank 1 on top: "up" means "closer to being predicted" on both charts.
          { type: 'log', gridIndex: 1, min: 1, inverse: true, name: 'rank', nameLocation: 'middle', nameRotate: 90, nameGap: 44, nameTextStyle: axisText, axisLabel: axisText },
        ],
        series,
      },
      { notMerge: true },
    );
  }

  dispose(): void {
    this.chart?.dispose();
    this.chart = null;
  }
}
