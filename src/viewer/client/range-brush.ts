/**
 * The token range, chosen without typing blind: drag along a panel's token axis to show only those
 * positions, and an inline message beside the "from"/"to" fields that says what is wrong with a typed
 * range (and what is shown instead) the moment it is typed.
 */
import { clampRange } from '../view-model.js';

export interface GridRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * A strip over the token axis's labels (below the grid) that selects display columns by dragging;
 * while dragging, the chosen columns are outlined over the grid. `firstColumn()` is the display column
 * at the grid's left edge now (the window may have moved), `onRange` gets inclusive display columns.
 */
export function attachRangeBrush(holder: HTMLElement, grid: GridRect, bandHeight: number, cellWidth: number, columns: { first(): number; visible: number }, onRange: (a: number, b: number) => void): HTMLElement {
  const band = document.createElement('div');
  band.className = 'range-brush';
  band.title = 'Drag along the tokens to show only those positions';
  Object.assign(band.style, { left: `${grid.left}px`, top: `${grid.top + grid.height}px`, width: `${grid.width}px`, height: `${bandHeight}px` });
  const shade = document.createElement('div');
  shade.className = 'range-brush-selection';
  Object.assign(shade.style, { top: `${grid.top}px`, height: `${grid.height + bandHeight}px`, display: 'none' });
  holder.append(band, shade);

  const colAt = (clientX: number): number => {
    const x = clientX - band.getBoundingClientRect().left;
    return Math.max(0, Math.min(columns.visible - 1, Math.floor(x / cellWidth)));
  };
  let start: { col: number; x: number } | null = null;
  const show = (a: number, b: number): void => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    Object.assign(shade.style, { display: 'block', left: `${grid.left + lo * cellWidth}px`, width: `${(hi - lo + 1) * cellWidth}px` });
  };
  band.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    band.setPointerCapture(ev.pointerId);
    start = { col: colAt(ev.clientX), x: ev.clientX };
    show(start.col, start.col);
  });
  band.addEventListener('pointermove', (ev) => {
    if (start) show(start.col, colAt(ev.clientX));
  });
  const finish = (ev: PointerEvent, apply: boolean): void => {
    if (!start) return;
    const s = start;
    start = null;
    shade.style.display = 'none';
    // A click without a drag selects nothing: it is too easy to do by accident.
    if (!apply || Math.abs(ev.clientX - s.x) < 4) return;
    const end = colAt(ev.clientX);
    const first = columns.first();
    onRange(first + Math.min(s.col, end), first + Math.max(s.col, end));
  };
  band.addEventListener('pointerup', (ev) => finish(ev, true));
  band.addEventListener('pointercancel', (ev) => finish(ev, false));
  return band;
}

/** What is wrong with a token range for a prompt of `positions` tokens, or null when it fits. */
export function rangeProblem(positions: number, from: number, to: number | null): string | null {
  const last = positions - 1;
  if (from > last) return `"from" is ${from}, but the prompt has ${positions} tokens (positions 0–${last}).`;
  if (to !== null && to > positions) return `"to" is ${to}, but the prompt has ${positions} tokens: "to" (excluded) is at most ${positions}.`;
  if (to !== null && to <= from) return `"to" (${to}) must be greater than "from" (${from}); "to" is excluded.`;
  return null;
}

export interface RangeFields {
  from: HTMLInputElement;
  to: HTMLInputElement;
  message: HTMLElement;
}

/**
 * Shows the range's state next to its fields: a problem and what is shown instead, or, for a partial
 * range, which positions are shown and a button that shows them all again. Also bounds the number
 * fields by the prompt length, so their arrows stop at the last position.
 */
export function renderRangeMessage(f: RangeFields, positions: number, from: number, to: number | null, showAll: () => void): void {
  f.from.max = String(positions - 1);
  f.to.max = String(positions);
  const problem = rangeProblem(positions, from, to);
  f.from.setAttribute('aria-invalid', String(problem !== null && (from > positions - 1 || (to !== null && to <= from))));
  f.to.setAttribute('aria-invalid', String(problem !== null && to !== null && (to > positions || to <= from)));
  f.message.classList.toggle('bad', problem !== null);
  const [a, b] = clampRange(positions, from, to);
  if (problem === null && a === 0 && b === positions) {
    f.message.hidden = true;
    return;
  }
  f.message.hidden = false;
  // The text and button are updated in place: a blur re-renders this while the button is being clicked.
  let text = f.message.querySelector<HTMLElement>('.text');
  let all = f.message.querySelector<HTMLButtonElement>('button');
  if (!text || !all) {
    text = document.createElement('span');
    text.className = 'text';
    all = document.createElement('button');
    all.type = 'button';
    all.className = 'secondary';
    all.textContent = 'Show all';
    f.message.replaceChildren(text, ' ', all);
  }
  const shown = b - a === 1 ? `position ${a}` : `positions ${a}–${b - 1}`;
  text.textContent = problem === null ? `Showing ${shown} of 0–${positions - 1}.` : `${problem} Showing ${shown}.`;
  all.onclick = showAll;
}
