/**
 * Draws the view's heatmap panels with ECharts from `buildHeatmapOption` — the same option the static
 * SVG/PNG/HTML figures use, so the page looks like them — and reports hovers and clicks as trajectory
 * cells (row, position), whatever stride and token range are shown.
 */
import { buildHeatmapOption } from '../../viz/heatmap-chart.js';
import type { ExportFormat } from '../protocol.js';
import type { SelectedCell } from '../url-state.js';
import type { ViewPanel } from '../view-model.js';
import { echartsLib, type ECharts } from './echarts.js';
import { alignGrids, arrangePanels } from './panel-layout.js';
import { themedOption } from './theme.js';

export interface PanelEvents {
  hover(panel: number, row: number, pos: number): void;
  click(panel: number, row: number, pos: number): void;
  export(panel: number, format: ExportFormat): void;
}

interface GridRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

interface Drawn {
  chart: ECharts;
  panel: ViewPanel;
  grid: GridRect;
  outline: HTMLElement;
}

export class HeatmapPanels {
  private drawn: Drawn[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly events: PanelEvents,
  ) {}

  dispose(): void {
    for (const d of this.drawn) d.chart.dispose();
    this.drawn = [];
    this.root.replaceChildren();
  }

  render(panels: ViewPanel[]): void {
    this.dispose();
    const ec = echartsLib();
    // Long prompts get narrower cells (and rotated labels) rather than a page-wide scroll.
    // clientWidth includes the container's padding; the panel's border (1px each side) also takes room.
    const style = getComputedStyle(this.root);
    const inner = this.root.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    const arrangement = arrangePanels(panels, inner);
    this.root.classList.toggle('side-by-side', arrangement.columns === 2);
    const holders: HTMLElement[] = [];
    panels.forEach((panel, index) => {
      const figure = buildHeatmapOption(panel.data, { maxWidth: arrangement.maxWidth, cellWidth: arrangement.cellWidth });
      const box = document.createElement('div');
      box.className = 'panel';
      box.dataset.panel = String(index);
      box.dataset.key = panel.key;

      const head = document.createElement('div');
      head.className = 'panel-head';
      const title = document.createElement('span');
      title.textContent = panel.title;
      const exports = document.createElement('span');
      exports.className = 'exports';
      exports.append('Export');
      for (const format of ['svg', 'png', 'html'] as const) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary';
        b.dataset.export = format;
        b.textContent = format.toUpperCase();
        b.title = `Download this panel as ${format.toUpperCase()}`;
        // Each panel's buttons get their own accessible name (a screen reader lists them all together).
        b.setAttribute('aria-label', `Export ${panel.title} as ${format.toUpperCase()}`);
        b.addEventListener('click', () => this.events.export(index, format));
        exports.append(b);
      }
      head.append(title, exports);

      const body = document.createElement('div');
      body.className = 'panel-body';
      const holder = document.createElement('div');
      holder.style.position = 'relative';
      holder.style.width = `${figure.width}px`;
      holder.style.height = `${figure.height}px`;
      const chartEl = document.createElement('div');
      chartEl.className = 'heatmap';
      chartEl.style.width = `${figure.width}px`;
      chartEl.style.height = `${figure.height}px`;
      const grid = (figure.option as { grid: GridRect }).grid;
      // The cell geometry, for tests and tools that need to point at a cell (row 0 is at the bottom).
      chartEl.dataset.layout = JSON.stringify({ ...pick(grid), rows: panel.data.rowLabels.length, cols: panel.data.columnLabels.length });
      // The selected cell's outline: a plain div over the chart, independent of ECharts' hover state.
      const outline = document.createElement('div');
      outline.className = 'cell-outline';
      Object.assign(outline.style, { position: 'absolute', border: '2px solid #111', boxShadow: '0 0 0 1px #fff', pointerEvents: 'none', display: 'none', zIndex: '5' });
      holder.append(chartEl, outline);
      body.append(holder);
      box.append(head, body);
      this.root.append(box);

      const chart = ec.init(chartEl, null, { renderer: 'svg', width: figure.width, height: figure.height });
      chart.setOption(themedOption(figure.option));
      const cellOf = (p: { value?: unknown }): [number, number] | null => {
        const v = p.value;
        if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'number') return null;
        return [panel.rows[v[1]]!, panel.cols[v[0]]!];
      };
      chart.on('mouseover', (p) => {
        const c = cellOf(p as { value?: unknown });
        if (c) this.events.hover(index, c[0], c[1]);
      });
      chart.on('click', (p) => {
        const c = cellOf(p as { value?: unknown });
        if (c) this.events.click(index, c[0], c[1]);
      });
      this.drawn.push({ chart, panel, grid: pick(grid), outline });
      holders.push(holder);
    });
    alignGrids(holders, this.drawn.map((d) => d.grid), arrangement.columns);
  }

  /** Outlines the selected cell (if it is visible in its panel at the current stride and range). */
  select(cell: SelectedCell | null): void {
    this.drawn.forEach((d, index) => {
      const r = cell && cell.panel === index ? d.panel.rows.indexOf(cell.row) : -1;
      const c = cell && cell.panel === index ? d.panel.cols.indexOf(cell.pos) : -1;
      if (r < 0 || c < 0) {
        d.outline.style.display = 'none';
        return;
      }
      const nr = d.panel.rows.length;
      const cw = d.grid.width / d.panel.cols.length;
      const ch = d.grid.height / nr;
      Object.assign(d.outline.style, {
        display: 'block',
        left: `${d.grid.left + c * cw - 1}px`,
        top: `${d.grid.top + (nr - 1 - r) * ch - 1}px`,
        width: `${cw + 2}px`,
        height: `${ch + 2}px`,
      });
    });
  }

  /** The panel's trajectory rows and positions, for the side panel. */
  panel(index: number): ViewPanel | undefined {
    return this.drawn[index]?.panel;
  }
}

function pick(g: GridRect): GridRect {
  return { left: g.left, top: g.top, width: g.width, height: g.height };
}
