/**
 * The side panel's cell view: the hovered (or clicked, then kept) cell's top-k for each trajectory of
 * its panel, as buttons — ECharts tooltips follow the mouse and cannot be clicked, so pinning happens
 * here.
 */
import type { TrajectoryResponse } from '../protocol.js';
import { cellTopTokens, longTokenLabel, type ViewPanel } from '../view-model.js';
import { changeList } from './change-list.js';

export interface CellView {
  resp: TrajectoryResponse;
  panel: ViewPanel;
  row: number;
  pos: number;
  /** Clicked (kept until another click) rather than merely hovered. */
  locked: boolean;
  pinned: ReadonlySet<number>;
  onPin(tokenId: number): void;
}

function pct(p: number): string {
  return `${(p * 100).toFixed(2)}%`;
}

export function renderCellView(info: HTMLElement, lists: HTMLElement, v: CellView): void {
  const g0 = v.resp.grids[v.panel.grids[0]!]!;
  // Row 0 decodes the embeddings, before any block: "input", as on the axes.
  const layer = v.row === g0.rows - 1 ? 'output' : v.row === 0 ? 'input (embeddings)' : `layer ${g0.rowLabels[v.row]}`;
  const input = longTokenLabel(v.resp.pieces, g0.inputIds[v.pos]!);
  const next = g0.targets[v.pos]! >= 0 ? longTokenLabel(v.resp.pieces, g0.targets[v.pos]!) : null;
  info.replaceChildren();
  const b = document.createElement('b');
  b.textContent = `${layer} · #${v.pos} ${input}`;
  info.append(b, document.createElement('br'));
  info.append(
    `${v.locked ? 'Kept (click another cell to change).' : 'Hovered (click the cell to keep it).'}` + (next !== null ? ` Next token: ${next}.` : ''),
  );

  lists.replaceChildren();
  const changes = v.panel.key === 'distance' ? changeList(v.resp, v.row, v.pos, v.pinned, v.onPin) : null;
  if (changes) lists.append(changes);
  for (const gi of v.panel.grids) {
    const grid = v.resp.grids[gi]!;
    const box = document.createElement('div');
    box.className = 'top-list';
    box.dataset.grid = String(gi);
    const h = document.createElement('h3');
    const tokens = cellTopTokens(v.resp, gi, v.row, v.pos);
    h.textContent = `${grid.label}: top-${tokens.length} — click a token to pin it`;
    const ol = document.createElement('ol');
    // The token that actually comes next, marked in the list, or named with its rank and probability below it.
    const nextId = v.pos < grid.positions ? grid.targets[v.pos]! : -1;
    const cell = v.row * grid.positions + v.pos;
    for (const t of tokens) {
      const li = document.createElement('li');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.dataset.tokenId = String(t.id);
      if (v.pinned.has(t.id)) btn.classList.add('pinned');
      btn.title = v.pinned.has(t.id) ? 'Already pinned' : `Pin ${t.label}: its probability and rank across layers`;
      const tok = document.createElement('span');
      tok.className = 'tok';
      tok.textContent = t.label;
      const p = document.createElement('span');
      p.className = 'p';
      p.textContent = pct(t.prob);
      btn.append(tok, p);
      if (t.id === nextId) {
        btn.classList.add('next');
        btn.title += ' (the actual next token)';
        const mark = document.createElement('span');
        mark.className = 'next-mark';
        mark.textContent = '← next';
        btn.append(mark);
      }
      btn.addEventListener('click', () => v.onPin(t.id));
      li.append(btn);
      ol.append(li);
    }
    if (tokens.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'This prompt is shorter: no token at this position.';
      ol.append(li);
    }
    box.append(h, ol);
    if (nextId >= 0 && !tokens.some((t) => t.id === nextId)) {
      const rank = grid.rank[cell];
      const ce = grid.crossEntropy[cell];
      const outside = document.createElement('div');
      outside.className = 'next-outside';
      outside.textContent = `Next token ${longTokenLabel(v.resp.pieces, nextId)}: rank ${rank ?? '—'}, ${ce === null || ce === undefined ? '—' : pct(Math.exp(-ce))}`;
      box.append(outside);
    }
    lists.append(box);
  }
}
