/**
 * The grid-mode menu (lens rows, prediction depth, layer differences, sub-layer reads): fills it, reads
 * and writes it, shows the statistic or distance menu the mode uses, and says whether switching to a
 * mode needs the server (differences and sub-layer reads are computed on demand) or only a redraw.
 */
import { GRID_MODES, type GridMode, type TrajectoryRequest, type TrajectoryResponse } from '../protocol.js';
import { GRID_MODE_LABELS, hasModeData } from '../grid-modes.js';

function menu(): HTMLSelectElement | null {
  return document.getElementById('grid-mode') as HTMLSelectElement | null;
}

export function fillGridModeMenu(): void {
  menu()?.replaceChildren(...GRID_MODES.map((m) => new Option(GRID_MODE_LABELS[m], m)));
}

export function writeGridMode(mode: GridMode | undefined): void {
  const m = menu();
  if (m) m.value = mode ?? 'lens';
}

export function readGridMode(): GridMode {
  const v = menu()?.value;
  return (GRID_MODES as readonly string[]).includes(v ?? '') ? (v as GridMode) : 'lens';
}

/**
 * The menus a mode reads: depth has its own colours (no statistic); differences are coloured by the
 * distance menu (KL, JS, TV between a row and the row below); sub-layer reads by the statistic.
 */
export function showGridModeMenus(mode: GridMode | undefined, labels: { statistic: HTMLElement; distance: HTMLElement }): void {
  if (mode === 'depth') labels.statistic.hidden = labels.distance.hidden = true;
  if (mode === 'delta') {
    labels.statistic.hidden = true;
    labels.distance.hidden = false;
  }
  if (mode === 'sublayer') labels.statistic.hidden = false;
}

/** The request field for modes the server computes extra data for. */
export function withGridMode(req: TrajectoryRequest, mode: GridMode | undefined): TrajectoryRequest {
  return mode === 'delta' || mode === 'sublayer' ? { ...req, mode } : req;
}

/** True when the response on screen lacks what `mode` draws, so the page must ask the server. */
export function gridModeNeedsRun(resp: TrajectoryResponse | undefined, mode: GridMode): boolean {
  return resp !== undefined && !hasModeData(resp, mode);
}

/** Switches the sub-layer option off, with the reason as its tooltip, for a model without a mid-block residual. */
export function markGridModes(resp: TrajectoryResponse): void {
  const option = menu()?.querySelector<HTMLOptionElement>('option[value="sublayer"]');
  if (!option) return;
  const why = resp.model.sublayerUnavailable;
  option.disabled = why !== undefined;
  option.title = why ?? '';
}

/** Calls `onChange` when the menu changes. */
export function onGridModeChange(onChange: () => void): void {
  menu()?.addEventListener('change', onChange);
}
