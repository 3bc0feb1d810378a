/**
 * Where a display cell of a drawn heatmap is, from the geometry heatmaps.ts publishes on each chart
 * (`data-layout`: the grid's rectangle and its rows × columns, display row 0 at the bottom), so overlays
 * (the keyboard focus ring, the matching-cell outlines) need nothing from the chart itself.
 */

export interface ChartLayout {
  left: number;
  top: number;
  width: number;
  height: number;
  rows: number;
  /** Columns shown: a window of `cols` display columns from `first` of `total` (long prompts scroll). */
  cols: number;
  first?: number;
  total?: number;
}

/** The chart element of panel `index` and its layout, if drawn. */
export function chartOf(root: ParentNode, index: number): { chart: HTMLElement; layout: ChartLayout } | null {
  const chart = root.querySelector<HTMLElement>(`.panel[data-panel="${index}"] .heatmap`);
  if (!chart?.dataset.layout) return null;
  return { chart, layout: JSON.parse(chart.dataset.layout) as ChartLayout };
}

/**
 * Places `box` (absolutely positioned in the chart's parent) over display cell (row from the bottom,
 * col of all the panel's columns); hides it and returns false where that column is outside the window.
 */
export function placeOverCell(box: HTMLElement, layout: ChartLayout, row: number, col: number, pad = 1): boolean {
  const c = col - (layout.first ?? 0);
  box.hidden = c < 0 || c >= layout.cols;
  if (box.hidden) return false;
  const cw = layout.width / layout.cols;
  const ch = layout.height / layout.rows;
  Object.assign(box.style, {
    left: `${layout.left + c * cw - pad}px`,
    top: `${layout.top + (layout.rows - 1 - row) * ch - pad}px`,
    width: `${cw + 2 * pad}px`,
    height: `${ch + 2 * pad}px`,
  });
  return true;
}

/** An overlay div of `className` in the chart's parent, created once per drawn chart. */
export function overlay(chart: HTMLElement, className: string): HTMLElement {
  const holder = chart.parentElement!;
  let box = holder.querySelector<HTMLElement>(`:scope > .${className}`);
  if (!box) {
    box = document.createElement('div');
    box.className = className;
    box.setAttribute('aria-hidden', 'true');
    holder.append(box);
  }
  return box;
}
