/**
 * The page state as a URL query string, so a link reopens the same view: prompts, model, lens,
 * statistic, stride, token range, grid mode, pinned tokens and the selected cell. Parsing is lenient — a hand-edited
 * or outdated link falls back to defaults field by field instead of failing.
 *
 * Core code (browser and tests): no `node:*` imports.
 */
import { BASE_STATISTICS, DISTANCE_STATISTICS, GRID_MODES, LENS_MODES, type BaseStatistic, type DistanceStatistic, type GridMode, type LensMode, type ViewSettings } from './protocol.js';
import { TARGET_MEASURES, type TargetMeasure } from './view-model.js';
import { scaleChoicesFromText, scaleChoicesToText } from './colour-scales.js';

export interface SelectedCell {
  /** Panel index in page order. */
  panel: number;
  /** Trajectory row (0..L, not the display row, so a stride change keeps the selection meaningful). */
  row: number;
  pos: number;
}

export interface PageState {
  model: number;
  lens: LensMode;
  tunedLens: number;
  prompt: string;
  prompt2: string;
  view: ViewSettings;
  /** Tracked target tokens as typed ("_Lily|_Tim" = their summed probability); "" = colour by the statistic. */
  target: string;
  /** Anti-target tokens for the log-prob difference. */
  antiTarget: string;
  targetMeasure: TargetMeasure;
  /** Top tokens listed per cell (a computation setting: the server sends this many). */
  topK: number;
  /** Pinned token ids, in pin order. */
  pins: number[];
  cell: SelectedCell | null;
}

export const DEFAULT_VIEW: ViewSettings = { statistic: 'entropy', distance: 'kl', stride: 1, from: 0, to: null };

export function defaultState(): PageState {
  return { model: 0, lens: 'logit', tunedLens: 0, prompt: '', prompt2: '', view: { ...DEFAULT_VIEW }, target: '', antiTarget: '', targetMeasure: 'prob', topK: DEFAULT_TOP_K, pins: [], cell: null };
}

/** Tokens of a target group, as typed in the target field: separated by "|", blanks around them ignored. */
export function targetTokens(spec: string): string[] {
  return [...new Set(spec.split('|').map((t) => t.trim()).filter((t) => t !== ''))];
}

/** Top-k per cell unless the page says otherwise; the menu offers 5 … 50 (the server's limit). */
export const DEFAULT_TOP_K = 10;
export const TOP_K_CHOICES: readonly number[] = [5, 10, 20, 50];

/** Most pins a link may carry (each is a computation when the page opens). */
export const MAX_PINS = 12;

/** Query string (with "?", or "" for the default state); only fields that differ from the defaults are written. */
export function stateToQuery(s: PageState): string {
  const q = new URLSearchParams();
  if (s.prompt) q.set('prompt', s.prompt);
  if (s.prompt2) q.set('prompt2', s.prompt2);
  if (s.model !== 0) q.set('model', String(s.model));
  if (s.lens !== 'logit') q.set('lens', s.lens);
  if (s.tunedLens !== 0) q.set('tl', String(s.tunedLens));
  if (s.view.statistic !== DEFAULT_VIEW.statistic) q.set('stat', s.view.statistic);
  if (s.view.distance !== DEFAULT_VIEW.distance) q.set('dist', s.view.distance);
  if (s.view.stride !== 1) q.set('stride', String(s.view.stride));
  if (s.view.from !== 0) q.set('from', String(s.view.from));
  if (s.view.to !== null) q.set('to', String(s.view.to));
  const scales = scaleChoicesToText(s.view.scales ?? {});
  if (scales) q.set('cs', scales);
  if (s.view.mode && s.view.mode !== 'lens') q.set('mode', s.view.mode);
  if (s.target) q.set('target', s.target);
  if (s.antiTarget) q.set('anti', s.antiTarget);
  if (s.targetMeasure !== 'prob') q.set('tm', s.targetMeasure);
  if (s.topK !== DEFAULT_TOP_K) q.set('k', String(s.topK));
  if (s.pins.length > 0) q.set('pins', s.pins.join(','));
  if (s.cell) q.set('cell', `${s.cell.panel}.${s.cell.row}.${s.cell.pos}`);
  const text = q.toString();
  return text ? `?${text}` : '';
}

function int(v: string | null, min: number, fallback: number): number {
  if (v === null || !/^\d+$/.test(v)) return fallback;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= min ? n : fallback;
}

export function stateFromQuery(search: string): PageState {
  const q = new URLSearchParams(search);
  const s = defaultState();
  s.prompt = q.get('prompt') ?? '';
  s.prompt2 = q.get('prompt2') ?? '';
  s.model = int(q.get('model'), 0, 0);
  const lens = q.get('lens');
  if (lens && (LENS_MODES as readonly string[]).includes(lens)) s.lens = lens as LensMode;
  s.tunedLens = int(q.get('tl'), 0, 0);
  const stat = q.get('stat');
  if (stat && (BASE_STATISTICS as readonly string[]).includes(stat)) s.view.statistic = stat as BaseStatistic;
  const dist = q.get('dist');
  if (dist && (DISTANCE_STATISTICS as readonly string[]).includes(dist)) s.view.distance = dist as DistanceStatistic;
  s.view.stride = int(q.get('stride'), 1, 1);
  s.view.from = int(q.get('from'), 0, 0);
  const to = int(q.get('to'), 1, -1);
  s.view.to = to === -1 ? null : to;
  const scales = scaleChoicesFromText(q.get('cs') ?? '');
  if (Object.keys(scales).length > 0) s.view.scales = scales;
  const mode = q.get('mode');
  if (mode && mode !== 'lens' && (GRID_MODES as readonly string[]).includes(mode)) s.view.mode = mode as GridMode;
  s.target = q.get('target') ?? '';
  s.antiTarget = q.get('anti') ?? '';
  const tm = q.get('tm');
  if (tm && tm in TARGET_MEASURES) s.targetMeasure = tm as TargetMeasure;
  s.topK = Math.min(int(q.get('k'), 1, DEFAULT_TOP_K), 50);
  const pins = (q.get('pins') ?? '').split(',').filter((p) => /^\d+$/.test(p)).map(Number);
  s.pins = [...new Set(pins)].slice(0, MAX_PINS);
  const cell = /^(\d+)\.(\d+)\.(\d+)$/.exec(q.get('cell') ?? '');
  if (cell) s.cell = { panel: Number(cell[1]), row: Number(cell[2]), pos: Number(cell[3]) };
  return s;
}
