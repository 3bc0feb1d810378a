/**
 * The causal basis panel's piece of the viewer page (shown only when the server was started with
 * `--bases DIR`): its markup and styles. The script is client/causal-panel.ts.
 */

export const CAUSAL_CSS = `
#causal { margin: 0 16px 16px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
#causal h2 { font-size: 15px; margin: 2px 0 8px; }
#causal .explain { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
#causal table { border-collapse: collapse; font-size: 13px; }
#causal th, #causal td { text-align: left; padding: 2px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
#causal td.num { text-align: right; font-variant-numeric: tabular-nums; }
#causal .toks { font: 12px 'DejaVu Sans Mono', Menlo, Consolas, monospace; white-space: pre; }
#causal-directions tbody tr { cursor: pointer; }
#causal-directions tbody tr:hover { background: #eef4fb; }
#causal-directions tbody tr.chosen { background: #e3eefa; }
#causal-directions button { padding: 1px 8px; font-size: 12px; }
#causal-result { margin-top: 10px; display: grid; gap: 10px; }
#causal-result .panels { display: grid; gap: 12px; }
#causal-result .lists { display: flex; flex-wrap: wrap; gap: 24px; align-items: start; }
`;

export const CAUSAL_SECTION = `<section id="causal" hidden aria-label="Causal basis">
  <h2>Causal basis <span class="muted" id="causal-source"></span></h2>
  <p class="explain">Directions of the residual stream that the lens depends on most (causal basis extraction): energy = mean KL of
  the lens when the direction is mean-ablated, in nats. Choose one to mean-ablate it inside the model at that layer's hidden state
  and recompute this prompt.</p>
  <div class="row"><label>Layer <select id="causal-layer"></select></label></div>
  <table id="causal-directions"><thead><tr><th></th><th>#</th><th>energy (nats)</th><th>+v reads as</th><th>−v reads as</th></tr></thead><tbody></tbody></table>
  <div id="causal-result" aria-live="polite"></div>
</section>`;
