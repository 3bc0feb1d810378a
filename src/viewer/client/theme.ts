/**
 * Light and dark mode: follows the system's `prefers-color-scheme` until the user flips the header
 * toggle (remembered in localStorage for this browser — a preference, not part of a shared link).
 * Sets `html[data-theme]`, which the page's CSS keys on (page-insight.ts), and recolours the heatmaps'
 * ECharts options (built light, as the exported figures are) for a dark page.
 */
import type { EChartsOption } from './echarts.js';
import { AXIS_TEXT } from '../../viz/chart-style.js';

export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'tuned-lens-theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null; // storage blocked (e.g. a sandboxed frame): follow the system
  }
}

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

/**
 * Applies the stored or system theme, wires the toggle and calls `onChange` after every switch (the
 * heatmaps are redrawn in the new colours).
 */
export function initTheme(toggle: HTMLButtonElement, onChange: () => void): void {
  const media = typeof matchMedia === 'function' ? matchMedia(DARK_QUERY) : null;
  const apply = (theme: Theme): void => {
    const changed = theme !== currentTheme() || document.documentElement.dataset.theme === undefined;
    document.documentElement.dataset.theme = theme;
    toggle.textContent = theme === 'dark' ? 'Light mode' : 'Dark mode';
    toggle.setAttribute('aria-pressed', String(theme === 'dark'));
    toggle.title = `Switch to ${theme === 'dark' ? 'light' : 'dark'} mode (the default follows your system setting)`;
    if (changed) onChange();
  };
  apply(storedTheme() ?? (media?.matches ? 'dark' : 'light'));
  media?.addEventListener('change', (ev) => {
    if (storedTheme() === null) apply(ev.matches ? 'dark' : 'light');
  });
  toggle.addEventListener('click', () => {
    const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
    try {
      // Back to following the system when the choice equals it.
      if (next === (media?.matches ? 'dark' : 'light')) localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, next);
    } catch {
      /* not remembered, still applied */
    }
    apply(next);
  });
}

const DARK_BG = '#161c23';
const DARK_TEXT = '#d5dde5';
const DARK_LINE = '#9aa4ae';

/**
 * The heatmap option for the current theme. Light: unchanged. Dark: the figure's background, titles,
 * axis labels, colour-bar ticks and outlines in dark-page colours; cells, their labels (chosen for
 * contrast with each cell's fill) and the tooltip keep theirs.
 */
export function themedOption(option: EChartsOption): EChartsOption {
  if (currentTheme() !== 'dark') return option;
  const recolour = (v: unknown, key: string | null): unknown => {
    if (Array.isArray(v)) return v.map((x) => recolour(x, null));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = k === 'series' || k === 'tooltip' || k === 'visualMap' ? x : recolour(x, k);
      return out;
    }
    if (typeof v !== 'string') return v;
    if (key === 'backgroundColor' && v === '#ffffff') return DARK_BG;
    if ((key === 'color' || key === 'fill') && v === AXIS_TEXT) return DARK_TEXT;
    if (key === 'stroke' && v === '#444') return DARK_LINE;
    return v;
  };
  return recolour(option, null) as EChartsOption;
}
