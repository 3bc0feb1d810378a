/**
 * The page's styles and markup for dark mode, the colour controls, the data tools (JSON/CSV export,
 * copy link), keyboard focus and side-by-side panels. Kept apart from page.ts's layout so the parts
 * stay readable; page.ts splices them in.
 *
 * Dark mode is `html[data-theme="dark"]`, set by client/theme.ts from `prefers-color-scheme` or the
 * toggle. Contrast (WCAG): text ≥ 4.5:1 and field borders ≥ 3:1 against their backgrounds in both themes.
 */

export const INSIGHT_CSS = `
:root[data-theme=dark] { color-scheme: dark; --fg:#e6edf3; --muted:#a3afbc; --line:#3a4450; --field:#8b96a3; --accent:#7ab0ff; --bad:#ff8f8f; --bg:#1b2129; }
:root[data-theme=dark] body { background: #11161c; }
:root[data-theme=dark] select, :root[data-theme=dark] input, :root[data-theme=dark] textarea { background: #1b2129; color: var(--fg); }
:root[data-theme=dark] button { color: #0b1520; }
:root[data-theme=dark] button.secondary, :root[data-theme=dark] .top-list li button { background: #1b2129; color: var(--accent); }
:root[data-theme=dark] .top-list li button { color: var(--fg); }
:root[data-theme=dark] .top-list li button:hover { background: #24303d; }
:root[data-theme=dark] .top-list li button.pinned { background: #22344a; }
:root[data-theme=dark] #notice { background: #2a2410; color: #f0d98c; border-color: #c9a23a; }
:root[data-theme=dark] #error { background: #2c1618; }
:root[data-theme=dark] .top-list li button.next, :root[data-theme=dark] .top-list .next-mark, :root[data-theme=dark] .top-list .next-outside { border-color: #5cc98a; color: #7ddc9f; }
:root[data-theme=dark] .panel { background: #161c23; }
:root[data-theme=dark] #pin-chart svg text { fill: var(--fg) !important; }
:root[data-theme=dark] #pin-chart svg path[stroke="#E0E6F1"] { stroke: #3a4450; }
:root[data-theme=dark] #web-sources { background: #161c23; }
#theme-toggle { margin-left: auto; }
#colour-controls { display: contents; }
#colour-controls label.log { display: flex; align-items: center; gap: 4px; }
#data-tools { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-left: auto; font-size: 13px; color: var(--muted); }
#data-tools input { min-width: 24em; }
#panels.side-by-side { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.panel-body[tabindex]:focus { outline: none; }
.panel-body[tabindex]:focus-visible .focus-ring { display: block; }
.focus-ring { position: absolute; display: none; pointer-events: none; z-index: 6; border: 3px solid var(--accent); box-shadow: 0 0 0 1px #fff, inset 0 0 0 1px #fff; border-radius: 2px; }
.match-outline { position: absolute; pointer-events: none; z-index: 4; border: 2px dashed #111; box-shadow: 0 0 0 1px #fff; }
.top-list .delta { font: 12px 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
.top-list .delta.up { color: #1b6e3a; }
.top-list .delta.down { color: #b2182b; }
:root[data-theme=dark] .top-list .delta.up { color: #7ddc9f; }
:root[data-theme=dark] .top-list .delta.down { color: #ff9b9b; }
`;

/** The header's theme switch (client/theme.ts labels it with the theme it switches to). */
export const THEME_TOGGLE = '<button id="theme-toggle" type="button" class="secondary" aria-pressed="false">Dark mode</button>';

/** Filled by client/colour-controls.ts with a scale menu and a log switch per statistic on screen. */
export const COLOUR_CONTROLS = '<span id="colour-controls"></span>';

/** Export of the numbers on screen, and the link to this view (client/export.ts). */
export const DATA_TOOLS = `<div id="data-tools" hidden>
  <span>Data:</span>
  <button type="button" class="secondary" data-data-export="json" aria-label="Download the statistics, top-k and pins of this view as JSON">JSON</button>
  <button type="button" class="secondary" data-data-export="stats-csv" aria-label="Download the statistics of this view as CSV">Statistics CSV</button>
  <button type="button" class="secondary" data-data-export="topk-csv" aria-label="Download the top-k tokens of this view as CSV">Top-k CSV</button>
  <button type="button" class="secondary" data-data-export="pins-csv" aria-label="Download the pinned tokens' probabilities and ranks as CSV">Pins CSV</button>
  <button type="button" class="secondary" id="copy-link">Copy link</button>
  <input id="link-field" type="text" readonly hidden aria-label="Link to this view">
  <span id="data-status" role="status" aria-live="polite"></span>
</div>`;
