/**
 * How the heatmap panels share the page so a comparison reads across them: two lens panels ("logit
 * and tuned, side by side") really side by side when each still gets a useful width, else stacked;
 * every panel drawn with the same cell size; and the grids shifted so their cells line up — columns
 * of stacked panels, rows of side-by-side ones (titles and colour bars of different widths would
 * otherwise move them).
 */
import { computeHeatmapLayout } from '../../viz/heatmap-chart.js';
import type { ViewPanel } from '../view-model.js';

/** Narrowest panel, and cell, worth drawing side by side with another (else the pair is stacked). */
const MIN_SIDE_WIDTH = 400;
const MIN_SIDE_CELL = 12;
const GAP = 12;

export interface PanelArrangement {
  columns: 1 | 2;
  /** Width each figure may take. */
  maxWidth: number;
  /** The cell width all panels use (the narrowest any of them needs to fit). */
  cellWidth: number;
}

export function arrangePanels(panels: readonly ViewPanel[], innerWidth: number): PanelArrangement {
  const cellWidthAt = (maxWidth: number): number => Math.min(...panels.map((p) => computeHeatmapLayout(p.data, { maxWidth }).cellWidth));
  const pair = panels.length === 2 && panels.every((p) => p.key.startsWith('grid-'));
  const half = Math.floor((innerWidth - GAP) / 2);
  if (pair && half >= MIN_SIDE_WIDTH) {
    const cellWidth = cellWidthAt(half);
    if (cellWidth >= MIN_SIDE_CELL) return { columns: 2, maxWidth: half, cellWidth };
  }
  const maxWidth = Math.max(480, Math.floor(innerWidth));
  return { columns: 1, maxWidth, cellWidth: cellWidthAt(maxWidth) };
}

/**
 * Shifts each chart holder (already in the page) so the grids start at the same left (stacked) or top
 * (side by side) on the page — measured, so panel headers of different heights are accounted for.
 */
export function alignGrids(holders: readonly HTMLElement[], grids: readonly { left: number; top: number }[], columns: 1 | 2): void {
  const key = columns === 2 ? 'top' : 'left';
  const at = holders.map((h, i) => h.getBoundingClientRect()[key] + grids[i]![key]);
  const most = Math.max(...at);
  holders.forEach((h, i) => {
    const shift = `${Math.round(most - at[i]!)}px`;
    if (columns === 2) h.style.marginTop = shift;
    else h.style.marginLeft = shift;
  });
}
