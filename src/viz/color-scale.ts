/** The colour scale of a heatmap: value range (given or from the data), log or linear, and colour-bar ticks. */
import { colorScaleStops, type HeatmapData } from './heatmap-data.js';


// Value scale and colour-bar ticks

export interface ColorScale {
  stops: string[];
  /** Data value → colour-space value (identity or log10); null where it cannot be coloured. */
  transform: (v: number | null) => number | null;
  /** Colour-space range. */
  lo: number;
  hi: number;
  ticks: { at: number; label: string }[];
}

const SUPERSCRIPT: Readonly<Record<string, string>> = {
  '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻',
};

/** "10³": the reference labels log-scale ticks `10^k`. */
function powerOfTen(k: number): string {
  return '10' + [...String(k)].map((c) => SUPERSCRIPT[c] ?? c).join('');
}

/** Evenly spaced "nice" ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) inside [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Small epsilon so floating-point error does not drop a tick that sits on the range ends.
  const eps = step * 1e-9;
  // Multiply rather than accumulate, so 0.1-steps do not drift to 0.30000000000000004.
  for (let k = Math.ceil((lo - eps) / step); k * step <= hi + eps; k++) out.push(k === 0 ? 0 : k * step);
  return out;
}

/** Short, trailing-zero-free label for a tick given the tick step (0.5, 1, 1.5 — as Plotly prints them). */
function formatTick(v: number, step: number): string {
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)) + (Math.abs(mantissa - 2.5) < 1e-9 ? 1 : 0);
  return String(Number(v.toFixed(Math.min(decimals, 10))));
}

export function finiteValues(data: HeatmapData): number[] {
  const out: number[] = [];
  for (const row of data.values) for (const v of row) if (v !== null && Number.isFinite(v) && (!data.logScale || v > 0)) out.push(v);
  return out;
}

export function buildColorScale(data: HeatmapData, barHeight: number, fontSize: number): ColorScale {
  const stops = colorScaleStops(data.colorScale ?? 'rdbu_r');
  const log = data.logScale === true;
  const transform = (v: number | null): number | null => {
    if (v === null || !Number.isFinite(v)) return null;
    if (!log) return v;
    return v > 0 ? Math.log10(v) : null;
  };
  let lo: number;
  let hi: number;
  if (data.range) {
    [lo, hi] = data.range;
  } else {
    // A loop, not Math.min(...vals): long prompts × many layers can exceed the argument-count limit.
    lo = Infinity;
    hi = -Infinity;
    for (const v of finiteValues(data)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) [lo, hi] = [0, 1]; // nothing finite: any range will do, every cell is blank
  }
  let tlo = transform(lo) ?? 0;
  let thi = transform(hi) ?? 1;
  // A constant statistic (e.g. all ranks 1) still needs a non-empty range to map colours.
  if (!(thi > tlo)) {
    const pad = tlo === 0 ? 1 : Math.abs(tlo) * 0.5;
    tlo -= log ? 0 : pad;
    thi += pad;
  }
  // Roughly one tick per 30 px of bar: enough to read values off, never crowded.
  const target = Math.max(3, Math.min(10, Math.floor(barHeight / Math.max(30, fontSize * 2.5))));
  let ticks: { at: number; label: string }[];
  const ints: number[] = [];
  if (log) for (let k = Math.ceil(tlo); k <= Math.floor(thi); k++) ints.push(k);
  if (log && ints.length >= 2) {
    // Thin out decades on tall ranges (rank over a 50k vocabulary spans ~5 decades: fine; 20 is not).
    const every = Math.ceil(ints.length / target);
    ticks = ints.filter((k) => k % every === 0).map((k) => ({ at: k, label: powerOfTen(k) }));
  } else {
    const t = niceTicks(tlo, thi, target);
    const step = t.length > 1 ? t[1]! - t[0]! : Math.abs(thi - tlo) || 1;
    ticks = t.map((v) => ({ at: v, label: log ? String(Number((10 ** v).toPrecision(2))) : formatTick(v, step) }));
  }
  return { stops, transform, lo: tlo, hi: thi, ticks };
}

