/** The heatmap's hover box: layer, input token, the value and the top-k table, as plain HTML (no functions). */
import type { HeatmapData, HoverEntry } from './heatmap-data.js';
import { escapeHtml } from './text-fit.js';


/** Statistic value for the tooltip: integers as is (ranks), otherwise 4 significant digits. */
function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

function formatProb(p: number, kind: 'probability' | 'delta'): string {
  const pct = (p * 100).toFixed(2) + '%';
  return kind === 'delta' ? `Δ${p > 0 ? '+' : ''}${pct}` : pct;
}

export function tooltipHtml(
  data: HeatmapData,
  row: number,
  col: number,
  value: number | null,
  hover: HoverEntry | undefined,
  mono: string,
): string {
  const rowLabel = data.rowLabels[row]!;
  const layer = /^\d+$/.test(rowLabel) ? `layer ${rowLabel}` : rowLabel;
  const units = data.units ? ` ${data.units}` : '';
  const valueText = value === null || !Number.isFinite(value) ? '—' : formatValue(value) + units;
  // Input tokens are shown with a position so repeated tokens ("the" … "the") can be told apart.
  const parts = [
    `<div style="font-family:${escapeHtml(mono)};font-size:12px;line-height:1.4">`,
    `<div style="font-weight:bold;white-space:pre">${escapeHtml(layer)} · #${col} ${escapeHtml(data.columnLabels[col]!)}</div>`,
    `<div style="white-space:pre">${escapeHtml(data.statisticName)}: ${escapeHtml(valueText)}</div>`,
  ];
  if (hover && hover.tokens.length > 0) {
    const kind = data.hoverValueKind ?? 'probability';
    parts.push('<table style="border-collapse:collapse;margin-top:4px">');
    hover.tokens.forEach((tok, i) => {
      parts.push(
        `<tr><td style="white-space:pre;padding:0 14px 0 0">${escapeHtml(tok)}</td>` +
          `<td style="text-align:right;padding:0">${escapeHtml(formatProb(hover.probs[i]!, kind))}</td></tr>`,
      );
    });
    parts.push('</table>');
  }
  parts.push('</div>');
  return parts.join('');
}

