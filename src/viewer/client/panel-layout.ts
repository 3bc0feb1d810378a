/**
 * How the heatmap panels share the page so a comparison reads across them: two lens panels ("logit
 * and tuned, side by side") really side by side when each still gets a useful width, else stacked; and
 * the grids shifted so their cells line up — columns of stacked panels, rows of side-by-side ones
 * (titles, headers and colour bars of different sizes would otherwise move them). Long prompts keep
 * legible cells either way: each panel shows a window of columns (token-axis.ts), moved together.
 */

/** Narrowest panel worth drawing side by side with another (else the pair is stacked). */
const MIN_SIDE_WIDTH = 400;
const GAP = 12;

export interface PanelArrangement {
  columns: 1 | 2;
  /** Width each figure may take. */
  maxWidth: number;
}

export function arrangePanels(panels: readonly { key: string }[], innerWidth: number): PanelArrangement {
  const pair = panels.length === 2 && panels.every((p) => p.key.startsWith('grid-'));
  const half = Math.floor((innerWidth - GAP) / 2);
  if (pair && half >= MIN_SIDE_WIDTH) return { columns: 2, maxWidth: half };
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
