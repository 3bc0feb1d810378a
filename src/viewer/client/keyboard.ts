/**
 * The heatmaps without a mouse: Tab reaches each panel; the arrow keys move a focus ring from cell to
 * cell (↑ towards the output row, as drawn), Home/End jump to the first/last position, Page Up/Down
 * to the output row / the input row. The side panel (aria-live) follows the ring as it follows the
 * mouse. Enter keeps the cell (its top-k stays in the side panel, as a click does; the arrows then
 * move the kept cell), P or Space pins the cell's top token (in a difference panel, the token whose
 * probability changed most), Escape releases a kept cell (main.ts).
 */
import type { TrajectoryResponse } from '../protocol.js';
import type { SelectedCell } from '../url-state.js';
import { cellChanges, cellTopTokens, type ViewPanel } from '../view-model.js';
import { chartOf, overlay, placeOverCell } from './cell-geometry.js';

export interface KeyboardActions {
  /** Like hovering the cell. */
  focus(panel: number, row: number, pos: number): void;
  /** Like clicking it. */
  keep(panel: number, row: number, pos: number): void;
  pin(panel: number, row: number, pos: number): void;
  /** The kept cell, if any. */
  kept(): SelectedCell | null;
}

/** The token P / Space pins: the top-1 of the panel's first grid, or the most changed token of a difference. */
export function tokenToPin(resp: TrajectoryResponse, panel: ViewPanel, row: number, pos: number): number | null {
  if (panel.key === 'distance') return cellChanges(resp, row, pos)[0]?.id ?? null;
  return cellTopTokens(resp, panel.grids[0]!, row, pos)[0]?.id ?? null;
}

export class KeyboardCells {
  /** Display cell (row from the bottom, column) of the ring, per panel key, kept across redraws. */
  private readonly cursor = new Map<string, { i: number; j: number }>();

  constructor(
    private readonly root: HTMLElement,
    private readonly actions: KeyboardActions,
  ) {}

  /** Makes the panels just drawn focusable; call after every render. */
  attach(panels: readonly ViewPanel[]): void {
    panels.forEach((panel, index) => {
      const drawn = chartOf(this.root, index);
      const body = drawn?.chart.closest<HTMLElement>('.panel-body');
      if (!drawn || !body) return;
      body.tabIndex = 0;
      body.setAttribute('role', 'application');
      body.setAttribute('aria-roledescription', 'heatmap');
      body.setAttribute('aria-label', `${panel.title}. Arrow keys move between cells, Enter keeps a cell, P or Space pins its top token; the side panel reads the cell.`);
      const ring = overlay(drawn.chart, 'focus-ring');
      const at = this.cursor.get(panel.key);
      const clamp = (c: { i: number; j: number }): { i: number; j: number } => ({ i: Math.min(Math.max(0, c.i), panel.rows.length - 1), j: Math.min(Math.max(0, c.j), panel.cols.length - 1) });
      // The layout is read afresh: the window of columns may have moved (slider, or a kept cell).
      const place = (c: { i: number; j: number }): boolean => placeOverCell(ring, chartOf(this.root, index)?.layout ?? drawn.layout, c.i, c.j, 2);
      if (at) place(clamp(at));
      const start = (): { i: number; j: number } => {
        const kept = this.actions.kept();
        // A cell kept with the mouse is where the keys go on from.
        if (kept && kept.panel === index && panel.rows.includes(kept.row) && panel.cols.includes(kept.pos)) return { i: panel.rows.indexOf(kept.row), j: panel.cols.indexOf(kept.pos) };
        // The prompt's own next-token guess: the output row at the last position.
        return this.cursor.get(panel.key) ?? { i: panel.rows.length - 1, j: panel.cols.length - 1 };
      };
      const moveTo = (c: { i: number; j: number }, keep: boolean): void => {
        const next = clamp(c);
        this.cursor.set(panel.key, next);
        const row = panel.rows[next.i]!;
        const pos = panel.cols[next.j]!;
        body.dataset.cursor = `${row}.${pos}`;
        // A cell outside the window of columns is kept, which scrolls the window to it.
        const shown = place(next);
        if (keep || !shown || this.actions.kept()) this.actions.keep(index, row, pos);
        else this.actions.focus(index, row, pos);
        if (!shown) place(next);
      };
      // Focus from the keyboard (not a mouse click into the chart) puts the ring on a cell.
      body.addEventListener('focus', () => {
        if (body.matches(':focus-visible')) moveTo(start(), false);
      });
      body.addEventListener('keydown', (ev) => {
        if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
        const c = start();
        const steps: Record<string, { i: number; j: number }> = {
          ArrowUp: { i: c.i + 1, j: c.j },
          ArrowDown: { i: c.i - 1, j: c.j },
          ArrowLeft: { i: c.i, j: c.j - 1 },
          ArrowRight: { i: c.i, j: c.j + 1 },
          Home: { i: c.i, j: 0 },
          End: { i: c.i, j: panel.cols.length - 1 },
          PageUp: { i: panel.rows.length - 1, j: c.j },
          PageDown: { i: 0, j: c.j },
        };
        const step = steps[ev.key];
        if (step) moveTo(step, false);
        else if (ev.key === 'Enter') moveTo(c, true);
        else if (ev.key === 'p' || ev.key === 'P' || ev.key === ' ') this.actions.pin(index, panel.rows[c.i]!, panel.cols[c.j]!);
        else return;
        ev.preventDefault();
      });
    });
  }
}
