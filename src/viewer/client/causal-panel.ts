/**
 * The causal basis panel (server started with `--bases DIR`): lists a layer's causal basis directions with
 * their energies and how ±v read through the lens; choosing one asks the server to mean-ablate it inside the
 * model at that hidden state and recompute the current prompt, then shows the ablated trajectory, the
 * distance from the original in every cell, per-layer summaries and the top-1 tokens that changed.
 *
 * main.ts only creates it and calls `update` after each draw.
 */
import type { AblationResponse, BasesResponse, TrajectoryRequest, ViewSettings } from '../protocol.js';
import { ablationPanels, ablationSummary } from '../causal-view.js';
import { longTokenLabel } from '../view-model.js';
import { downloadExport, fetchAblation, fetchBases } from './api.js';
import { HeatmapPanels } from './heatmaps.js';

type Bases = BasesResponse['bases'][number];

export interface CausalPanelHost {
  withProgress<T>(label: string, work: Promise<T>): Promise<T>;
  showError(message: string | null): void;
}

/** How many top-1 changes are listed (the per-layer table counts them all). */
const MAX_CHANGES_LISTED = 30;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(4) : '—';
}

export class CausalPanel {
  private readonly root = byId<HTMLElement>('causal');
  private readonly layerSelect = byId<HTMLSelectElement>('causal-layer');
  private readonly source = byId<HTMLElement>('causal-source');
  private readonly tbody = byId<HTMLTableElement>('causal-directions').tBodies[0]!;
  private readonly result = byId<HTMLElement>('causal-result');
  private bases: BasesResponse['bases'] = [];
  private request: TrajectoryRequest | null = null;
  private view: ViewSettings | null = null;
  private chosen: { key: string; layer: number; direction: number; resp: AblationResponse } | null = null;
  private heatmaps: HeatmapPanels | null = null;
  private generation = 0;

  constructor(private readonly host: CausalPanelHost) {
    this.layerSelect.addEventListener('change', () => this.renderDirections());
  }

  /** Asks the server which bases it has; the panel stays hidden without any. */
  async init(): Promise<void> {
    try {
      this.bases = (await fetchBases()).bases;
    } catch (e) {
      this.host.showError(`Causal basis: ${(e as Error).message}`);
    }
  }

  private current(): Bases | undefined {
    return this.request ? this.bases.find((b) => b.model === this.request!.model) : undefined;
  }

  /** After every draw of the main view: the request on screen and the view settings. */
  update(request: TrajectoryRequest | null, view: ViewSettings): void {
    const modelChanged = this.request?.model !== request?.model;
    this.request = request;
    this.view = view;
    const b = this.current();
    this.root.hidden = !b;
    if (!b) return;
    if (modelChanged || this.layerSelect.options.length === 0) {
      this.source.textContent = `(${b.name}: ${b.lensKind} lens, ${b.mode} ablation)`;
      this.layerSelect.replaceChildren(...b.layers.map((l) => new Option(`${l.layer === 0 ? 'input (0)' : l.layer} — ${l.k} directions`, String(l.layer))));
      this.renderDirections();
    }
    // A new prompt or lens makes the shown ablation stale: recompute it for the same direction.
    if (this.chosen && this.chosen.key !== this.keyOf(this.chosen.layer, this.chosen.direction)) void this.ablate(this.chosen.layer, this.chosen.direction);
    else this.renderResult();
  }

  private keyOf(layer: number, direction: number): string {
    return JSON.stringify([this.request, layer, direction]);
  }

  private renderDirections(): void {
    const b = this.current();
    const layer = b?.layers.find((l) => String(l.layer) === this.layerSelect.value);
    if (!b || !layer) return;
    const tokens = (ids: number[]): string => ids.slice(0, 8).map((id) => longTokenLabel(b.pieces, id)).join('  ');
    this.tbody.replaceChildren(
      ...layer.directions.map((d) => {
        const tr = document.createElement('tr');
        tr.dataset.direction = String(d.index);
        const go = document.createElement('button');
        go.type = 'button';
        go.className = 'secondary';
        go.textContent = 'ablate';
        go.setAttribute('aria-label', `Ablate direction ${d.index} of layer ${layer.layer}`);
        const first = document.createElement('td');
        first.append(go);
        tr.append(first, cell(String(d.index), 'num'), cell(d.energy.toFixed(4), 'num'), cell(tokens(d.plus), 'toks'), cell(tokens(d.minus), 'toks'));
        tr.addEventListener('click', () => void this.ablate(layer.layer, d.index));
        tr.classList.toggle('chosen', this.chosen?.layer === layer.layer && this.chosen.direction === d.index);
        return tr;
      }),
    );
  }

  private async ablate(layer: number, direction: number): Promise<void> {
    if (!this.request) {
      this.host.showError('Show a prompt first, then choose a direction to ablate.');
      return;
    }
    const gen = ++this.generation;
    const key = this.keyOf(layer, direction);
    const req = { ...this.request, layer, direction };
    delete req.prompt2;
    try {
      const resp = await this.host.withProgress(`Ablating direction ${direction} of layer ${layer}`, fetchAblation(req));
      if (gen !== this.generation) return;
      this.host.showError(null);
      this.chosen = { key, layer, direction, resp };
      this.renderDirections();
      this.renderResult();
    } catch (e) {
      if (gen === this.generation) this.host.showError(`Ablation failed: ${(e as Error).message}`);
    }
  }

  private renderResult(): void {
    this.heatmaps?.dispose();
    this.heatmaps = null;
    const c = this.chosen;
    if (!c || !this.view) {
      this.result.replaceChildren();
      delete this.result.dataset.ready;
      return;
    }
    const { resp } = c;
    const summary = ablationSummary(resp);
    const head = document.createElement('p');
    head.className = 'explain';
    head.textContent =
      `Layer ${c.layer}, direction ${c.direction} (energy ${resp.ablation.energy.toFixed(4)} nats) mean-ablated in hidden_states[${c.layer}]; ` +
      `rows below ${c.layer} cannot change, row ${c.layer} is the lens's own reading of the edit, the output row the model's.`;

    const table = document.createElement('table');
    table.className = 'causal-rows';
    table.innerHTML = '<thead><tr><th>row</th><th>mean KL(original‖ablated)</th><th>max KL</th><th>top-1 changed</th></tr></thead>';
    const body = table.createTBody();
    for (const r of summary.rows) {
      const tr = body.insertRow();
      tr.dataset.row = String(r.row);
      tr.append(cell(r.label), cell(fmt(r.meanKl), 'num'), cell(fmt(r.maxKl), 'num'), cell(`${r.changed} of ${resp.grids[0]!.positions}`, 'num'));
    }
    const changes = document.createElement('div');
    const title = document.createElement('b');
    title.textContent = summary.changes.length === 0 ? 'No top-1 token changed.' : `Top-1 tokens that changed (${summary.changes.length}):`;
    const list = document.createElement('ul');
    list.className = 'toks';
    for (const ch of summary.changes.slice(0, MAX_CHANGES_LISTED)) {
      const li = document.createElement('li');
      li.textContent = `${ch.label} · #${ch.pos}: ${ch.before} → ${ch.after}`;
      list.append(li);
    }
    if (summary.changes.length > MAX_CHANGES_LISTED) list.append(Object.assign(document.createElement('li'), { textContent: `… and ${summary.changes.length - MAX_CHANGES_LISTED} more` }));
    changes.append(title, list);
    const lists = document.createElement('div');
    lists.className = 'lists';
    lists.append(table, changes);

    const panelsEl = document.createElement('div');
    panelsEl.className = 'panels';
    this.result.replaceChildren(head, lists, panelsEl);
    const panels = ablationPanels(resp, this.view);
    const view = this.view;
    const req = this.request;
    this.heatmaps = new HeatmapPanels(panelsEl, {
      hover: () => {},
      click: () => {},
      export: (panel, format) => {
        if (!req) return;
        downloadExport({ ...req, view, panel, format }, panels[panel]).catch((e: Error) => this.host.showError(`Export failed: ${e.message}`));
      },
    });
    this.heatmaps.render(panels);
    // For tests and tools: the distance in every cell, [row][position] flat, as the server sent it.
    this.result.dataset.kl = JSON.stringify(resp.distance!.kl);
    this.result.dataset.ready = c.key;
  }
}
