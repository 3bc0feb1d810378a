/**
 * Links the panels of a comparison: the cell shown in the side panel (hovered, or kept) is outlined,
 * dashed, at the same layer and position in every other panel — the same cell under the other lens, the
 * other prompt, or their difference.
 */
import type { SelectedCell } from '../url-state.js';
import type { ViewPanel } from '../view-model.js';
import { chartOf, overlay, placeOverCell } from './cell-geometry.js';

export function showMatchingCells(root: HTMLElement, panels: readonly ViewPanel[], cell: SelectedCell | null): void {
  panels.forEach((p, index) => {
    const drawn = chartOf(root, index);
    if (!drawn) return;
    const box = overlay(drawn.chart, 'match-outline');
    const i = cell && index !== cell.panel ? p.rows.indexOf(cell.row) : -1;
    const j = cell && index !== cell.panel ? p.cols.indexOf(cell.pos) : -1;
    if (i < 0 || j < 0) box.hidden = true;
    else placeOverCell(box, drawn.layout, i, j);
  });
}
