/**
 * The viewer's HTML page: a fixed shell (controls, panels, side panel) that /app.js fills in. Kept
 * in memory rather than on disk so the server's static whitelist is three fixed names, and with no
 * inline script, so the Content-Security-Policy can forbid inline scripts entirely.
 */
import { COLOUR_CONTROLS, DATA_TOOLS, INSIGHT_CSS, THEME_TOGGLE } from './page-insight.js';

import { CAUSAL_CSS, CAUSAL_SECTION } from './causal-page.js';
import { LAYOUT_CSS } from './layout-css.js';

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // ECharts positions its tooltip and chart layers with inline style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CSS = `
:root { --fg:#1d2733; --muted:#5c6b7a; --line:#d5dbe1; --field:#77828f; --accent:#2166ac; --bad:#b2182b; --bg:#f6f8fa; font-family: 'DejaVu Sans', Verdana, 'Helvetica Neue', Arial, sans-serif; color: var(--fg); }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; }
header { display: flex; align-items: baseline; gap: 16px; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--bg); }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .hint { color: var(--muted); font-size: 13px; }
form#controls { padding: 10px 16px; border-bottom: 1px solid var(--line); display: grid; gap: 8px; }
.prompts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.prompts label { display: grid; gap: 3px; font-size: 13px; color: var(--muted); }
textarea { font: 14px/1.4 'DejaVu Sans Mono', Menlo, Consolas, monospace; padding: 6px 8px; border: 1px solid var(--field); border-radius: 4px; resize: vertical; color: var(--fg); }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; }
.row label { display: grid; gap: 3px; font-size: 13px; color: var(--muted); }
select, input[type=number] { font-size: 14px; padding: 4px 6px; border: 1px solid var(--field); border-radius: 4px; color: var(--fg); background: #fff; }
input[type=number] { width: 5.5em; }
button { font-size: 14px; padding: 5px 12px; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); padding: 2px 8px; font-size: 12px; }
button:disabled { opacity: .5; cursor: default; }
[hidden] { display: none !important; }
#progress { display: flex; align-items: center; gap: 10px; padding: 6px 16px; font-size: 13px; color: var(--muted); border-bottom: 1px solid var(--line); }
#progress .bar { width: 180px; height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; }
#progress .fill { height: 100%; width: 0; background: var(--accent); transition: width .2s; }
#progress.indeterminate .fill { width: 30% !important; animation: slide 1.1s ease-in-out infinite; }
@keyframes slide { from { margin-left: -30%; } to { margin-left: 100%; } }
#notice { margin: 10px 16px 0; padding: 6px 12px; border: 1px solid #8c6d1f; border-left-width: 4px; color: #5c4813; background: #fdf8e8; font-size: 14px; }
input[type=text] { font-size: 14px; padding: 4px 6px; border: 1px solid var(--field); border-radius: 4px; color: var(--fg); min-width: 14em; }
#error { margin: 10px 16px 0; padding: 8px 12px; border: 1px solid var(--bad); border-left-width: 4px; color: var(--bad); background: #fdf3f3; white-space: pre-wrap; font-size: 14px; }
main { display: grid; gap: 0; align-items: start; }
#panels { padding: 12px 16px; display: grid; gap: 18px; min-width: 0; }
#panels .empty { color: var(--muted); font-size: 14px; padding: 30px 0; }
.panel { border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.panel-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; padding: 5px 10px; background: var(--bg); border-bottom: 1px solid var(--line); font-size: 13px; }
.panel-head .exports { display: flex; gap: 6px; align-items: center; color: var(--muted); }
.panel-body { overflow-x: auto; }
aside#side { border-left: 1px solid var(--line); }
aside h2 { font-size: 14px; margin: 14px 0 6px; }
#cell-info { font-size: 13px; color: var(--muted); }
#cell-info b { color: var(--fg); }
.top-list { margin: 8px 0; }
.top-list h3 { font-size: 12px; margin: 0 0 4px; color: var(--muted); font-weight: normal; }
.top-list ol { list-style: none; margin: 0; padding: 0; }
.top-list li button { width: 100%; display: flex; justify-content: space-between; gap: 8px; background: #fff; color: var(--fg); border: 1px solid transparent; border-radius: 3px; padding: 2px 6px; font: 13px 'DejaVu Sans Mono', Menlo, Consolas, monospace; text-align: left; }
.top-list li button:hover { border-color: var(--accent); background: #eef4fb; }
.top-list li button.pinned { background: #e3eefa; }
.top-list .tok { white-space: pre; overflow: hidden; text-overflow: ellipsis; }
.top-list .p { color: var(--muted); margin-left: auto; }
.top-list li button.next { border-color: #1b7837; }
.top-list .next-mark { color: #1b7837; font-size: 11px; white-space: nowrap; }
.top-list .next-outside { font-size: 12px; color: #1b7837; padding: 2px 6px; }
#pins { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; align-items: center; gap: 4px; border-radius: 12px; padding: 2px 4px 2px 10px; font: 12px 'DejaVu Sans Mono', Menlo, Consolas, monospace; color: #fff; }
.chip button { background: transparent; border: none; color: inherit; padding: 0 4px; font-size: 14px; line-height: 1; }
#pin-chart { width: 100%; margin-top: 6px; }
.muted { color: var(--muted); font-size: 13px; }
@media (max-width: 900px) { .prompts { grid-template-columns: 1fr; } }
`;

/**
 * The static web build's policy, as a meta tag (a static host may not let us set headers): WebAssembly
 * compilation for onnxruntime-web, its worker, and fetches to any model host (the Hub, a URL you type).
 */
export const WEB_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  'connect-src *',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const WEB_CSS = `
#web-sources { padding: 8px 16px; border-bottom: 1px solid var(--line); display: grid; gap: 6px; font-size: 13px; background: #fbfcfd; }
#web-sources.drop { outline: 2px dashed var(--accent); outline-offset: -4px; }
#web-sources .row input[type=text] { font-size: 13px; padding: 4px 6px; border: 1px solid #8a96a3; border-radius: 4px; min-width: 16em; }
#web-sources .status { display: flex; flex-wrap: wrap; gap: 14px; color: var(--muted); }
`;

const WEB_SOURCES = `<section id="web-sources" hidden aria-label="Models and lenses">
  <div class="row">
    <label>Hugging Face model id <input id="web-hub-id" type="text" placeholder="org/name or org/name@revision"></label>
    <button id="web-hub-load" type="button" class="secondary">Load from the Hub</button>
    <label>or model URL <input id="web-url" type="text" placeholder="https://…/model-folder/ or …/model.bin"></label>
    <label>lens URL (optional) <input id="web-lens-url" type="text" placeholder="https://…/lens-folder/"></label>
    <button id="web-url-load" type="button" class="secondary">Load URL</button>
    <label>or a model folder <input id="web-folder" type="file" webkitdirectory multiple></label>
    <label>lens folder <input id="web-lens-folder" type="file" webkitdirectory multiple></label>
  </div>
  <div class="status"><span id="web-backend" aria-live="polite">Compute: starting…</span><span id="web-memory" aria-live="polite"></span><span id="web-cache"></span><button id="web-cache-clear" type="button" class="secondary">Clear downloads</button><span id="web-lens-picked"></span><span>Drop a model folder here to load it.</span></div>
</section>`;

/** The page. Controls start empty; the script fills the menus from /api/config (or, in the static web
 * build, from its compute worker) and the state from the URL. */
export function viewerPageHtml(options: { build?: 'server' | 'web' } = {}): string {
  const web = options.build === 'web';
  // The server serves its three files at fixed absolute paths; the static site may live in any folder.
  const prefix = web ? '' : '/';
  return `<!DOCTYPE html>
<html lang="en"${web ? ' data-build="web"' : ''}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${web ? `<meta http-equiv="Content-Security-Policy" content="${WEB_PAGE_CSP}">
` : ''}<link rel="icon" href="data:,">
<title>tuned-lens viewer</title>
<style>${CSS}${LAYOUT_CSS}${INSIGHT_CSS}${web ? WEB_CSS : CAUSAL_CSS}</style>
</head>
<body>
<header><h1>tuned-lens viewer</h1><span class="hint">what every layer predicts — hover a cell for its top-10, click it to keep it, click a token to pin it; or Tab to a heatmap and use the arrow keys</span>${THEME_TOGGLE}</header>
<form id="controls" autocomplete="off">
  <div class="prompts">
    <label>Prompt <textarea id="prompt" rows="2" placeholder="Once upon a time, there was a little girl named Lily."></textarea></label>
    <label>Second prompt (optional: compared with the first, position by position) <textarea id="prompt2" rows="2"></textarea></label>
  </div>
  <div class="row">
    <label>Model <select id="model"></select></label>
    <label>Lens <select id="lens">
      <option value="logit">logit lens</option>
      <option value="tuned">tuned lens</option>
      <option value="compare">logit and tuned, side by side</option>
      <option value="diff">difference: tuned vs logit</option>
    </select></label>
    <label id="tuned-lens-label">Tuned lens <select id="tuned-lens"></select></label>
    <label id="grid-mode-label">Grid <select id="grid-mode"></select></label>
    <label id="statistic-label">Statistic <select id="statistic"></select></label>
    <label id="distance-label">Distance <select id="distance"></select></label>
    <label>Top-k <select id="top-k"></select></label>
    <label>Layer stride <input id="stride" type="number" min="1" step="1" value="1"></label>
    <label>Tokens from <input id="from" type="number" min="0" step="1" value="0"></label>
    <label>to (excl.) <input id="to" type="number" min="1" step="1" placeholder="end"></label>
    <span id="range-message" class="field-message" role="status" aria-live="polite" hidden></span>
    <button id="run" type="submit">Show</button>
  </div>
  <div class="row" id="target-row">
    <label>Colour by target token(s) <input id="target" type="text" placeholder="_Lily | _Tim | #42" title="One token, or several separated by | (their probabilities are summed). Write a leading space as _ (as the grid shows it) or give an id as #123."></label>
    <label id="target-measure-label">as <select id="target-measure"></select></label>
    <label id="anti-target-label">anti-target <input id="anti-target" type="text" placeholder="_Tim"></label>
    ${COLOUR_CONTROLS}
    ${DATA_TOOLS}
  </div>
</form>
${web ? WEB_SOURCES : ''}
<div id="progress" role="status" aria-live="polite" hidden><div class="bar"><div class="fill"></div></div><span class="text"></span></div>
<div id="error" role="alert" hidden></div>
<div id="notice" role="status" aria-live="polite" hidden></div>
<main id="main">
  <section id="panels"><div class="empty">Type a prompt and press Show (or Ctrl+Enter).</div></section>
  <aside id="side" aria-label="Cell details and pinned tokens">
    <div id="side-resize" role="separator" aria-orientation="vertical" aria-label="Side panel width (drag, or arrow keys)" tabindex="0"></div>
    <div id="side-bar"><span>Cell details and pins</span><button id="side-toggle" type="button" class="secondary" aria-expanded="true" aria-controls="side">Hide</button></div>
    <div id="cell-section">
      <div id="cell-info" aria-live="polite">Hover a cell to see its top-10 here; click the cell to keep it, then click a token to pin it.</div>
      <div id="top-lists"></div>
    </div>
    <div id="pin-split" role="separator" aria-orientation="horizontal" aria-label="Pin chart height (drag, or arrow keys)" tabindex="0"></div>
    <section id="pin-section">
      <h2>Pinned tokens</h2>
      <div id="pins"><span class="muted">None yet.</span></div>
      <div id="pin-key" hidden></div>
      <div id="pin-chart" hidden></div>
    </section>
  </aside>
</main>
${web ? '' : CAUSAL_SECTION}
<script src="${prefix}echarts.min.js"></script>
<script src="${prefix}app.js"></script>
</body>
</html>
`;
}
