/**
 * Draws the view's heatmap panels with ECharts from `buildHeatmapOption` — the same option the static
 * SVG/PNG/HTML figures use, so the page looks like them — and reports hovers and clicks as trajectory
 * cells (row, position), whatever stride and token range are shown.
 */
import type { ExportFormat } from '../protocol.js';
import type { SelectedCell } from '../url-state.js';
import type { ViewPanel } from '../view-model.js';
import { echartsLib, type ECharts } from './echarts.js';
import { alignGrids, arrangePanels } from './panel-layout.js';
import { attachRangeBrush } from './range-brush.js';
import { themedOption } from './theme.js';
import { moveWindow, pageHeatmapFigure, windowShowing, windowStart, type ColumnWindow } from './token-axis.js';

export interface PanelEvents {
  hover(panel: number, row: number, pos: number): void;
  click(panel: number, row: number, pos: number): void;
  export(panel: number, format: ExportFormat): void;
  /** Display columns a..b (inclusive) of a panel were brushed on its token axis. */
  range?(panel: number, a: number, b: number): void;
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
  /** The columns shown now (long prompts show a window of them). */
  window: ColumnWindow;
}

export class HeatmapPanels {
  private drawn: Drawn[] = [];
  /** First display column of the panels' shared window, kept across redraws. */
  private first = 0;
  private selected: SelectedCell | null = null;
  /** A position to bring into the window at the next render (a restored kept cell). */
  private focus: number | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly events: PanelEvents,
  ) {}

  dispose(): void {
    for (const d of this.drawn) d.chart.dispose();
    this.drawn = [];
    this.root.replaceChildren();
  }

  /** Brings position `pos` into view at the next render (null: keep the window where it is). */
  focusPosition(pos: number | null): void {
    this.focus = pos;
  }

  render(panels: ViewPanel[]): void {
    this.dispose();
    const ec = echartsLib();
    // Long prompts keep legible cells and show a window of columns with a slider (token-axis.ts).
    // clientWidth includes the container's padding; the panel's border (1px each side) also takes room.
    const style = getComputedStyle(this.root);
    const inner = this.root.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    // Two lens panels side by side where they fit (panel-layout.ts).
    const arrangement = arrangePanels(panels, inner);
    this.root.classList.toggle('side-by-side', arrangement.columns === 2);
    const holders: HTMLElement[] = [];
    const maxWidth = arrangement.maxWidth;
    const maxGridHeight = Math.max(120, Math.floor(window.innerHeight * 0.45));
    const focus = this.focus;
    this.focus = null;
    panels.forEach((panel, index) => {
      const { figure, window: win } = pageHeatmapFigure(panel, maxWidth, maxGridHeight, this.first, focus === null ? undefined : panel.cols.indexOf(focus));
      if (index === 0) this.first = win.first;
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
      // cols: the columns shown, from display column `first` of `total`.
      chartEl.dataset.layout = layoutAttribute(grid, panel, win);
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
      holders.push(holder);
      const drawn: Drawn = { chart, panel, grid: pick(grid), outline, window: win };
      this.drawn.push(drawn);
      const xAxis = (figure.option as { xAxis: { nameGap?: number }[] }).xAxis[0]!;
      attachRangeBrush(holder, grid, Math.max(20, (xAxis.nameGap ?? 30) - 8), grid.width / win.count, { first: () => drawn.window.first, visible: win.count }, (a, b) => {
        this.first = 0;
        this.events.range?.(index, a, b);
      });
      // Moving one panel's window moves the others' (compare, two prompts), so columns stay aligned.
      chart.on('datazoom', () => {
        this.moveWindows(windowStart(chart), drawn);
        this.select(this.selected);
      });
    });
    alignGrids(holders, this.drawn.map((d) => d.grid), arrangement.columns);
  }

  /** Sets every panel's window to start at display column `first` (`moved` already shows it). */
  private moveWindows(first: number, moved: Drawn | null): void {
    this.first = first;
    for (const d of this.drawn) {
      if (d !== moved) moveWindow(d.chart, d.window, first);
      d.window = { ...d.window, first: Math.max(0, Math.min(d.window.total - d.window.count, first)) };
      d.chart.getDom().dataset.layout = layoutAttribute(d.grid, d.panel, d.window);
    }
  }

  /**
   * Outlines the selected cell (if it is in its panel at the current stride and range), moving the
   * panels' window to a newly chosen cell outside it (e.g. one chosen from the keyboard).
   */
  select(cell: SelectedCell | null): void {
    // Only a newly chosen cell moves the window: a redraw keeps the one the user scrolled to.
    const changed = JSON.stringify(cell) !== JSON.stringify(this.selected);
    this.selected = cell;
    const sel = cell ? this.drawn[cell.panel] : undefined;
    const col = sel && cell ? sel.panel.cols.indexOf(cell.pos) : -1;
    if (changed && sel && col >= 0) {
      const first = windowShowing(sel.window, sel.window.first, col);
      if (first !== sel.window.first) this.moveWindows(first, null);
    }
    this.drawn.forEach((d, index) => {
      const r = cell && cell.panel === index ? d.panel.rows.indexOf(cell.row) : -1;
      const c = (cell && cell.panel === index ? d.panel.cols.indexOf(cell.pos) : -1) - d.window.first;
      if (r < 0 || c < 0 || c >= d.window.count) {
        d.outline.style.display = 'none';
        return;
      }
      const nr = d.panel.rows.length;
      const cw = d.grid.width / d.window.count;
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

/** The cell geometry as tests and tools read it: grid box, rows, and the window of columns shown. */
function layoutAttribute(grid: GridRect, panel: ViewPanel, w: ColumnWindow): string {
  return JSON.stringify({ ...pick(grid), rows: panel.data.rowLabels.length, cols: w.count, first: w.first, total: w.total });
}

function pick(g: GridRect): GridRect {
  return { left: g.left, top: g.top, width: g.width, height: g.height };
}
