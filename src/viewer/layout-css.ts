/**
 * The viewer page's layout rules for long prompts and small windows (included by page.ts after its
 * base rules): the token-range brush and message, a side panel that fills the window beside the
 * heatmaps with a resizable pin chart, and, in narrow windows, a drawer at the bottom of the window
 * that stays in view while the heatmaps are hovered.
 */
export const LAYOUT_CSS = `
.heatmap-holder { position: relative; }
.range-brush { position: absolute; cursor: col-resize; z-index: 4; touch-action: none; }
.range-brush:hover { background: rgba(33, 102, 172, .07); }
.range-brush-selection { position: absolute; background: rgba(33, 102, 172, .16); border: 1px solid var(--accent); pointer-events: none; z-index: 4; }
/* On its own line under the fields (after the Show button), so the controls do not jump sideways. */
.field-message { order: 1; flex-basis: 100%; font-size: 13px; color: var(--muted); margin-top: -4px; }
.field-message.bad { color: var(--bad); }
input[aria-invalid="true"] { border-color: var(--bad); outline: 1px solid var(--bad); }

main { grid-template-columns: minmax(0, 1fr) var(--side-width, 340px); }
aside#side { position: sticky; top: 0; height: 100vh; max-height: none; min-height: 0; overflow: hidden; display: flex; flex-direction: column; padding: 0; }
#side-bar { display: none; }
#cell-section { flex: 1 1 auto; min-height: 90px; overflow-y: auto; padding: 12px 14px 6px; }
#pin-split { flex: 0 0 9px; cursor: row-resize; border-top: 1px solid var(--line); background: linear-gradient(var(--line), var(--line)) center / 36px 3px no-repeat; touch-action: none; }
#pin-split:hover, #pin-split:focus-visible, #side-resize:hover, #side-resize:focus-visible { background-color: #e3eefa; outline: none; }
#pin-section { flex: 0 0 auto; padding: 0 14px 10px; }
/* Compact top-k rows: the list and the pin chart share the window's height. */
#cell-section .top-list li button { padding-top: 0; padding-bottom: 0; line-height: 1.4; }
#pin-section h2 { margin-top: 4px; }
#pin-chart { height: var(--pin-chart-height, 300px); }
#pin-chart .pin-chart-empty { color: var(--muted); font-size: 13px; padding: 16px 4px; }
#pin-key { font-size: 12px; color: var(--muted); margin-top: 4px; }
#side-resize { position: absolute; left: -4px; top: 0; bottom: 0; width: 8px; cursor: col-resize; z-index: 6; touch-action: none; }

@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); padding-bottom: var(--drawer-height, 42vh); }
  aside#side { position: fixed; left: 0; right: 0; bottom: 0; top: auto; height: var(--drawer-height, 42vh) !important; border-left: none; border-top: 1px solid var(--field);
    box-shadow: 0 -4px 14px rgba(0, 0, 0, .14); background: #fff; z-index: 30; flex-direction: row; flex-wrap: wrap; align-content: flex-start; }
  #side-bar { display: flex; flex: 1 0 100%; justify-content: space-between; align-items: center; padding: 3px 14px; background: var(--bg); border-bottom: 1px solid var(--line); font-size: 13px; color: var(--muted); height: 30px; }
  #cell-section, #pin-section { flex: 1 1 50%; min-width: 0; height: calc(100% - 30px); overflow-y: auto; padding-top: 8px; }
  #pin-section { border-left: 1px solid var(--line); }
  #pin-chart { height: calc(var(--drawer-height, 42vh) - 110px); min-height: 160px; }
  #pin-split, #side-resize { display: none; }
  aside#side.collapsed { height: 30px !important; }
  aside#side.collapsed > :not(#side-bar) { display: none; }
  main.drawer-collapsed { padding-bottom: 30px; }
}
@media (max-width: 560px) {
  aside#side { overflow-y: auto; }
  #cell-section, #pin-section { flex-basis: 100%; height: auto; border-left: none; }
}
`;
