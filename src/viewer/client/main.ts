/**
 * The viewer page: reads the state from the URL, fills the controls, asks the server for trajectories
 * and pins, and draws heatmaps (via view-model → buildHeatmapOption), the side panel and the pin chart.
 *
 * What needs a computation (prompts, model, lens) goes to the server; what only changes the view
 * (statistic, stride, token range, selection, pins shown) is redrawn from the last response at once.
 * Every change is written back to the URL, so a link reopens the same view.
 */
import {
  BASE_STATISTICS,
  DISTANCE_STATISTICS,
  type ConfigResponse,
  type ExportFormat,
  type LensMode,
  type PinRequest,
  type PinResponse,
  type TrajectoryRequest,
  type TrajectoryResponse,
} from '../protocol.js';
import { MAX_PINS, TOP_K_CHOICES, stateFromQuery, stateToQuery, targetTokens, type PageState } from '../url-state.js';
import {
  BASE_STATISTIC_LABELS,
  DISTANCE_LABELS,
  TARGET_MEASURES,
  longTokenLabel,
  shortTokenLabel,
  sumProbs,
  type TargetColouring,
  type TargetMeasure,
  type ViewPanel,
} from '../view-model.js';
import { buildViewPanels, gridModeNotice, modeResponse } from '../grid-modes.js';
import { fillGridModeMenu, gridModeNeedsRun, markGridModes, onGridModeChange, readGridMode, showGridModeMenus, withGridMode, writeGridMode } from './grid-mode-control.js';
import { downloadExport, fetchConfig, fetchPin, fetchProgress, fetchTrajectory } from './api.js';
import { HeatmapPanels, type PanelEvents } from './heatmaps.js';
import { renderRangeMessage } from './range-brush.js';
import { initSideLayout } from './side-layout.js';
import { PinView, type Pin } from './pin-chart.js';
import { renderCellView } from './side-panel.js';
import { CausalPanel } from './causal-panel.js';
import { showMatchingCells } from './cell-links.js';
import { renderColourControls, scaleKeysOnScreen } from './colour-controls.js';
import { initDataTools } from './data-tools.js';
import { KeyboardCells, tokenToPin } from './keyboard.js';
import { initTheme } from './theme.js';
import { initWebSources } from './web-sources.js';
import { isWebBuild } from './worker-client.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

const el = {
  form: byId<HTMLFormElement>('controls'),
  prompt: byId<HTMLTextAreaElement>('prompt'),
  prompt2: byId<HTMLTextAreaElement>('prompt2'),
  model: byId<HTMLSelectElement>('model'),
  lens: byId<HTMLSelectElement>('lens'),
  tunedLens: byId<HTMLSelectElement>('tuned-lens'),
  tunedLensLabel: byId<HTMLElement>('tuned-lens-label'),
  statistic: byId<HTMLSelectElement>('statistic'),
  statisticLabel: byId<HTMLElement>('statistic-label'),
  distance: byId<HTMLSelectElement>('distance'),
  distanceLabel: byId<HTMLElement>('distance-label'),
  stride: byId<HTMLInputElement>('stride'),
  from: byId<HTMLInputElement>('from'),
  to: byId<HTMLInputElement>('to'),
  rangeMessage: byId<HTMLElement>('range-message'),
  run: byId<HTMLButtonElement>('run'),
  target: byId<HTMLInputElement>('target'),
  antiTarget: byId<HTMLInputElement>('anti-target'),
  antiTargetLabel: byId<HTMLElement>('anti-target-label'),
  targetMeasure: byId<HTMLSelectElement>('target-measure'),
  notice: byId<HTMLElement>('notice'),
  topK: byId<HTMLSelectElement>('top-k'),
  progress: byId<HTMLElement>('progress'),
  error: byId<HTMLElement>('error'),
  panels: byId<HTMLElement>('panels'),
  cellInfo: byId<HTMLElement>('cell-info'),
  topLists: byId<HTMLElement>('top-lists'),
  pins: byId<HTMLElement>('pins'),
  pinChart: byId<HTMLElement>('pin-chart'),
  themeToggle: byId<HTMLButtonElement>('theme-toggle'),
  colourControls: byId<HTMLElement>('colour-controls'),
  dataTools: byId<HTMLElement>('data-tools'),
  pinKey: byId<HTMLElement>('pin-key'),
};

let config: ConfigResponse | null = null;
let state: PageState = stateFromQuery(location.search);
/** The request and response on screen. */
let current: { req: TrajectoryRequest; resp: TrajectoryResponse } | null = null;
let panels: ViewPanel[] = [];
/** Pin results per "request key # token id", so switching pins or views never recomputes. */
const pinCache = new Map<string, Pin>();
/** Bumped by every new computation, so a slow old answer cannot overwrite a newer one. */
let generation = 0;
let draws = 0;
/** The tracked target's probabilities for the current response, keyed by what was asked. */
let target: { key: string; colouring: TargetColouring } | null = null;
/** Pin answers for typed tokens, per "request key # typed token". */
const typedPinCache = new Map<string, Promise<PinResponse>>();
/** The causal basis panel (server started with --bases); none in the static web build. */
let causal: CausalPanel | null = null;

/** Without a kept cell, the pin chart previews the hovered position; a token hovered in the top-k list is previewed too. */
let hoverPos: number | null = null;
let previewId: number | null = null;

const heatmapEvents: PanelEvents = {
  hover: (panel, row, pos) => {
    if (state.cell) return;
    showCell(panel, row, pos, false);
    showMatchingCells(el.panels, panels, { panel, row, pos });
    if (hoverPos !== pos) {
      hoverPos = pos;
      renderPins();
    }
  },
  click: (panel, row, pos) => {
    state.cell = { panel, row, pos };
    showCell(panel, row, pos, true);
    heatmaps.select(state.cell);
    showMatchingCells(el.panels, panels, state.cell);
    renderPins();
    writeUrl(false);
  },
  export: (panel, format) => void exportPanel(panel, format),
  range: (panel, a, b) => {
    const cols = panels[panel]?.cols;
    if (cols) setRange(cols[a]!, cols[b]! + 1);
  },
};
const heatmaps = new HeatmapPanels(el.panels, heatmapEvents);
// Arrow keys, Enter and P on a focused heatmap do what hovering, clicking and pinning do.
const keyboard = new KeyboardCells(el.panels, {
  focus: (panel, row, pos) => heatmapEvents.hover(panel, row, pos),
  keep: (panel, row, pos) => heatmapEvents.click(panel, row, pos),
  pin: (panel, row, pos) => {
    const id = current && panels[panel] ? tokenToPin(modeResponse(current.resp, state.view.mode), panels[panel]!, row, pos) : null;
    if (id !== null) addPin(id);
  },
  kept: () => state.cell,
});
const dataTools = initDataTools(el.dataTools, () =>
  current
    ? {
        req: current.req,
        resp: modeResponse(current.resp, state.view.mode),
        view: state.view,
        settings: { target: state.target, antiTarget: state.antiTarget, targetMeasure: state.targetMeasure, pins: state.pins, cell: state.cell },
        panels,
        pins: state.pins.map((id) => pinCache.get(pinKey(id))?.data).filter((d): d is PinResponse => !!d),
        link: location.href,
        build: isWebBuild() ? 'web' : 'server',
        version: config?.version ?? null,
        exportedAt: new Date().toISOString(),
      }
    : null,
);
const pinView = new PinView(
  el.pins,
  el.pinChart,
  (tokenId) => {
    state.pins = state.pins.filter((t) => t !== tokenId);
    renderPins();
    refreshPinnedMarks();
    writeUrl(false);
  },
  el.pinKey,
);

// ---------------------------------------------------------------------------------------------------
// Messages and progress

function showError(message: string | null): void {
  el.error.hidden = message === null;
  el.error.textContent = message ?? '';
}

/**
 * Runs `work` while polling /api/progress, shown after a short delay so quick answers do not flash a
 * bar. The server computes one request at a time, so its progress is this request's (or says how many
 * wait before it).
 */
async function withProgress<T>(label: string, work: Promise<T>): Promise<T> {
  const text = el.progress.querySelector('.text') as HTMLElement;
  const fill = el.progress.querySelector('.fill') as HTMLElement;
  const started = Date.now();
  let stopped = false;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    try {
      const p = await fetchProgress();
      if (stopped) return;
      let msg = p.busy ? `${p.task}${p.steps > 1 ? ` (step ${p.step} of ${p.steps})` : ''}` : label;
      if (p.download) {
        const mb = (n: number): string => (n / 1048576).toFixed(1);
        msg += ` — downloading ${p.download.file}: ${mb(p.download.done)}${p.download.total ? ` of ${mb(p.download.total)}` : ''} MB`;
      }
      if (p.queued > 0) msg += ` · ${p.queued} request${p.queued > 1 ? 's' : ''} waiting`;
      text.textContent = `${msg} · ${secs} s`;
      el.progress.classList.toggle('indeterminate', !(p.busy && p.steps > 0));
      fill.style.width = p.busy && p.steps > 0 ? `${Math.round(((p.step - 0.5) / p.steps) * 100)}%` : '0';
    } catch {
      text.textContent = `${label} · ${secs} s`;
    }
  };
  const show = setTimeout(() => {
    if (stopped) return;
    el.progress.hidden = false;
    el.progress.classList.add('indeterminate');
    text.textContent = label;
    void tick();
  }, 150);
  const poll = setInterval(() => void tick(), 400);
  try {
    return await work;
  } finally {
    stopped = true;
    clearTimeout(show);
    clearInterval(poll);
    el.progress.hidden = true;
  }
}

// ---------------------------------------------------------------------------------------------------
// Controls ↔ state

function fillStaticMenus(): void {
  el.topK.replaceChildren(...TOP_K_CHOICES.map((k) => new Option(String(k), String(k))));
  el.targetMeasure.replaceChildren(...(Object.keys(TARGET_MEASURES) as TargetMeasure[]).map((m) => new Option(TARGET_MEASURES[m].label, m)));
  el.statistic.replaceChildren(...BASE_STATISTICS.map((s) => new Option(BASE_STATISTIC_LABELS[s], s)));
  el.distance.replaceChildren(...DISTANCE_STATISTICS.map((d) => new Option(`${DISTANCE_LABELS[d].label} (${DISTANCE_LABELS[d].short})`, d)));
  fillGridModeMenu();
}

function fillModelMenus(): void {
  if (!config) return;
  el.model.replaceChildren(...config.models.map((m) => new Option(m.name, String(m.index))));
  state.model = Math.min(state.model, config.models.length - 1);
  el.model.value = String(state.model);
  fillLensMenu();
}

function fillLensMenu(): void {
  const lenses = config?.models[state.model]?.lenses ?? [];
  el.tunedLens.replaceChildren(...lenses.map((l) => new Option(l.name, String(l.index))));
  if (state.tunedLens >= lenses.length) state.tunedLens = 0;
  el.tunedLens.value = String(state.tunedLens);
  // Without a tuned lens only the logit lens makes sense; say why the others are off.
  for (const opt of Array.from(el.lens.options)) {
    const needsTuned = opt.value !== 'logit';
    opt.disabled = needsTuned && lenses.length === 0;
    opt.title = opt.disabled ? 'No tuned lens is configured for this model (start the server with --lens).' : '';
  }
  if (lenses.length === 0) state.lens = 'logit';
}

function writeControls(): void {
  el.prompt.value = state.prompt;
  el.prompt2.value = state.prompt2;
  el.model.value = String(state.model);
  el.lens.value = state.lens;
  el.tunedLens.value = String(state.tunedLens);
  el.statistic.value = state.view.statistic;
  el.distance.value = state.view.distance;
  el.stride.value = String(state.view.stride);
  el.from.value = String(state.view.from);
  el.to.value = state.view.to === null ? '' : String(state.view.to);
  if (!TOP_K_CHOICES.includes(state.topK)) el.topK.append(new Option(String(state.topK), String(state.topK)));
  el.topK.value = String(state.topK);
  el.target.value = state.target;
  el.antiTarget.value = state.antiTarget;
  el.targetMeasure.value = state.targetMeasure;
  writeGridMode(state.view.mode);
  updateControlVisibility();
}

function readControls(): void {
  state.prompt = el.prompt.value;
  state.prompt2 = el.prompt2.value;
  state.model = Number(el.model.value) || 0;
  state.lens = el.lens.value as LensMode;
  state.tunedLens = Number(el.tunedLens.value) || 0;
  state.view.statistic = el.statistic.value as PageState['view']['statistic'];
  state.view.distance = el.distance.value as PageState['view']['distance'];
  state.view.stride = Math.max(1, Math.floor(Number(el.stride.value)) || 1);
  state.view.from = Math.max(0, Math.floor(Number(el.from.value)) || 0);
  const to = el.to.value.trim() === '' ? null : Math.floor(Number(el.to.value));
  state.view.to = to !== null && Number.isFinite(to) && to >= 1 ? to : null;
  state.topK = Number(el.topK.value) || 10;
  state.target = el.target.value;
  state.antiTarget = el.antiTarget.value;
  state.targetMeasure = el.targetMeasure.value as TargetMeasure;
  state.view.mode = readGridMode();
}

function updateControlVisibility(): void {
  const lenses = config?.models[state.model]?.lenses.length ?? 0;
  const twoPrompts = el.prompt2.value.trim() !== '';
  el.tunedLensLabel.hidden = state.lens === 'logit' || lenses < 2;
  el.statisticLabel.hidden = state.lens === 'diff' && !twoPrompts;
  el.distanceLabel.hidden = !(state.lens === 'diff' || twoPrompts);
  el.antiTargetLabel.hidden = el.targetMeasure.value !== 'log-prob-diff';
  showGridModeMenus(state.view.mode, { statistic: el.statisticLabel, distance: el.distanceLabel });
  // Two prompts are compared with one lens at a time: switch off the lens comparisons and say why
  // (the server would refuse them), as the menu already does without a tuned lens.
  for (const opt of Array.from(el.lens.options)) {
    if (opt.value !== 'compare' && opt.value !== 'diff') continue;
    const noTuned = lenses === 0;
    opt.disabled = noTuned || twoPrompts;
    opt.title = noTuned ? 'No tuned lens is configured for this model (start the server with --lens).' : twoPrompts ? 'Two prompts are compared with one lens at a time: clear the second prompt to compare lenses.' : '';
  }
  if (twoPrompts && (state.lens === 'compare' || state.lens === 'diff')) {
    state.lens = 'tuned';
    el.lens.value = 'tuned';
    showNotice('Two prompts are compared with one lens at a time, so the lens is now the tuned lens; clear the second prompt to compare the lenses.');
  }
}

function showNotice(message: string | null): void {
  el.notice.hidden = message === null;
  el.notice.textContent = message ?? '';
}

function writeUrl(push: boolean): void {
  const url = `${location.pathname}${stateToQuery(state)}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

function trajectoryRequest(): TrajectoryRequest {
  const req: TrajectoryRequest = { model: state.model, lens: state.lens, prompt: state.prompt, topK: state.topK };
  if (state.lens !== 'logit') req.tunedLens = state.tunedLens;
  if (state.prompt2.trim() !== '') req.prompt2 = state.prompt2;
  return withGridMode(req, state.view.mode);
}

// ---------------------------------------------------------------------------------------------------
// Computing and drawing

async function run(push: boolean): Promise<void> {
  readControls();
  updateControlVisibility();
  if (state.prompt.trim() === '') {
    showError('Type a prompt first.');
    return;
  }
  const req = trajectoryRequest();
  const gen = ++generation;
  showError(null);
  el.run.disabled = true;
  try {
    const resp = await withProgress('Computing', fetchTrajectory(req));
    if (gen !== generation) return;
    // New text or another model invalidates the kept cell (a lens switch keeps it), except when
    // restoring a link, whose cell belongs to it.
    const sameInput = current !== null && current.req.model === req.model && current.req.prompt === req.prompt && (current.req.prompt2 ?? '') === (req.prompt2 ?? '');
    current = { req, resp };
    if (push && !sameInput) state.cell = null;
    heatmaps.focusPosition(state.cell?.pos ?? null);
    draw();
    writeUrl(push);
    void loadPins();
    void loadTarget();
  } catch (e) {
    if (gen === generation) showError((e as Error).message);
  } finally {
    if (gen === generation) el.run.disabled = false;
  }
}

/** Redraws panels, selection, side panel and pins from the current response (no server call). */
function draw(): void {
  if (!current) return;
  try {
    panels = buildViewPanels(current.resp, state.view, target && target.key === targetKey() ? target.colouring : null);
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  heatmaps.render(panels);
  keyboard.attach(panels);
  markGridModes(current.resp);
  if (state.cell && !panels[state.cell.panel]) state.cell = null;
  heatmaps.select(state.cell);
  showMatchingCells(el.panels, panels, state.cell);
  renderColourControls(el.colourControls, scaleKeysOnScreen(panels, state.view, target && target.key === targetKey() ? state.targetMeasure : null), state.view.scales ?? {}, (scales) => {
    state.view.scales = scales;
    draw();
    writeUrl(false);
  });
  if (state.cell) showCell(state.cell.panel, state.cell.row, state.cell.pos, true);
  else {
    el.cellInfo.textContent = 'Hover a cell to see its top-10 here; click the cell to keep it, then click a token to pin it.';
    el.topLists.replaceChildren();
  }
  showNotice(viewNotice());
  showRange(state.view.from, state.view.to);
  causal?.update(current.req, state.view);
  // A counter of finished draws: lets tests (and curious users) wait for the page to settle.
  document.body.dataset.ready = String(++draws);
  renderPins();
}

/** What the user should know about the view: prompts of different lengths, a token range that does not fit. */
function viewNotice(): string | null {
  if (!current) return null;
  const notes: string[] = [];
  const [a, b] = current.resp.grids.filter((g, i, all) => all.findIndex((h) => h.prompt === g.prompt) === i);
  if (a && b && a.positions !== b.positions) {
    notes.push(`Prompt A has ${a.positions} tokens and prompt B ${b.positions}: they are compared position by position over the first ${Math.min(a.positions, b.positions)}, so after a different-length edit the positions no longer line up.`);
  }
  const modeNote = gridModeNotice(current.resp, state.view, state.target.trim() !== '');
  if (modeNote) notes.push(modeNote);
  return notes.length > 0 ? notes.join(' ') : null;
}

/** The token range's message beside its fields (range-brush.ts): what is wrong, or which positions show. */
function showRange(from: number, to: number | null): void {
  if (current) renderRangeMessage({ from: el.from, to: el.to, message: el.rangeMessage }, current.resp.grids[0]!.positions, from, to, () => setRange(0, null));
}

function setRange(from: number, to: number | null): void {
  el.from.value = String(from);
  el.to.value = to === null ? '' : String(to);
  onViewChange();
}

// ---------------------------------------------------------------------------------------------------
// Target tracking

function targetKey(): string {
  return `${JSON.stringify(current?.req)}#${state.targetMeasure}#${state.target}#${state.targetMeasure === 'log-prob-diff' ? state.antiTarget : ''}`;
}

function typedPin(spec: string): Promise<PinResponse> {
  const key = `${JSON.stringify(current!.req)}#${spec}`;
  let p = typedPinCache.get(key);
  if (!p) {
    p = fetchPin({ ...current!.req, token: spec });
    typedPinCache.set(key, p);
    p.catch(() => typedPinCache.delete(key));
  }
  return p;
}

/** Fetches the target (and anti-target) tokens' probabilities, sums each group, and redraws. */
async function loadTarget(): Promise<void> {
  if (!current) return;
  const key = targetKey();
  const tokens = targetTokens(state.target);
  const anti = state.targetMeasure === 'log-prob-diff' ? targetTokens(state.antiTarget) : [];
  if (tokens.length === 0) {
    if (target) {
      target = null;
      draw();
    }
    return;
  }
  if (state.targetMeasure === 'log-prob-diff' && anti.length === 0) {
    showError('The log-prob difference needs an anti-target: type the token(s) to compare the target with.');
    return;
  }
  if (target?.key === key) return;
  const resp = current.resp;
  try {
    const group = async (specs: string[]): Promise<{ label: string; prob: (number | null)[][] }> => {
      const pins = await withProgress(`Tracking ${specs.join(' + ')}`, Promise.all(specs.map(typedPin)));
      return {
        label: pins.map((p) => shortTokenLabel({ [p.tokenId]: p.piece }, p.tokenId)).join('+'),
        prob: resp.grids.map((_, gi) => sumProbs(pins.map((p) => p.series[gi]!.prob))),
      };
    };
    const t = await group(tokens);
    const a = anti.length > 0 ? await group(anti) : null;
    if (key !== targetKey()) return; // the view moved on meanwhile
    showError(null);
    target = { key, colouring: { measure: state.targetMeasure, label: t.label, antiLabel: a?.label, prob: t.prob, anti: a?.prob ?? null } };
    draw();
  } catch (e) {
    if (key === targetKey()) showError((e as Error).message);
  }
}

function showCell(panelIndex: number, row: number, pos: number, locked: boolean): void {
  const panel = panels[panelIndex];
  if (!current || !panel) return;
  const shown = modeResponse(current.resp, state.view.mode); // sub-layer reads: the interleaved rows
  const g0 = shown.grids[panel.grids[0]!]!;
  if (row >= g0.rows || pos >= g0.positions) return;
  renderCellView(el.cellInfo, el.topLists, {
    resp: shown,
    panel,
    row,
    pos,
    locked,
    pinned: new Set(state.pins),
    onPin: (id) => addPin(id),
  });
  const note = panel.note?.(row, pos);
  if (note) el.cellInfo.append(document.createElement('br'), note);
}

function refreshPinnedMarks(): void {
  const pinned = new Set(state.pins);
  for (const b of Array.from(el.topLists.querySelectorAll<HTMLButtonElement>('button[data-token-id]'))) {
    b.classList.toggle('pinned', pinned.has(Number(b.dataset.tokenId)));
  }
}

async function exportPanel(panel: number, format: ExportFormat): Promise<void> {
  if (!current) return;
  showError(null);
  try {
    await withProgress(`Rendering ${format.toUpperCase()}`, downloadExport({ ...current.req, view: { ...state.view }, panel, format }, target && target.key === targetKey() ? panels[panel] : undefined));
  } catch (e) {
    showError(`Export failed: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Pins

function pinKey(tokenId: number): string {
  return `${JSON.stringify(current?.req)}#${tokenId}`;
}

function addPin(tokenId: number): void {
  if (state.pins.includes(tokenId)) return;
  if (state.pins.length >= MAX_PINS) {
    showError(`At most ${MAX_PINS} pins; remove one first.`);
    return;
  }
  state.pins.push(tokenId);
  refreshPinnedMarks();
  writeUrl(false);
  void loadPins();
}

/** Fetches the pins not yet known for the current trajectory, one after another (the server serialises anyway). */
async function loadPins(): Promise<void> {
  renderPins();
  for (const tokenId of [...state.pins]) {
    if (!current) return;
    const key = pinKey(tokenId);
    const known = pinCache.get(key);
    if (known && !known.error) continue; // done or in flight; a failed pin is retried
    const req: PinRequest = { ...current.req, tokenId };
    const label = longTokenLabel(current.resp.pieces, tokenId);
    const pin: Pin = { tokenId, label, data: null, error: null };
    pinCache.set(key, pin);
    try {
      pin.data = await withProgress(`Tracking ${label}`, fetchPin(req));
      pin.label = longTokenLabel({ [tokenId]: pin.data.piece }, tokenId);
    } catch (e) {
      pin.error = (e as Error).message;
      showError(`Could not pin ${label}: ${pin.error}`);
    }
    renderPins();
  }
}

function renderPins(): void {
  dataTools.update();
  if (!current) {
    pinView.render([], 0, '', []);
    return;
  }
  const g0 = current.resp.grids[0]!;
  const pins = state.pins.map((tokenId) => pinCache.get(pinKey(tokenId)) ?? { tokenId, label: longTokenLabel(current!.resp.pieces, tokenId), data: null, error: null });
  // The chart follows the kept cell's position, else the hovered one, else the last position (the prompt's next-token guess).
  const pos = Math.min(state.cell?.pos ?? hoverPos ?? g0.positions - 1, g0.positions - 1);
  const positionNote = state.cell ? 'kept' : hoverPos !== null ? 'hovered' : '';
  const preview = previewId === null ? null : (pinCache.get(pinKey(previewId)) ?? null);
  // Layer 0 decodes the embeddings: "input", as on the heatmaps' axes.
  pinView.render(pins, pos, longTokenLabel(current.resp.pieces, g0.inputIds[pos]!), g0.rowLabels.map((l, i) => (i === 0 ? 'input' : l)), { preview, active: true, positionNote });
}

/** Previews a token hovered in the top-k list in the pin chart (fetched once, shared with pinning). */
async function previewToken(tokenId: number | null): Promise<void> {
  previewId = tokenId;
  if (tokenId === null || !current) return renderPins();
  const key = pinKey(tokenId);
  if (!pinCache.has(key)) {
    const pin: Pin = { tokenId, label: longTokenLabel(current.resp.pieces, tokenId), data: null, error: null };
    pinCache.set(key, pin);
    try {
      pin.data = await fetchPin({ ...current.req, tokenId });
    } catch (e) {
      pin.error = (e as Error).message; // a pin retries; a preview just shows nothing
    }
  }
  if (previewId === tokenId) renderPins();
}

// ---------------------------------------------------------------------------------------------------
// Wiring

function onViewChange(): void {
  readControls();
  updateControlVisibility();
  draw();
  writeUrl(false);
}

async function init(): Promise<void> {
  fillStaticMenus();
  initTheme(el.themeToggle, draw);
  try {
    if (isWebBuild()) {
      // The static build: sources are added in the page (built-in stories260K first), not by a server.
      await initWebSources({
        onConfig(next, model) {
          const first = config === null;
          config = next;
          if (!first) {
            state.model = model;
            state.tunedLens = 0;
          }
          fillModelMenus();
        },
        showError,
        withProgress,
      });
    } else {
      config = await fetchConfig();
    }
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  fillModelMenus();
  writeControls();
  initSideLayout({ main: byId('main'), side: byId('side'), sideResize: byId('side-resize'), pinSplit: byId('pin-split'), toggle: byId('side-toggle') }, draw);
  let previewTimer: ReturnType<typeof setTimeout> | undefined;
  const previewSoon = (id: number | null): void => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => void previewToken(id), id === null ? 0 : 120);
  };
  el.topLists.addEventListener('mouseover', (ev) => {
    const b = (ev.target as HTMLElement).closest<HTMLElement>('button[data-token-id]');
    previewSoon(b ? Number(b.dataset.tokenId) : null);
  });
  el.topLists.addEventListener('mouseleave', () => previewSoon(null));
  if (!isWebBuild()) {
    causal = new CausalPanel({ withProgress, showError });
    await causal.init();
  }

  el.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run(true);
  });
  for (const ta of [el.prompt, el.prompt2]) {
    ta.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        void run(true);
      }
    });
  }
  el.prompt2.addEventListener('input', updateControlVisibility);
  el.model.addEventListener('change', () => {
    state.model = Number(el.model.value) || 0;
    state.tunedLens = 0;
    fillLensMenu();
    el.lens.value = state.lens;
    if (el.prompt.value.trim()) void run(true);
    else updateControlVisibility();
  });
  for (const sel of [el.lens, el.tunedLens, el.topK]) {
    sel.addEventListener('change', () => {
      readControls();
      updateControlVisibility();
      if (state.prompt.trim()) void run(true);
    });
  }
  for (const c of [el.statistic, el.distance, el.stride, el.from, el.to]) c.addEventListener('change', onViewChange);
  // Differences and sub-layer reads are computed when first shown; the other modes only redraw.
  onGridModeChange(() => (gridModeNeedsRun(current?.resp, readGridMode()) ? void run(false) : onViewChange()));
  // The range is checked as it is typed; the view follows on change.
  for (const c of [el.from, el.to]) c.addEventListener('input', () => showRange(Math.max(0, Math.floor(Number(el.from.value)) || 0), el.to.value.trim() === '' ? null : Math.floor(Number(el.to.value))));
  for (const c of [el.target, el.antiTarget, el.targetMeasure]) {
    c.addEventListener('change', () => {
      onViewChange();
      void loadTarget();
    });
  }
  document.addEventListener('keydown', (ev) => {
    // Esc releases a kept cell, so hovering updates the side panel again.
    if (ev.key === 'Escape' && state.cell) {
      state.cell = null;
      heatmaps.select(null);
      showMatchingCells(el.panels, panels, null);
      renderPins();
      writeUrl(false);
    }
  });
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 200);
  });
  window.addEventListener('popstate', () => {
    state = stateFromQuery(location.search);
    fillModelMenus();
    writeControls();
    if (state.prompt.trim()) void run(false);
  });

  if (state.prompt.trim()) await run(false);
  document.body.dataset.initialised = 'true';
}

// The web build's end-to-end test compares the worker's numbers with Node's through this handle.
if (isWebBuild()) (window as unknown as { tunedLens: unknown }).tunedLens = { fetchTrajectory, fetchConfig };

void init();
