/**
 * Figure 11 of the paper: the input text with every token coloured by its prediction depth (warm = deep,
 * cool = shallow), as a self-contained HTML page or an SVG (rasterised to PNG by render.ts's svgToPng).
 * Core code: plain strings, no Node imports.
 */

export interface TokenDepthFigure {
  title: string;
  /** Display text of each token (spaces and newlines as in the input). */
  tokens: string[];
  /** Depth per token: 0..maxDepth, or null for a token without one. */
  depth: (number | null)[];
  /** The largest possible depth (the number of lens layers: "only the output agrees"). */
  maxDepth: number;
  /** Extra hover text per token (e.g. the final top-1). */
  notes?: string[];
}

/** RdBu reversed (the reference's heatmap scale): blue = shallow, red = deep. */
const STOPS = ['#2166ac', '#67a9cf', '#d1e5f0', '#f7f7f7', '#fddbc7', '#ef8a62', '#b2182b'];

function hexToRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** Colour of a depth (null → light grey), and a readable text colour on it. */
export function depthColor(depth: number | null, maxDepth: number): { fill: string; text: string } {
  if (depth === null) return { fill: '#e0e0e0', text: '#111111' };
  const t = maxDepth > 0 ? Math.min(Math.max(depth / maxDepth, 0), 1) : 0;
  const pos = t * (STOPS.length - 1);
  const i = Math.min(Math.floor(pos), STOPS.length - 2);
  const a = hexToRgb(STOPS[i]!);
  const b = hexToRgb(STOPS[i + 1]!);
  const rgb = a.map((v, k) => Math.round(v + (b[k]! - v) * (pos - i))) as [number, number, number];
  const luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
  return { fill: `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`, text: luminance < 0.5 ? '#ffffff' : '#111111' };
}

const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function legendLabel(d: number, maxDepth: number): string {
  return d === maxDepth ? `${d} (output only)` : String(d);
}

export function renderTokenDepthHtml(fig: TokenDepthFigure): string {
  const spans = fig.tokens.map((tok, i) => {
    const { fill, text } = depthColor(fig.depth[i] ?? null, fig.maxDepth);
    const title = `depth ${fig.depth[i] ?? 'n/a'}${fig.notes?.[i] ? `; ${fig.notes[i]}` : ''}`;
    return `<span style="background:${fill};color:${text}" title="${escapeXml(title)}">${escapeXml(tok)}</span>`;
  });
  const legend = Array.from({ length: fig.maxDepth + 1 }, (_, d) => {
    const { fill, text } = depthColor(d, fig.maxDepth);
    return `<span style="background:${fill};color:${text};padding:2px 8px">${escapeXml(legendLabel(d, fig.maxDepth))}</span>`;
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(fig.title)}</title>`,
    '<style>body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:24px;max-width:960px}',
    '.text{font-family:"DejaVu Sans Mono",Menlo,monospace;font-size:16px;line-height:1.9;white-space:pre-wrap}',
    '.text span{border-radius:3px;padding:1px 0}.legend{margin-top:16px;font-size:13px}</style>',
    '</head><body>',
    `<h3>${escapeXml(fig.title)}</h3>`,
    `<div class="text">${spans.join('')}</div>`,
    `<div class="legend">prediction depth (layer from which the lens's top-1 stays the model's top-1): ${legend.join(' ')}</div>`,
    '</body></html>',
    '',
  ].join('\n');
}

export interface TokenDepthSvgOptions {
  width?: number;
  fontSize?: number;
}

export function renderTokenDepthSvg(fig: TokenDepthFigure, opts: TokenDepthSvgOptions = {}): string {
  const width = opts.width ?? 900;
  const fs = opts.fontSize ?? 16;
  const cw = fs * 0.602; // DejaVu Sans Mono advance width
  const lh = Math.round(fs * 1.9);
  const margin = 24;
  const top = 66;
  const items: string[] = [];
  let x = margin;
  let y = top;
  fig.tokens.forEach((tok, i) => {
    const parts = tok.split('\n');
    parts.forEach((part, k) => {
      if (k > 0) {
        x = margin;
        y += lh;
      }
      if (part === '') return;
      const w = part.length * cw;
      if (x + w > width - margin && x > margin) {
        x = margin;
        y += lh;
      }
      const { fill, text } = depthColor(fig.depth[i] ?? null, fig.maxDepth);
      items.push(
        `<rect x="${x.toFixed(1)}" y="${(y - fs).toFixed(1)}" width="${w.toFixed(1)}" height="${(fs * 1.35).toFixed(1)}" rx="2" fill="${fill}"/>` +
          `<text x="${x.toFixed(1)}" y="${y}" fill="${text}" xml:space="preserve">${escapeXml(part)}</text>`,
      );
      x += w;
    });
  });
  let ly = y + lh * 1.6;
  const legend: string[] = [`<text x="${margin}" y="${ly}" font-family="'DejaVu Sans', Verdana, sans-serif" font-size="13" fill="#2a3f5f">prediction depth:</text>`];
  let lx = margin + 125;
  for (let d = 0; d <= fig.maxDepth; d++) {
    const label = legendLabel(d, fig.maxDepth);
    const w = label.length * 8 + 16;
    const { fill, text } = depthColor(d, fig.maxDepth);
    legend.push(`<rect x="${lx}" y="${ly - 14}" width="${w}" height="20" fill="${fill}"/><text x="${lx + 8}" y="${ly}" font-family="'DejaVu Sans', Verdana, sans-serif" font-size="13" fill="${text}">${escapeXml(label)}</text>`);
    lx += w + 4;
    if (lx > width - margin - 60 && d < fig.maxDepth) {
      lx = margin + 125;
      ly += 26;
    }
  }
  const height = Math.ceil(ly + margin);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin}" y="30" font-family="'DejaVu Sans', Verdana, sans-serif" font-size="17" font-weight="bold" fill="#2a3f5f">${escapeXml(fig.title)}</text>`,
    `<g font-family="'DejaVu Sans Mono', Menlo, monospace" font-size="${fs}">${items.join('')}</g>`,
    legend.join(''),
    '</svg>',
    '',
  ].join('\n');
}
