/**
 * The numbers of the view on screen as files: the statistics grid of every panel, the top-k tokens of
 * every shown cell (and, for a difference panel, the tokens that changed most), and the pinned tokens'
 * probabilities and ranks — as one JSON document or as CSV tables (long format, one line per cell or
 * token), each with its provenance: model, lenses, prompts and every view setting, plus the link that
 * reopens the view.
 *
 * Core code (the page builds the files; tests check them): no `node:*` imports.
 */
import type { PinResponse, TrajectoryRequest, TrajectoryResponse, ViewSettings } from './protocol.js';
import { cellChanges, cellTopTokens, longTokenLabel, type ViewPanel } from './view-model.js';

export const DATA_EXPORT_SCHEMA = 'tuned-lens-viewer-data/1';

export interface DataExportSource {
  req: TrajectoryRequest;
  resp: TrajectoryResponse;
  view: ViewSettings;
  /** Other page settings worth recording (target, anti-target, measure …). */
  settings: Record<string, unknown>;
  panels: readonly ViewPanel[];
  /** Pins with their data (pins still loading are left out). */
  pins: readonly PinResponse[];
  /** The link that reopens this view. */
  link: string;
  /** 'server' (tuned-lens serve) or 'web' (the static build). */
  build: string;
  /** The tuned-lens version that computed the numbers (/api/config), null where unknown. */
  version: string | null;
  exportedAt: string;
}

export interface Provenance {
  schema: string;
  tool: string;
  /** The tuned-lens version that computed the numbers; null where the build does not know it. */
  version: string | null;
  build: string;
  exportedAt: string;
  link: string;
  /** sha256: of the model's files (null where not computed, as in the browser build). */
  model: { name: string; vocabSize: number; nLayers: number; sha256: string | null };
  lensMode: string;
  /** The grids' lenses, e.g. ["logit lens", "tuned lens (reference-lens/lens)"]. */
  lenses: string[];
  tunedLens: string | null;
  /** sha256 of the tuned lens's files (null: no tuned lens, or not computed). */
  tunedLensSha256: string | null;
  prompt: string;
  prompt2: string | null;
  topK: number;
  view: ViewSettings;
  settings: Record<string, unknown>;
}

interface CellRef {
  /** Trajectory row (0 = the embeddings, "input"; the last = the model output). */
  row: number;
  layer: string;
  position: number;
  inputToken: string;
}

export interface PanelExport {
  title: string;
  statistic: string;
  units: string;
  /** Trajectory rows shown, bottom to top, and their labels. */
  rows: number[];
  rowLabels: string[];
  positions: number[];
  inputTokens: string[];
  /** `values[i][j]`: row `rows[i]`, position `positions[j]`, as drawn (null = no value). */
  values: (number | null)[][];
  /** Per grid of the panel, the top-k of every shown cell, `[i][j]` like values. */
  topK: { grid: string; cells: { id: number; token: string; prob: number }[][][] }[];
  /** Difference panels: the tokens whose probability changed most, `[i][j]`, change = p_self − p_other. */
  changes?: { between: string; cells: { id: number; token: string; change: number }[][][] };
}

export interface DataExport {
  provenance: Provenance;
  panels: PanelExport[];
  pins: { tokenId: number; token: string; series: { label: string; rowLabels: string[]; positions: number; prob: (number | null)[][]; rank: (number | null)[][] }[] }[];
}

/**
 * A drawn value as exported: 7 significant digits, float32's precision (the figure holds float32 copies
 * of the server's numbers; this gives those numbers back, not float32 noise); null where undefined.
 */
function number(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(7));
}

function provenanceOf(s: DataExportSource): Provenance {
  return {
    schema: DATA_EXPORT_SCHEMA,
    tool: 'tuned-lens viewer',
    version: s.version,
    build: s.build,
    exportedAt: s.exportedAt,
    link: s.link,
    model: { name: s.resp.model.name, vocabSize: s.resp.model.vocabSize, nLayers: s.resp.model.nLayers, sha256: s.resp.model.sha256 ?? null },
    lensMode: s.resp.lens,
    lenses: s.resp.grids.map((g) => g.label),
    tunedLens: s.resp.tunedLensName,
    tunedLensSha256: s.resp.tunedLensSha256 ?? null,
    prompt: s.req.prompt,
    prompt2: s.req.prompt2 ?? null,
    topK: s.resp.grids[0]!.topK,
    view: s.view,
    settings: s.settings,
  };
}

function rowName(resp: TrajectoryResponse, row: number): string {
  const labels = resp.grids[0]!.rowLabels;
  return row === 0 && labels.length > 1 ? 'input' : labels[row]!;
}

function cellRefs(resp: TrajectoryResponse, panel: ViewPanel): CellRef[][] {
  const g = resp.grids[panel.grids[0]!]!;
  return panel.rows.map((row) => panel.cols.map((position) => ({ row, layer: rowName(resp, row), position, inputToken: longTokenLabel(resp.pieces, g.inputIds[position]!) })));
}

export function buildDataExport(s: DataExportSource): DataExport {
  const { resp } = s;
  const panels = s.panels.map((p): PanelExport => {
    const out: PanelExport = {
      title: p.title,
      statistic: p.data.statisticName,
      units: p.data.units,
      rows: [...p.rows],
      rowLabels: p.rows.map((r) => rowName(resp, r)),
      positions: [...p.cols],
      inputTokens: cellRefs(resp, p)[0]!.map((c) => c.inputToken),
      values: p.data.values.map((row) => row.map(number)),
      topK: p.grids.map((gi) => ({
        grid: resp.grids[gi]!.label,
        cells: p.rows.map((r) => p.cols.map((t) => cellTopTokens(resp, gi, r, t).map((x) => ({ id: x.id, token: x.label, prob: x.prob })))),
      })),
    };
    if (p.key === 'distance' && resp.distance) {
      const [a, b] = [resp.grids[resp.distance.self]!.label, resp.grids[resp.distance.other]!.label];
      out.changes = { between: `P(${a}) − P(${b})`, cells: p.rows.map((r) => p.cols.map((t) => cellChanges(resp, r, t).map((x) => ({ id: x.id, token: x.label, change: x.change })))) };
    }
    return out;
  });
  const pins = s.pins.map((pin) => ({
    tokenId: pin.tokenId,
    token: longTokenLabel({ [pin.tokenId]: pin.piece }, pin.tokenId),
    series: pin.series.map((x) => {
      const grid = (a: (number | null)[]): (number | null)[][] => Array.from({ length: x.rows }, (_, r) => a.slice(r * x.positions, (r + 1) * x.positions));
      return { label: x.label, rowLabels: Array.from({ length: x.rows }, (_, r) => rowName(resp, r)), positions: x.positions, prob: grid(x.prob), rank: grid(x.rank) };
    }),
  }));
  return { provenance: provenanceOf(s), panels, pins };
}

/** One CSV field: quoted when it holds a comma, quote, newline or leading/trailing space. */
function field(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(prov: Provenance, header: string[], lines: unknown[][]): string {
  // Provenance as leading "# key: value" comment lines (pandas: read_csv(..., comment='#')).
  const meta = [
    `# ${prov.schema} · ${prov.tool} ${prov.version ?? '(version unknown)'} (${prov.build}) · exported ${prov.exportedAt}`,
    `# model: ${prov.model.name} (${prov.model.nLayers} layers, vocabulary ${prov.model.vocabSize}) · sha256: ${prov.model.sha256 ?? 'not computed'}`,
    `# lenses: ${prov.lenses.join(', ')}${prov.tunedLens ? ` · tuned lens: ${prov.tunedLens} (sha256: ${prov.tunedLensSha256 ?? 'not computed'})` : ''} · mode: ${prov.lensMode} · top-k: ${prov.topK}`,
    `# prompt: ${JSON.stringify(prov.prompt)}${prov.prompt2 !== null ? ` · prompt B: ${JSON.stringify(prov.prompt2)}` : ''}`,
    `# view: ${JSON.stringify(prov.view)} · settings: ${JSON.stringify(prov.settings)}`,
    `# link: ${prov.link}`,
  ].map((l) => l.replace(/[\r\n]+/g, ' '));
  return [...meta, header.join(','), ...lines.map((l) => l.map(field).join(','))].join('\n') + '\n';
}

/** The statistics of every panel, one line per shown cell. */
export function statisticsCsv(d: DataExport): string {
  const lines: unknown[][] = [];
  d.panels.forEach((p, pi) => p.rows.forEach((row, i) => p.positions.forEach((pos, j) => lines.push([pi, p.title, p.statistic, p.units, row, p.rowLabels[i], pos, p.inputTokens[j], p.values[i]![j]]))));
  return csv(d.provenance, ['panel', 'panel_title', 'statistic', 'units', 'row', 'layer', 'position', 'input_token', 'value'], lines);
}

/** The top-k tokens of every shown cell per grid, and the largest changes of difference panels. */
export function topKCsv(d: DataExport): string {
  const lines: unknown[][] = [];
  d.panels.forEach((p, pi) => {
    const each = (source: string, cells: { id: number; token: string; value: number }[][][]): void =>
      p.rows.forEach((row, i) => p.positions.forEach((pos, j) => cells[i]![j]!.forEach((x, k) => lines.push([pi, source, row, p.rowLabels[i], pos, p.inputTokens[j], k + 1, x.id, x.token, x.value]))));
    const as = <T>(cells: T[][][], value: (x: T) => number): { id: number; token: string; value: number }[][][] =>
      cells.map((r) => r.map((c) => c.map((x) => ({ ...(x as { id: number; token: string }), value: value(x) }))));
    for (const t of p.topK) each(t.grid, as(t.cells, (x) => x.prob));
    if (p.changes) each(`change ${p.changes.between}`, as(p.changes.cells, (x) => x.change));
  });
  return csv(d.provenance, ['panel', 'source', 'row', 'layer', 'position', 'input_token', 'k', 'token_id', 'token', 'value'], lines);
}

/** Every pinned token's probability and rank in every cell of every grid. */
export function pinsCsv(d: DataExport): string {
  const lines: unknown[][] = [];
  for (const pin of d.pins) {
    for (const s of pin.series) {
      s.prob.forEach((row, r) => row.forEach((p, t) => lines.push([pin.tokenId, pin.token, s.label, r, s.rowLabels[r], t, p, s.rank[r]![t]])));
    }
  }
  return csv(d.provenance, ['token_id', 'token', 'series', 'row', 'layer', 'position', 'prob', 'rank'], lines);
}
