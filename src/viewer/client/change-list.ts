/**
 * The side panel's list for a difference cell: the tokens whose probability changed most between the
 * two compared grids (over the whole vocabulary, |Δ| largest first), signed, as buttons that pin the
 * token — shown above both grids' own top-k lists.
 */
import type { TrajectoryResponse } from '../protocol.js';
import { cellChanges, formatChange } from '../view-model.js';

export function changeList(resp: TrajectoryResponse, row: number, pos: number, pinned: ReadonlySet<number>, onPin: (id: number) => void): HTMLElement | null {
  const d = resp.distance;
  const changes = cellChanges(resp, row, pos);
  if (!d || changes.length === 0) return null;
  const [self, other] = [resp.grids[d.self]!.label, resp.grids[d.other]!.label];
  const box = document.createElement('div');
  box.className = 'top-list changes';
  const h = document.createElement('h3');
  h.textContent = `Largest changes, P(${self}) − P(${other}) — click a token to pin it`;
  const ol = document.createElement('ol');
  for (const c of changes) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.dataset.tokenId = String(c.id);
    if (pinned.has(c.id)) btn.classList.add('pinned');
    btn.title = `Pin ${c.label}: its probability and rank across layers, in both`;
    const tok = document.createElement('span');
    tok.className = 'tok';
    tok.textContent = c.label;
    const v = document.createElement('span');
    v.className = `p delta ${c.change >= 0 ? 'up' : 'down'}`;
    v.textContent = formatChange(c.change);
    btn.append(tok, v);
    btn.addEventListener('click', () => onPin(c.id));
    li.append(btn);
    ol.append(li);
  }
  box.append(h, ol);
  return box;
}
