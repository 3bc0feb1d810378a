/**
 * How the heatmap panels share the page so a comparison reads across them: two lens panels ("logit
 * and tuned, side by side") really side by side when each half still shows every column at a legible
 * cell width, else stacked (a long prompt then shows more columns per window, token-axis.ts, and the
 * two windows move together); and the grids shifted so their cells line up — columns of stacked panels,
 * rows of side-by-side ones (titles, headers and colour bars of different sizes would otherwise move them).
 */
import { computeHeatmapLayout } from '../../viz/heatmap-chart.js';
import type { ViewPanel } from '../view-model.js';
import { MIN_CELL_WIDTH } from './token-axis.js';

const GAP = 12;

export interface PanelArrangement {
  columns: 1 | 2;
  /** Width each figure may take. */
  maxWidth: number;
}

export function arrangePanels(panels: readonly ViewPanel[], innerWidth: number): PanelArrangement {
  const pair = panels.length === 2 && panels.every((p) => p.key.startsWith('grid-'));
  const half = Math.floor((innerWidth - GAP) / 2);
  const fits = (p: ViewPanel): boolean => computeHeatmapLayout(p.data, { maxWidth: half, minCellWidth: MIN_CELL_WIDTH }).visibleColumns === p.data.columnLabels.length;
  if (pair && panels.every(fits)) return { columns: 2, maxWidth: half };
  return { columns: 1, maxWidth: Math.max(240, Math.floor(innerWidth)) };
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
