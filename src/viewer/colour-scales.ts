/**
 * The viewer's colour choices: which colour scale each statistic is drawn with and whether on a log
 * axis, chosen per statistic (the page remembers a choice for entropy separately from one for KL), kept
 * in the URL and sent with exports so a file looks like the screen.
 *
 * Defaults: the reference's diverging `rdbu_r` for the per-lens statistics, as its figures; a sequential
 * scale for the distances between two trajectories, which are one-sided (0 = identical; a diverging scale
 * would suggest a meaningful midpoint); the target measures keep theirs (a diverging scale only for the
 * signed log-prob difference).
 *
 * Core code: no `node:*` imports.
 */
import { colorScaleStops, type ColorScaleName } from '../viz/heatmap-data.js';
import { BASE_STATISTICS, DISTANCE_STATISTICS, type BaseStatistic, type DistanceStatistic } from './protocol.js';

/** What a colour choice belongs to: a base statistic, a distance (`dist-kl`) or a target measure (`target-prob`). */
export type ScaleKey = BaseStatistic | `dist-${DistanceStatistic}` | 'target-prob' | 'target-log-prob' | 'target-log-prob-diff';

export const SCALE_KEYS: readonly ScaleKey[] = [
  ...BASE_STATISTICS,
  ...DISTANCE_STATISTICS.map((d) => `dist-${d}` as const),
  'target-prob',
  'target-log-prob',
  'target-log-prob-diff',
];

/** The scales offered, with names for the menu (the `_r` variants run the other way). */
export const COLOUR_SCALE_LABELS: Readonly<Record<ColorScaleName, string>> = {
  rdbu_r: 'RdBu, diverging',
  rdbu: 'RdBu, reversed',
  viridis: 'viridis',
  viridis_r: 'viridis, reversed',
  blues: 'Blues',
  blues_r: 'Blues, reversed',
  greens: 'Greens',
  greens_r: 'Greens, reversed',
};

const DEFAULT_SCALES: Readonly<Record<ScaleKey, ColorScaleName>> = {
  entropy: 'rdbu_r',
  ce: 'rdbu_r',
  kl: 'rdbu_r',
  'max-prob': 'rdbu_r',
  rank: 'rdbu_r',
  'dist-kl': 'blues',
  'dist-js': 'blues',
  'dist-tv': 'blues',
  'target-prob': 'blues',
  'target-log-prob': 'viridis',
  'target-log-prob-diff': 'rdbu_r',
};

/** Measures that can be negative have no log axis. */
const NO_LOG: ReadonlySet<ScaleKey> = new Set(['target-log-prob', 'target-log-prob-diff']);

export interface ScaleChoice {
  scale?: ColorScaleName;
  log?: boolean;
}

/** The user's choices; a key not listed uses its defaults. */
export type ScaleChoices = Partial<Record<ScaleKey, ScaleChoice>>;

export function canLog(key: ScaleKey): boolean {
  return !NO_LOG.has(key);
}

/** The scale and log setting in effect for `key`: the choice where made, else the default (log for rank only). */
export function resolveScale(choices: ScaleChoices | undefined, key: ScaleKey): { scale: ColorScaleName; log: boolean } {
  const c = choices?.[key];
  return { scale: c?.scale ?? DEFAULT_SCALES[key], log: canLog(key) && (c?.log ?? key === 'rank') };
}

function isScaleName(s: string): s is ColorScaleName {
  try {
    colorScaleStops(s as ColorScaleName);
    return true;
  } catch {
    return false;
  }
}

/** "entropy:viridis,rank:rdbu_r:lin,kl::log" ↔ choices. Unknown parts are dropped (links stay lenient). */
export function scaleChoicesToText(choices: ScaleChoices): string {
  const parts: string[] = [];
  for (const key of SCALE_KEYS) {
    const c = choices[key];
    if (!c || (c.scale === undefined && c.log === undefined)) continue;
    parts.push(`${key}:${c.scale ?? ''}${c.log === undefined ? '' : c.log ? ':log' : ':lin'}`);
  }
  return parts.join(',');
}

export function scaleChoicesFromText(text: string): ScaleChoices {
  const out: ScaleChoices = {};
  for (const part of text.split(',')) {
    const [key, scale = '', log] = part.split(':');
    if (!(SCALE_KEYS as readonly string[]).includes(key ?? '')) continue;
    const c: ScaleChoice = {};
    if (scale !== '' && isScaleName(scale)) c.scale = scale;
    if (log === 'log' || log === 'lin') c.log = log === 'log';
    if (c.scale !== undefined || c.log !== undefined) out[key as ScaleKey] = c;
  }
  return out;
}

/** Checks choices sent in a request body (exports); throws a message naming the bad field. */
export function parseScaleChoices(v: unknown): ScaleChoices {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('view.scales must be an object');
  const out: ScaleChoices = {};
  for (const [key, c] of Object.entries(v as Record<string, unknown>)) {
    if (!(SCALE_KEYS as readonly string[]).includes(key)) throw new Error(`view.scales: unknown statistic ${JSON.stringify(key)} (use ${SCALE_KEYS.join(', ')})`);
    if (typeof c !== 'object' || c === null) throw new Error(`view.scales.${key} must be an object`);
    const { scale, log } = c as Record<string, unknown>;
    if (scale !== undefined && (typeof scale !== 'string' || !isScaleName(scale))) throw new Error(`view.scales.${key}.scale: unknown colour scale ${JSON.stringify(scale)}`);
    if (log !== undefined && typeof log !== 'boolean') throw new Error(`view.scales.${key}.log must be true or false`);
    out[key as ScaleKey] = { ...(scale !== undefined ? { scale: scale as ColorScaleName } : {}), ...(log !== undefined ? { log } : {}) };
  }
  return out;
}
